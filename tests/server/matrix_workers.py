"""The worker registry's part of the permission matrix (issue 15): list, drain and revoke
through the API, and the page. Each drain or revoke acts on a worker of its own, seen here
through a claim, so every role that holds the permission succeeds."""

from __future__ import annotations

from collections.abc import Callable

from bastion.executors.celery import Claim, LeaseStore
from tests.server.matrix_model import ADMIN_SECURITY, Call, Caller, Entry

WORKER_MATRIX: dict[tuple[str, str], Entry] = {
    ("GET", "/api/workers"): Entry("workers.read", ADMIN_SECURITY),
    ("POST", "/api/workers/{name}/drain"): Entry("workers.manage", ADMIN_SECURITY),
    ("POST", "/api/workers/{name}/revoke"): Entry("workers.manage", ADMIN_SECURITY),
    ("GET", "/workers"): Entry("workers.read", ADMIN_SECURITY),
}


def seen_worker(caller: Caller) -> str:
    """A worker the server has granted one job (so the registry knows it)."""
    name, run = caller.unique("trusted@matrix"), 1000 + next(caller.serial)  # one job a run
    now = caller.server.clock.now.timestamp()
    LeaseStore(caller.server.db).grant(Claim(name, run, "build", 1, "trusted", name), now=now)
    return name


WORKER_CALLS: dict[tuple[str, str], Callable[[Caller], Call]] = {
    ("GET", "/api/workers"): lambda c: Call("/api/workers"),
    ("POST", "/api/workers/{name}/drain"): lambda c: Call(f"/api/workers/{seen_worker(c)}/drain"),
    ("POST", "/api/workers/{name}/revoke"): lambda c: Call(f"/api/workers/{seen_worker(c)}/revoke"),
    ("GET", "/workers"): lambda c: Call("/workers"),
}
