"""A job's log as Server-Sent Events: the file on disk, line by line, as it grows.

The recorder writes only masked output and puts it on disk every 0.2 s, so what is streamed
is exactly what ``bastion runs logs`` would print. Each event carries one line as a JSON
string (``data: "text"``; JSON keeps a carriage return or any control character from
breaking the event framing) and, as its id, the byte offset just past that line: a client
that reconnects with ``Last-Event-ID`` resumes there. A comment is sent every ``heartbeat``
seconds of silence; the stream ends with an ``end`` event once the job has finished and its
file is read to the end. A change to the file is noticed within 10 ms
(:mod:`bastion.server.log_watch`, one poller per file for all its viewers).
:class:`ViewerSlots` bounds how many streams are open, per caller and in all
(``ServerSettings.log_viewers_per_caller`` and ``log_viewers_total``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

from bastion.server.errors import BadRequestError, ThrottledError
from bastion.server.log_watch import LogWatch, LogWatches
from bastion.server.settings import ServerSettings

__all__ = [
    "EVENT_SCHEMA",
    "LogViewers",
    "ViewerSlots",
    "parse_last_event_id",
    "read_from",
    "stream_log",
    "viewers_of",
]

# One event as an OpenAPI document describes it: a line (``message``, JSON text in ``data``,
# the byte offset past it as ``id``) or the ``end`` event carrying the job's final status.
EVENT_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"enum": ["message", "end"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
    },
}
_CHUNK = 64 * 1024
_FINAL = frozenset({"passed", "failed", "blocked", "error", "cancelled", "skipped"})


class ViewerSlots:
    """At most ``per_caller`` open streams per caller and ``total`` in all (429 beyond)."""

    def __init__(self, *, per_caller: int = 4, total: int = 64) -> None:
        self._per_caller, self._total = per_caller, total
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def hold(self, caller: str) -> Iterator[None]:
        """One slot for ``caller`` while the stream is open."""
        with self._lock:
            mine = self._open.get(caller, 0)
            if mine >= self._per_caller or sum(self._open.values()) >= self._total:
                raise ThrottledError("too many live logs open; close one", retry_after=5)
            self._open[caller] = mine + 1
        try:
            yield
        finally:
            with self._lock:
                self._open[caller] -= 1
                if not self._open[caller]:
                    del self._open[caller]


@dataclass(frozen=True)
class LogViewers:
    """An app's live logs: the slots bounding them and the watches of their files."""

    slots: ViewerSlots
    watches: LogWatches

    @classmethod
    def for_settings(cls, settings: ServerSettings) -> LogViewers:
        slots = ViewerSlots(
            per_caller=settings.log_viewers_per_caller, total=settings.log_viewers_total
        )
        return cls(slots, LogWatches())


def viewers_of(request: Request) -> LogViewers:
    """The live logs of the app serving ``request``."""
    viewers: LogViewers = request.app.state.log_viewers
    return viewers


def parse_last_event_id(value: str | None) -> int:
    """The byte offset to resume from (0 without the header); 400 if not a number."""
    if value is None or value == "":
        return 0
    if not value.isdigit() or len(value) > 18:
        raise BadRequestError("Last-Event-ID must be a byte offset this server sent")
    return int(value)


def read_from(path: Path, offset: int) -> bytes:
    """What the file holds from ``offset`` (b'' if it is not there yet); never follows a
    link, reads only a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return b""
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        handle.seek(offset)
        return handle.read(_CHUNK)


def _event(offset: int, line: bytes) -> str:
    text = line.decode("utf-8", errors="replace")
    return f"id: {offset}\ndata: {json.dumps(text)}\n\n"


async def stream_log(
    path: Path,
    offset: int,
    job_state: Callable[[], str | None],
    *,
    poll: float = 0.25,
    heartbeat: float = 15.0,
    watches: LogWatches | None = None,
) -> AsyncIterator[str]:
    """Events for every whole line from ``offset``; ends once ``job_state`` is final and
    the file is read to its end (a last line without a newline is sent then).

    The file is read again as soon as ``watches`` (one of the stream's own without it)
    sees it change; ``job_state`` (a database read, in a thread) is asked after ``poll``
    seconds without a change, before that read.
    """
    async with (watches or LogWatches()).follow(path) as watch:
        async for event in _follow(watch, offset, job_state, poll, heartbeat):
            yield event


async def _follow(
    watch: LogWatch,
    offset: int,
    job_state: Callable[[], str | None],
    poll: float,
    heartbeat: float,
) -> AsyncIterator[str]:
    pending = b""
    quiet = 0.0
    changed = False  # the first pass asks the job's state, like every quiet one
    while True:
        seen = watch.generation  # before reading: a change made while reading wakes us
        # Asked before reading: nothing written after is lost. Only a pass that asked may
        # end the stream, so a pass woken by a change can skip the question.
        finished = not changed and await asyncio.to_thread(job_state) in _FINAL
        chunk = await asyncio.to_thread(read_from, watch.path, offset + len(pending))
        pending += chunk
        while b"\n" in pending:
            line, _, pending = pending.partition(b"\n")
            offset += len(line) + 1
            yield _event(offset, line)
            quiet = 0.0
        if len(chunk) == _CHUNK:
            changed = True
            continue  # more is waiting
        if finished:
            if pending:
                yield _event(offset + len(pending), pending)
            state = await asyncio.to_thread(job_state)
            yield f"event: end\ndata: {json.dumps(state or '')}\n\n"
            return
        changed = await watch.wait(seen, poll)
        if not changed:
            quiet += poll
        if quiet >= heartbeat:
            quiet = 0.0
            yield ": keep-alive\n\n"
