"""Start a pool's worker process: check the broker answers, register the task, consume.

>>> serve_worker(WorkerOptions(...), runtime_for)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from celery import Celery
from kombu.exceptions import OperationalError

from bastion.errors import EngineError
from bastion.executors.celery.app import make_app
from bastion.executors.celery.pools import Pool
from bastion.executors.celery.worker import WorkerRuntime, register_task

__all__ = ["BrokerUnavailable", "WorkerOptions", "check_broker", "serve_worker", "worker_name"]


class BrokerUnavailable(EngineError):
    """The broker URL does not answer (or refuses the pool's credentials)."""


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """``bastion worker``'s options."""

    pool: Pool
    broker: str
    queue: str | None = None
    concurrency: int = 1
    connect_timeout: float = 8.0


def check_broker(app: Celery, timeout: float) -> None:
    """Connect once, within ``timeout`` seconds, or raise :class:`BrokerUnavailable`."""
    connection = app.connection_for_write()
    connection.transport_options.setdefault("socket_connect_timeout", timeout)
    connection.connect_timeout = timeout
    try:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
    except (OperationalError, OSError) as exc:
        raise BrokerUnavailable(
            f"the broker {_redacted(app.conf.broker_url)} does not answer: {exc}"
        ) from exc
    finally:
        connection.release()


def _redacted(url: str) -> str:
    """``url`` without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


def serve_worker(options: WorkerOptions, runtime_for: Callable[[Celery], WorkerRuntime]) -> None:
    """Run the pool's worker until it is stopped (SIGTERM / SIGINT)."""
    app = make_app(options.broker, options.pool, queue=options.queue)
    check_broker(app, options.connect_timeout)
    runtime = runtime_for(app)
    register_task(runtime)
    worker = app.Worker(
        hostname=runtime.name,
        pool="threads",
        concurrency=options.concurrency,
        queues=[options.queue or options.pool.queue],
        loglevel="INFO",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        quiet=True,
    )
    worker.start()


def worker_name(pool: Pool) -> str:
    """This process's worker name: ``<pool>@<host>.<pid>``."""
    return f"{pool.value}@{socket.gethostname()}.{os.getpid()}"
