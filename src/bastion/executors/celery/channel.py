"""The reply side-channel of a pool: signed JSON messages on small per-job queues.

Jobs travel as Celery tasks; everything else (a worker's claim, the server's grant or
refusal, heartbeats, job events, cancellation) goes through one direct exchange on the same
broker, each message signed with the pool's key (:mod:`~bastion.executors.celery.signing`).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Mapping
from typing import Any

import kombu

from bastion.errors import VerificationError
from bastion.executors.celery.pools import PoolKey
from bastion.executors.celery.signing import open_message, seal_message

__all__ = ["EXCHANGE", "Publisher", "Subscription", "reply_queue"]

# kombu is partly annotated and its calls untyped: one Any-typed seam instead of an ignore on
# every call.
_kombu: Any = kombu
Connection = Any

EXCHANGE: Any = _kombu.Exchange("bastion.reply", type="direct", durable=False)


def reply_queue(name: str) -> Any:
    """A transient queue on the reply exchange, routed by its own name."""
    return _kombu.Queue(name, EXCHANGE, routing_key=name, durable=False, auto_delete=True)


class Publisher:
    """Signs and sends messages to named reply queues; safe to share between threads."""

    def __init__(self, connection: Connection, key: PoolKey) -> None:
        self._connection = connection
        self._key = key
        self._lock = threading.Lock()
        self._producer = _kombu.Producer(connection.channel(), exchange=EXCHANGE)

    def send(self, to: str, body: Mapping[str, Any]) -> None:
        """Sign ``body`` and publish it to queue ``to``."""
        message = seal_message(self._key, body)
        with self._lock:
            self._producer.publish(
                message,
                routing_key=to,
                serializer="json",
                declare=[EXCHANGE],
                retry=True,
                retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
            )

    def close(self) -> None:
        with self._lock:
            self._connection.release()


class Subscription:
    """Receives the verified messages of one queue; forged ones are dropped and counted."""

    def __init__(self, connection: Connection, key: PoolKey, name: str, *kinds: str) -> None:
        self.name = name
        self._kinds = kinds
        self.refused = 0
        self._connection = connection
        self._key = key
        self._inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._consumer = _kombu.Consumer(
            connection.channel(),
            queues=[reply_queue(name)],
            callbacks=[self._on_message],
            accept=["json"],
        )
        self._consumer.consume()

    def _on_message(self, body: Any, message: Any) -> None:
        message.ack()
        try:
            opened = open_message(self._key, body, *self._kinds)
        except (VerificationError, ValueError):
            self.refused += 1
            return
        self._inbox.put(opened)

    def poll(self, timeout: float) -> list[dict[str, Any]]:
        """Messages that arrive within ``timeout`` seconds (none is an empty list)."""
        with contextlib.suppress(TimeoutError):
            self._connection.drain_events(timeout=timeout)
        got: list[dict[str, Any]] = []
        while True:
            try:
                got.append(self._inbox.get_nowait())
            except queue.Empty:
                return got

    def close(self) -> None:
        try:
            self._consumer.cancel()
        finally:
            self._connection.release()
