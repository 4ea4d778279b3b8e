"""Forked workers over plain pipes: parallel scanning where ``multiprocessing`` cannot run.

Why not ``multiprocessing.Pool``: its queues need POSIX semaphores, and inside Bastion's
bubblewrap sandbox there is no writable ``/dev/shm``, so creating a pool fails with
``PermissionError``. Workers here are ``os.fork`` children that share the parent's compiled
engine (copy-on-write), read tasks from one pipe and write results to another as
length-prefixed pickles (only between this process and its own children). The parent keeps
each worker two tasks ahead and hands out the next as results arrive, so a slow file does not
idle the other core. A worker that fails reports the error; one that dies is noticed by the
end of its pipe; either way :func:`run_forked` raises :class:`~bastion.errors.GateError`.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import struct
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn, TypeVar

from bastion.errors import BastionError, GateError

__all__ = ["run_forked"]

T = TypeVar("T")
R = TypeVar("R")
_HEADER = struct.Struct("!Q")
_AHEAD = 2


def _send(stream: IO[bytes], message: object) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _recv(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    return pickle.loads(payload)  # noqa: S301 - written by our own forked child


def _child(tasks: IO[bytes], results: IO[bytes], work: Callable[[Any], Any]) -> NoReturn:
    code = 0
    try:
        while (task := _recv(tasks)) is not None:
            try:
                reply: tuple[str, Any] = ("ok", work(task))
            except BastionError as exc:
                reply = ("error", exc.message)
            except Exception as exc:  # sent to the parent, which fails closed
                reply = ("error", f"{type(exc).__name__}: {exc}")
            _send(results, reply)
    except BaseException:  # a child never unwinds into the parent's code
        code = 1
    finally:
        os._exit(code)


@dataclass(slots=True)
class _Worker:
    pid: int
    tasks: IO[bytes]
    results: IO[bytes]
    inflight: int = 0
    open: bool = field(default=True)


def _spawn(jobs: int, work: Callable[[Any], Any]) -> list[_Worker]:
    workers: list[_Worker] = []
    for _ in range(jobs):
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which exits through os._exit
            for other in workers:  # so that a dead sibling's pipe reaches end of file
                other.tasks.close()
                other.results.close()
            os.close(task_w)
            os.close(result_r)
            _child(os.fdopen(task_r, "rb"), os.fdopen(result_w, "wb"), work)
        os.close(task_r)
        os.close(result_w)
        workers.append(_Worker(pid, os.fdopen(task_w, "wb"), os.fdopen(result_r, "rb")))
    return workers


def _feed(worker: _Worker, tasks: Iterator[Any]) -> None:
    try:
        _feed_unchecked(worker, tasks)
    except BrokenPipeError:
        raise GateError("a secrets scanning worker died unexpectedly") from None


def _feed_unchecked(worker: _Worker, tasks: Iterator[Any]) -> None:
    while worker.open and worker.inflight < _AHEAD:
        task = next(tasks, None)
        if task is None:
            _send(worker.tasks, None)  # no more work: the child exits after its last reply
            worker.tasks.close()
            worker.open = False
            return
        _send(worker.tasks, task)
        worker.inflight += 1


def _stop(workers: list[_Worker], *, kill: bool) -> None:
    for worker in workers:
        for stream in (worker.tasks, worker.results):
            # Closing flushes; to a dead worker that is a broken pipe, already reported.
            with contextlib.suppress(OSError):
                stream.close()
        if kill:  # an error or an abandoned scan: do not wait for work nobody will read
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
        os.waitpid(worker.pid, 0)


def run_forked(jobs: int, tasks: Iterator[T], work: Callable[[T], R]) -> Generator[R, None, None]:
    """Apply ``work`` to every task in ``jobs`` forked children; yield results as they come.

    ``tasks`` is consumed lazily in this process (it may still be walking a tree) and must not
    yield None. Results arrive in completion order, not task order.
    """
    workers = _spawn(jobs, work)
    selector = selectors.DefaultSelector()
    finished = False
    try:
        for worker in workers:
            _feed(worker, tasks)
            selector.register(worker.results, selectors.EVENT_READ, worker)
        busy = sum(1 for w in workers if w.inflight)
        while busy:
            for key, _events in selector.select():
                worker = key.data
                try:
                    status, value = _recv(worker.results)
                except EOFError:
                    raise GateError("a secrets scanning worker died unexpectedly") from None
                if status != "ok":
                    raise GateError(f"a secrets scanning worker failed: {value}")
                worker.inflight -= 1
                _feed(worker, tasks)
                if not worker.inflight:
                    selector.unregister(worker.results)
                    busy -= 1
                yield value
        finished = True
    finally:
        selector.close()
        _stop(workers, kill=not finished)
