"""``bastion worker``: a Celery worker of one trust pool, running jobs in the sandbox.

bastion worker --pool trusted --broker redis://127.0.0.1:6379/0 --concurrency 2
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from celery import Celery

from bastion.engine import RunMasking, make_sandbox
from bastion.executors.celery import (
    SERVER_TIMEOUT,
    Pool,
    WorkerOptions,
    WorkerRuntime,
    load_pool_key,
    serve_worker,
    worker_name,
)
from bastion.home import ensure_bastion_home

__all__ = ["register", "worker_command"]

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def worker_command(
    pool: Annotated[Pool, typer.Option("--pool", help="The trust pool whose jobs to run.")],
    queue: Annotated[
        str | None, typer.Option("--queue", help="Consume this queue (default: the pool's).")
    ] = None,
    broker: Annotated[
        str, typer.Option("--broker", help="Broker URL (redis:// or amqp://).")
    ] = DEFAULT_BROKER,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Jobs at once.")] = 1,
    server_timeout: Annotated[
        float,
        typer.Option(
            "--server-timeout",
            min=1.0,
            help="Seconds without a word from a job's server before the job is stopped.",
        ),
    ] = SERVER_TIMEOUT,
) -> None:
    """Run jobs of one trust pool sent through Celery, each in a bubblewrap sandbox."""
    logging.getLogger("bastion").setLevel(logging.INFO)
    home = ensure_bastion_home()
    key = load_pool_key(home, pool, create=True)
    sandbox = make_sandbox(False, None, home)
    scratch = Path(tempfile.mkdtemp(prefix=f"bastion-worker-{pool.value}-"))

    def runtime_for(app: Celery) -> WorkerRuntime:
        return WorkerRuntime(
            app=app,
            key=key,
            sandbox=sandbox,
            workspace_parent=scratch,
            masking=lambda values: RunMasking.build(values, lowercase=True),
            name=worker_name(pool),
            server_timeout=server_timeout,
        )

    options = WorkerOptions(pool=pool, broker=broker, queue=queue, concurrency=concurrency)
    serve_worker(options, runtime_for)


def register(app: typer.Typer) -> None:
    """Add ``bastion worker`` to the app."""
    app.command("worker")(worker_command)
