"""The resource routes' part of the permission matrix (issue 13): findings and their triage,
artifacts, signing keys, the audit log, secrets, settings, the users and tokens pages and
step-up. The expected values are written out here by hand, as in the rest of the matrix; the
calls succeed for a role that holds the permission over the data :func:`seed` stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bastion.audit import AuditEvent
from bastion.server import Role
from bastion.server.triage import ServerSuppressions
from bastion.store import JobRecord, RunRecord
from bastion.supplychain import AttestationKind
from bastion.vault import Scope
from tests.server.conftest import Server
from tests.server.matrix_model import ADMIN, ADMIN_SECURITY, ALL, Call, Caller, Entry

SECURITY = frozenset({Role.SECURITY})
SECRET_KEEPERS = frozenset({Role.MAINTAINER, Role.ADMIN})
SECRET_READERS = SECRET_KEEPERS | SECURITY
BUNDLE = "20300101T000000Z-0123456789abcdef"
SECRET_VALUE = "zq7-Kestrel-umbra-4410-vantage"
FINGERPRINT = "3f2a9c0b7e1d4a55"

RESOURCE_MATRIX: dict[tuple[str, str], Entry] = {
    ("GET", "/api/findings"): Entry("findings.read", ALL, refusal=404),
    ("GET", "/api/suppressions"): Entry("findings.read", ALL, refusal=404),
    # Accepting a risk is the security role's alone; hidden, since revoking looks an id up.
    ("POST", "/api/suppressions"): Entry("findings.triage", SECURITY, refusal=404),
    ("DELETE", "/api/suppressions/{suppression_id}"): Entry(
        "findings.triage", SECURITY, refusal=404
    ),
    ("GET", "/api/artifacts"): Entry("artifacts.read", ALL, refusal=404),
    ("GET", "/api/artifacts/{digest}"): Entry("artifacts.read", ALL, refusal=404),
    ("GET", "/api/artifacts/{digest}/verify"): Entry("artifacts.read", ALL, refusal=404),
    ("GET", "/api/artifacts/{digest}/attestations/{bundle}/{kind}"): Entry(
        "artifacts.read", ALL, refusal=404
    ),
    ("GET", "/api/keys"): Entry("keys.read", ALL),  # public keys only
    ("GET", "/api/audit"): Entry("audit.read", ADMIN_SECURITY),
    ("GET", "/api/audit/{seq}/proof"): Entry("audit.read", ADMIN_SECURITY),
    ("GET", "/api/audit-export"): Entry("audit.export", ADMIN_SECURITY, step_up=True),
    ("GET", "/api/secrets"): Entry("secrets.read", SECRET_READERS),  # names and scopes
    ("PUT", "/api/secrets/{name}"): Entry("secrets.write", SECRET_KEEPERS),
    ("DELETE", "/api/secrets/{name}"): Entry("secrets.write", SECRET_KEEPERS),
    ("GET", "/api/settings"): Entry("settings.read", ADMIN),
    ("GET", "/findings"): Entry("findings.read", ALL, refusal=404),
    ("POST", "/findings/accept"): Entry("findings.triage", SECURITY, refusal=404),
    ("POST", "/findings/revoke/{suppression_id}"): Entry("findings.triage", SECURITY, refusal=404),
    ("GET", "/artifacts"): Entry("artifacts.read", ALL, refusal=404),
    ("GET", "/artifacts/{digest}"): Entry("artifacts.read", ALL, refusal=404),
    ("GET", "/keys"): Entry("keys.read", ALL),
    ("GET", "/audit"): Entry("audit.read", ADMIN_SECURITY),
    ("GET", "/secrets"): Entry("secrets.read", SECRET_READERS),
    ("POST", "/secrets"): Entry("secrets.write", SECRET_KEEPERS),
    ("POST", "/secrets/{name}/delete"): Entry("secrets.write", SECRET_KEEPERS),
    ("GET", "/settings"): Entry("settings.read", ADMIN),
    ("GET", "/users"): Entry("users.read", ADMIN_SECURITY),
    ("GET", "/tokens"): Entry("tokens.manage", ALL),  # the caller's own
    ("GET", "/step-up"): Entry("signed_in", ALL),
    ("POST", "/step-up"): Entry("signed_in", ALL),
}


@dataclass(frozen=True)
class Seeded:
    """What :func:`seed` stored: an artifact with one attestation bundle, a signed event."""

    digest: str
    bundle: str = BUNDLE
    seq: int = 0


SEEDS: dict[int, Seeded] = {}  # each server's seeded data, by id(server)
# Path parameters of the resource routes, for callers that need no real object.
PLACEHOLDERS = {
    "suppression_id": 1,
    "digest": "sha256:" + "0" * 64,
    "bundle": BUNDLE,
    "kind": "provenance",
    "seq": 1,
}


def seed(server: Server) -> None:
    """An artifact recorded by a run of ``app`` with a provenance attestation, and audit
    events of which the first is signed into a checkpoint."""
    resources = server.client.app.state.bastion.services.resources  # type: ignore[attr-defined]
    store = resources.need_artifacts()
    record = store.put_bytes(b"matrix artifact", name="app.tar", media_type="application/x-tar")
    store.put_attestation(record.digest, BUNDLE, AttestationKind.PROVENANCE, b'{"payload":""}')
    with server.db.session() as session:
        run = RunRecord(
            repo="app",
            commit="0" * 40,
            event="push",
            trust="trusted",
            pipeline_path=".bastion/pipeline.yml",
            pipeline_digest="sha256:" + "0" * 64,
            status="passed",
        )
        produced = {"artifacts": [{"digest": record.digest, "name": "app.tar"}]}
        run.jobs.append(JobRecord(name="package", kind="build", status="passed", result=produced))
        session.add(run)
    log = resources.need_audit_log()
    log.append(AuditEvent("user:seed", "run.started", "run/1"))
    log.checkpoint()
    SEEDS[id(server)] = Seeded(record.digest)


def _triage(caller: Caller) -> dict[str, str]:
    expires = caller.server.clock.now.date() + dt.timedelta(days=30)
    fingerprint = f"{FINGERPRINT}-{next(caller.serial)}"
    return {
        "repository": "app",
        "fingerprint": fingerprint,
        "reason": "matrix",
        "expires": str(expires),
    }


def _accepted(caller: Caller) -> int:
    """A suppression of ``app`` accepted by someone else, for the revoke routes."""
    body = _triage(caller)
    store = ServerSuppressions(caller.server.db, caller.server.clock)
    expires = dt.date.fromisoformat(body["expires"])
    return store.accept("app", body["fingerprint"], "setup", "matrix", expires).id


def _secret_name(caller: Caller) -> str:
    return f"MATRIX_{next(caller.serial)}"


def _stored_secret(caller: Caller) -> str:
    """A secret in the vault, for the delete routes."""
    name = _secret_name(caller)
    vault = caller.ctx.services.resources.need_vault()
    vault.set(name, SECRET_VALUE, Scope.build(trust=["trusted"]))
    return name


def _artifact(caller: Caller, tail: str = "") -> str:
    return f"/api/artifacts/{SEEDS[id(caller.server)].digest}{tail}"


RESOURCE_CALLS: dict[tuple[str, str], Callable[[Caller], Call]] = {
    ("GET", "/api/findings"): lambda c: Call("/api/findings"),
    ("GET", "/api/suppressions"): lambda c: Call("/api/suppressions"),
    ("POST", "/api/suppressions"): lambda c: Call("/api/suppressions", json=_triage(c)),
    ("DELETE", "/api/suppressions/{suppression_id}"): lambda c: Call(
        f"/api/suppressions/{_accepted(c)}"
    ),
    ("GET", "/api/artifacts"): lambda c: Call("/api/artifacts"),
    ("GET", "/api/artifacts/{digest}"): lambda c: Call(_artifact(c)),
    ("GET", "/api/artifacts/{digest}/verify"): lambda c: Call(_artifact(c, "/verify")),
    ("GET", "/api/artifacts/{digest}/attestations/{bundle}/{kind}"): lambda c: Call(
        _artifact(c, f"/attestations/{BUNDLE}/provenance")
    ),
    ("GET", "/api/keys"): lambda c: Call("/api/keys"),
    ("GET", "/api/audit"): lambda c: Call("/api/audit"),
    ("GET", "/api/audit/{seq}/proof"): lambda c: Call(
        f"/api/audit/{SEEDS[id(c.server)].seq}/proof"
    ),
    ("GET", "/api/audit-export"): lambda c: Call("/api/audit-export"),
    ("GET", "/api/secrets"): lambda c: Call("/api/secrets"),
    ("PUT", "/api/secrets/{name}"): lambda c: Call(
        f"/api/secrets/{_secret_name(c)}", json={"value": SECRET_VALUE, "trust": ["trusted"]}
    ),
    ("DELETE", "/api/secrets/{name}"): lambda c: Call(f"/api/secrets/{_stored_secret(c)}"),
    ("GET", "/api/settings"): lambda c: Call("/api/settings"),
    ("GET", "/findings"): lambda c: Call("/findings"),
    ("POST", "/findings/accept"): lambda c: Call("/findings/accept", data=_triage(c)),
    ("POST", "/findings/revoke/{suppression_id}"): lambda c: Call(
        f"/findings/revoke/{_accepted(c)}"
    ),
    ("GET", "/artifacts"): lambda c: Call("/artifacts"),
    ("GET", "/artifacts/{digest}"): lambda c: Call(f"/artifacts/{SEEDS[id(c.server)].digest}"),
    ("GET", "/keys"): lambda c: Call("/keys"),
    ("GET", "/audit"): lambda c: Call("/audit"),
    ("GET", "/secrets"): lambda c: Call("/secrets"),
    ("POST", "/secrets"): lambda c: Call(
        "/secrets", data={"name": _secret_name(c), "value": SECRET_VALUE, "trust": "trusted"}
    ),
    ("POST", "/secrets/{name}/delete"): lambda c: Call(f"/secrets/{_stored_secret(c)}/delete"),
    ("GET", "/settings"): lambda c: Call("/settings"),
    ("GET", "/users"): lambda c: Call("/users"),
    ("GET", "/tokens"): lambda c: Call("/tokens"),
    ("GET", "/step-up"): lambda c: Call("/step-up"),
    ("POST", "/step-up"): lambda c: Call("/step-up", data={"code": c.fresh_code(), "next": "/"}),
}
