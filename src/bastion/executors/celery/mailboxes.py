"""A worker process's channels to the server, made once and shared by its jobs.

Each job used to open its own publishing connection and its own control queue (about 28 ms
of connecting and declaring per job, more than the job itself). :class:`WorkerChannels`
keeps one :class:`~.channel.Publisher` (thread-safe) and one control queue per process;
a thread reads that queue and hands each message to the mailbox of its task id, so a job
waits on its own :class:`queue.Queue` and wakes the moment its grant, ``done`` or
``cancel`` arrives (no polling slices). A message for a task no job is waiting on (a late
``done``, a stale grant) is dropped; every message was verified by the subscription.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from bastion.executors.celery.channel import Publisher, Subscription
from bastion.executors.celery.pools import PoolKey

__all__ = ["Mailbox", "WorkerChannels"]

logger = logging.getLogger("bastion.executors.celery")

CONTROL_KINDS = ("grant", "deny", "cancel", "done", "alive")
_READ_SLICE = 0.5
"""Seconds the reader waits on the broker before it looks whether it should stop."""

Mailbox = queue.Queue[dict[str, Any]]


class WorkerChannels:
    """One publisher and one control queue for all of a worker process's jobs."""

    def __init__(self, app: Celery, key: PoolKey) -> None:
        self.publisher = Publisher(app.connection_for_write(), key)
        self._control = Subscription(
            app.connection_for_read(), key, f"bastion.ctl.{uuid.uuid4().hex}", *CONTROL_KINDS
        )
        self.control = self._control.name
        self._boxes: dict[str, Mailbox] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, name="bastion-control", daemon=True)
        self._reader.start()

    def open(self, task_id: str) -> Mailbox:
        """A mailbox receiving the control messages of ``task_id`` until :meth:`close`."""
        box: Mailbox = queue.Queue()
        with self._lock:
            self._boxes[task_id] = box
        return box

    def drop(self, task_id: str, box: Mailbox) -> None:
        """Stop delivering to ``box`` (a later mailbox of the same task is kept)."""
        with self._lock:
            if self._boxes.get(task_id) is box:
                del self._boxes[task_id]

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                replies = self._control.poll(timeout=_READ_SLICE)
            except Exception as exc:
                if self._stop.is_set():
                    # close() gave up waiting (a dead broker's reconnection outlasts the
                    # join) and closed the connection under this poll: kombu then fails
                    # in any way, an AttributeError included. Nothing is left to read.
                    return
                if not isinstance(exc, (OSError, OperationalError)):
                    raise
                logger.warning("the control queue cannot be read: %s", exc)  # reconnect gave up
                self._stop.wait(1.0)
                continue
            for reply in replies:
                with self._lock:
                    box = self._boxes.get(str(reply.get("task_id")))
                if box is not None:
                    box.put(reply)

    def close(self) -> None:
        self._stop.set()
        self._reader.join(timeout=_READ_SLICE + 5)
        self._control.close()
        self.publisher.close()
