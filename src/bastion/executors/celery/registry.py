"""The worker registry's operator actions: drain and revoke, each recorded in the audit log.

>>> change_worker(leases, log.append, "w@h.1", WorkerState.REVOKED, actor="a")  # doctest: +SKIP

Draining a worker: the executor grants it no new job (what it runs goes on). Revoking one:
its next heartbeat is refused, the job it held is taken back and sent to another worker of
the pool, nothing it reports from then on is taken, and it is granted nothing new.
"""

from __future__ import annotations

from collections.abc import Callable

from bastion.audit import AuditEvent, Outcome
from bastion.errors import UsageError
from bastion.executors.celery.leases import LeaseStore, WorkerState

__all__ = ["WORKER_ACTIONS", "change_worker"]

WORKER_ACTIONS = {
    WorkerState.ACTIVE: "worker.activated",
    WorkerState.DRAINING: "worker.drained",
    WorkerState.REVOKED: "worker.revoked",
}
"""The audit action recorded for each state an operator puts a worker in."""


def change_worker(
    leases: LeaseStore,
    record: Callable[[AuditEvent], object],
    name: str,
    state: WorkerState,
    *,
    actor: str,
) -> None:
    """Put worker ``name`` in ``state`` and record it (UsageError for an unknown worker)."""
    if not leases.set_state(name, state, by=actor):
        raise UsageError(
            f"no worker named {name!r} has claimed a job here",
            hint="`bastion workers list` shows the workers seen",
        )
    record(AuditEvent(actor, WORKER_ACTIONS[state], f"worker/{name}", Outcome.SUCCESS, {}))
