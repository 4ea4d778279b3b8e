"""Request and response bodies of the worker registry (``/api/workers``)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from bastion.executors.celery import WorkerInfo

__all__ = ["WorkerOut", "WorkersOut", "worker_out"]


class WorkerOut(BaseModel):
    """One Celery worker as the server last heard of it."""

    name: str
    pool: str
    state: str
    last_heartbeat: dt.datetime
    current: list[str]
    """The jobs it holds a running lease on (``run N job J``)."""


class WorkersOut(BaseModel):
    """Every worker seen, by pool and name."""

    workers: list[WorkerOut]


def worker_out(info: WorkerInfo) -> WorkerOut:
    """The response body of one registry row."""
    return WorkerOut(
        name=info.name,
        pool=info.pool,
        state=info.state.value,
        last_heartbeat=info.last_heartbeat,
        current=list(info.current),
    )
