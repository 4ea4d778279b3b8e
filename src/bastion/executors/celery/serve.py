"""Start a pool's worker process: check the broker answers, register the task, consume.

>>> serve_worker(WorkerOptions(...), runtime_for)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from celery import Celery
from celery.worker import state as celery_state
from kombu.exceptions import OperationalError

from bastion.errors import EngineError
from bastion.executors.celery.app import make_app
from bastion.executors.celery.pools import Pool
from bastion.executors.celery.worker import RESULT_TIMEOUT, WorkerRuntime, register_task

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
    """Run the pool's worker until it is stopped (SIGTERM / SIGINT), then, on a warm
    shutdown, wait for the server to confirm the results already sent (at most
    ``RESULT_TIMEOUT``) before closing the channels: see :func:`_settle`."""
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
    _settle(runtime)


def _settle(runtime: WorkerRuntime) -> None:
    """After Celery's shutdown: wait for the unconfirmed results, unless it was cold.

    A job's task returns once its result is sent, and a daemon lease thread sends it again
    until the server says ``done``. Celery's warm shutdown (the first SIGTERM or SIGINT)
    stops consuming and waits only for running tasks, so the process would exit and kill
    those threads: a lost first result is then never sent again, and the server, seeing
    the lease expire, runs the finished job again elsewhere. Waiting here, once
    ``worker.start()`` has returned, means no task runs and no job can be taken any more
    (the consumer is closed), while the channels the leases use are still open.

    Not in a ``worker_shutting_down`` receiver (it runs inside the signal handler, while
    tasks still run and take leases), nor in ``worker_shutdown`` (sent only after a warm
    stop, like here, but its receivers' errors are swallowed by Celery's dispatch, and the
    channels must be closed after the wait anyway).

    A cold shutdown (SIGQUIT, a second SIGINT) keeps its meaning: Celery's handlers set
    ``should_terminate``, and then nothing is waited for, before or during the wait. A
    second SIGTERM is, as in Celery, the same warm shutdown again."""
    if _cold_shutdown():
        return
    runtime.settle(RESULT_TIMEOUT, give_up=_cold_shutdown)
    if not _cold_shutdown():
        runtime.close()


def _cold_shutdown() -> bool:
    """Whether Celery was told to stop at once (its module-wide flag, set by its handlers)."""
    flag = celery_state.should_terminate
    return flag is not None and flag is not False


def worker_name(pool: Pool) -> str:
    """This process's worker name: ``<pool>@<host>.<pid>``."""
    return f"{pool.value}@{socket.gethostname()}.{os.getpid()}"
