"""The Celery worker registry over HTTP: list the workers (pool, state, last heartbeat,
current jobs), drain one, revoke one. A change is recorded in the audit log exactly as
``bastion workers drain|revoke`` records it (``worker.drained`` / ``worker.revoked``), the
caller as actor. A revoked worker's next heartbeat is refused and its job goes to another
worker of the pool (:mod:`bastion.executors.celery.registry`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from bastion.errors import StoreError, UsageError
from bastion.executors.celery import LeaseStore, WorkerState, change_worker
from bastion.server.auth import authorize
from bastion.server.context import context_of
from bastion.server.errors import NotFoundError
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.resources import translate
from bastion.server.routing import guarded
from bastion.server.schemas_workers import WorkerOut, WorkersOut, worker_out

__all__ = ["change", "leases_of", "router"]

router = APIRouter(prefix="/api")
WorkerReader = Annotated[Principal, Depends(authorize(Permission.WORKERS_READ))]
WorkerManager = Annotated[Principal, Depends(authorize(Permission.WORKERS_MANAGE))]


def leases_of(request: Request) -> LeaseStore:
    """The lease store in the server's database (its tables made on first use)."""
    try:
        return LeaseStore(context_of(request).services.db)
    except StoreError as exc:
        raise translate(exc) from exc


def change(request: Request, principal: Principal, name: str, state: WorkerState) -> WorkerOut:
    """Put worker ``name`` in ``state``, audited; 404 for a worker never seen."""
    leases = leases_of(request)
    audit = context_of(request).services.audit
    try:
        change_worker(leases, audit.record, name, state, actor=principal.actor)
        return next(worker_out(w) for w in leases.workers() if w.name == name)
    except UsageError as exc:
        raise NotFoundError(f"no worker named {name!r} has claimed a job here") from exc
    except StoreError as exc:
        raise translate(exc) from exc


@router.get("/workers", **guarded(Permission.WORKERS_READ))
def workers(request: Request, principal: WorkerReader) -> WorkersOut:
    """Every worker seen, by pool and name, with its last heartbeat and current jobs."""
    try:
        return WorkersOut(workers=[worker_out(w) for w in leases_of(request).workers()])
    except StoreError as exc:
        raise translate(exc) from exc


@router.post("/workers/{name}/drain", **guarded(Permission.WORKERS_MANAGE))
def drain(request: Request, name: str, principal: WorkerManager) -> WorkerOut:
    """Grant the worker nothing new (what it runs goes on); 404 for an unknown worker."""
    return change(request, principal, name, WorkerState.DRAINING)


@router.post("/workers/{name}/revoke", **guarded(Permission.WORKERS_MANAGE))
def revoke(request: Request, name: str, principal: WorkerManager) -> WorkerOut:
    """Revoke the worker: its next heartbeat is refused, its job retried elsewhere, its
    results ignored, nothing granted to it again; 404 for an unknown worker."""
    return change(request, principal, name, WorkerState.REVOKED)
