"""The reply side-channel of a pool: signed JSON messages on small per-job queues.

Jobs travel as Celery tasks; everything else (a worker's claim, the server's grant or
refusal, heartbeats, job events, cancellation) goes through one direct exchange on the same
broker, each message signed with the pool's key (:mod:`~bastion.executors.celery.signing`).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

import kombu

from bastion.errors import VerificationError
from bastion.executors.celery.pools import PoolKey
from bastion.executors.celery.signing import open_message, seal_message

__all__ = ["EXCHANGE", "RETRY_POLICY", "Publisher", "Subscription", "reply_queue"]

# kombu is partly annotated and its calls untyped: one Any-typed seam instead of an ignore on
# every call.
_kombu: Any = kombu
Connection = Any

EXCHANGE: Any = _kombu.Exchange("bastion.reply", type="direct", durable=False)

RETRY_POLICY: dict[str, float] = {
    "max_retries": 20,
    "interval_start": 0.2,
    "interval_step": 0.5,
    "interval_max": 2.0,
}
"""Reconnection of a publisher or a subscription: about 35 s in all, then the broker's
error is raised (a broker restart takes a few seconds; RabbitMQ's up to ~10)."""
REDECLARE_SECONDS = 1.0
"""How often a subscription declares its queue again: a broker that restarted without
telling (Redis reconnects silently, its bindings gone) routes to it again within this."""


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
                retry_policy=RETRY_POLICY,
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
        self.reconnects = 0
        self._declared_at = time.monotonic()
        self._consumer = self._consume()

    def _consume(self) -> Any:
        consumer = _kombu.Consumer(
            self._connection.channel(),
            queues=[reply_queue(self.name)],
            callbacks=[self._on_message],
            accept=["json"],
            # Taken off the queue as it is delivered: every message is handled (or judged a
            # forgery) on arrival, so an ack would only cost the broker round trips.
            no_ack=True,
        )
        consumer.consume()
        return consumer

    def _on_message(self, body: Any, _message: Any) -> None:
        try:
            opened = open_message(self._key, body, *self._kinds)
        except (VerificationError, ValueError):
            self.refused += 1
            return
        self._inbox.put(opened)

    def poll(self, timeout: float) -> list[dict[str, Any]]:
        """Messages that arrive within ``timeout`` seconds (none is an empty list).

        A lost connection is made again (bounded by :data:`RETRY_POLICY`, then the broker's
        error is raised) and the queue declared again; ``reconnects`` counts it."""
        # AttributeError: a reconnection that gave up (the broker stayed away) leaves the old
        # consumer on a closed channel, whose connection kombu has set to None; the next poll
        # must connect again, not die on it.
        errors = (*self._connection.connection_errors, OSError, AttributeError)
        try:
            if time.monotonic() - self._declared_at > REDECLARE_SECONDS:
                self._declared_at = time.monotonic()
                reply_queue(self.name)(self._consumer.channel).declare()
            with contextlib.suppress(TimeoutError):
                self._connection.drain_events(timeout=timeout)
        except errors:
            self.reconnect()
        got: list[dict[str, Any]] = []
        while True:
            try:
                got.append(self._inbox.get_nowait())
            except queue.Empty:
                return got

    def reconnect(self) -> None:
        """Connect again (bounded) and consume the queue again, declaring it."""
        self.reconnects += 1
        connection = self._connection
        with contextlib.suppress(
            *connection.connection_errors, *connection.channel_errors, OSError
        ):
            connection.close()  # what is left of the old socket
        self._connection.ensure_connection(**RETRY_POLICY)
        self._consumer = self._consume()
        self._declared_at = time.monotonic()

    def close(self) -> None:
        try:
            self._consumer.cancel()
        finally:
            self._connection.release()
