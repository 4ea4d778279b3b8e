"""A test server with every resource store: a signed audit log, a vault, an artifact store
and a trusted-keys registry, all under the test's own directory."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

from bastion.audit import AuditLog, Ed25519NoteSigner
from bastion.server import ServerServices, ServerSettings, create_app
from bastion.server.accounts import Accounts
from bastion.server.resources import ResourceServices
from bastion.store import Database, JobRecord, RunRecord, open_database, sqlite_url
from bastion.supplychain import LocalBlobStore, TrustedKeys
from bastion.vault import open_default_vault
from tests.server.conftest import Clock, ListSink, Server

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # as in conftest: Starlette's nudge towards httpx2
    from starlette.testclient import TestClient

FINGERPRINT = "3f2a9c0b7e1d4a55"


def make_resources(db: Database, home: Path) -> ResourceServices:
    """Every resource store: a signed audit log in ``db``, the rest under ``home``."""
    return ResourceServices(
        audit_log=AuditLog(db, Ed25519NoteSigner.generate("test.example/log"), witness=None),
        vault=open_default_vault(home, {}),
        artifacts=LocalBlobStore(home / "artifacts"),
        trusted_keys=TrustedKeys(home),
    )


def make_resource_server(tmp_path: Path) -> tuple[Server, AuditLog]:
    """A server whose resource routes all work; returns it and its audit log."""
    db = open_database(sqlite_url(tmp_path / "server.db"))
    clock = Clock()
    audit = ListSink()
    resources = make_resources(db, tmp_path / "home")
    log = resources.need_audit_log()
    settings = ServerSettings("127.0.0.1", 8080, "sqlite:///x.db")
    app = create_app(settings, ServerServices(db, audit, clock, resources=resources))
    client = TestClient(app, base_url="http://testserver")
    return Server(client, db, audit, clock, Accounts(db, settings, clock), settings), log


def add_gate_run(db: Database, repo: str = "acme/api") -> int:
    """A finished run whose SAST gate job recorded one open finding."""
    item = {
        "fingerprint": FINGERPRINT,
        "gate": "sast",
        "rule_id": "py-eval",
        "severity": "high",
        "message": "eval of request data",
        "path": "app/views.py",
        "line": 12,
        "new": True,
        "suppressed": False,
        "suppressed_by": None,
    }
    verdict = {"passed": False, "reasons": ["1 high"], "summary": {"findings": 1, "items": [item]}}
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with db.session() as session:
        run = RunRecord(
            repo=repo,
            commit="a" * 40,
            ref="refs/heads/main",
            event="push",
            trust="trusted",
            pipeline_path=".bastion/pipeline.yml",
            pipeline_digest="sha256:" + "0" * 64,
            status="blocked",
            created_at=now,
        )
        run.jobs.append(
            JobRecord(name="sast", kind="gate", status="blocked", result={"verdict": verdict})
        )
        session.add(run)
        session.flush()
        return run.id
