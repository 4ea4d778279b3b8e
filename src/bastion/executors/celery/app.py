"""The Celery application of one pool: JSON only, late acks, one queue per pool.

>>> app = make_app("redis://127.0.0.1:6379/0", Pool.TRUSTED)  # doctest: +SKIP

Both ends (the executor that sends jobs, ``bastion worker`` that runs them) build the app the
same way, so a pool's routing, serialisation and leases are defined once.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from bastion.executors.celery.channel import RETRY_POLICY
from bastion.executors.celery.pools import Pool

__all__ = ["TASK_NAME", "VISIBILITY_TIMEOUT", "make_app"]

TASK_NAME = "bastion.run_job"
VISIBILITY_TIMEOUT = 6 * 3600
"""Seconds before Redis hands an unacknowledged job to another worker. Longer than any
job (acks are late); a lost worker is found sooner by its missing heartbeats (executor)."""


def _transport_options(broker: str, pool: Pool) -> dict[str, Any]:
    options: dict[str, Any] = {"visibility_timeout": VISIBILITY_TIMEOUT}
    if broker.startswith(("redis://", "rediss://", "unix://")):
        # Each pool's keys apart, even on a shared Redis database.
        options["global_keyprefix"] = pool.key_prefix
    return options


def make_app(broker: str, pool: Pool, *, queue: str | None = None) -> Celery:
    """The pool's app on ``broker``; its jobs go to ``queue`` (default ``pool.queue``)."""
    app = Celery(f"bastion-{pool.value}", broker=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        event_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue or pool.queue,
        task_routes={TASK_NAME: {"queue": queue or pool.queue}},
        broker_transport_options=_transport_options(broker, pool),
        broker_connection_retry_on_startup=False,  # `bastion worker` checks once, says why
        broker_connection_retry=True,  # a broker restart mid-run: the worker reconnects
        broker_connection_max_retries=int(RETRY_POLICY["max_retries"]),
        task_publish_retry=True,
        task_publish_retry_policy=RETRY_POLICY,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        enable_utc=True,
    )
    return app
