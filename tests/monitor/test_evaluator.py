"""The evaluator over a real audit log in SQLite: cursor, masking, dedup, states."""

from __future__ import annotations

import pytest

from bastion.audit import AuditEvent, AuditLog, Outcome
from bastion.monitor import (
    AlertNotFoundError,
    AlertState,
    AlertStore,
    Evaluator,
    MonitorError,
    PlainText,
    builtin_rules,
)
from bastion.store import Database, open_database
from bastion.vault import Masker

SECRET = "hunter2-very-secret-value"


@pytest.fixture
def db() -> Database:
    return open_database("sqlite://")


def _denied(log: AuditLog, subject: str, reason: str) -> None:
    failed = [{"check": "policy", "reason": reason}]
    log.append(
        AuditEvent("user:ci", "verify.performed", subject, Outcome.DENIED, {"failed": failed})
    )


def test_alert_text_passes_the_masker(db: Database) -> None:
    log = AuditLog(db, witness=None)
    _denied(log, "sha256:aa", f"token {SECRET} leaked")
    report = Evaluator(db, builtin_rules(), Masker([SECRET])).run_once(log.entries)
    (alert,) = AlertStore(db).list()
    assert report.opened == (alert.id,)
    assert SECRET not in alert.title + alert.detail
    assert "token *** leaked" in alert.detail


def test_each_event_is_judged_once(db: Database) -> None:
    log = AuditLog(db, witness=None)
    evaluator = Evaluator(db, builtin_rules(), PlainText(), batch=2)
    for n in range(3):
        _denied(log, f"sha256:{n}", "x")
    first = evaluator.run_once(log.entries)
    again = Evaluator(db, builtin_rules(), PlainText()).run_once(log.entries)
    assert (first.events, len(first.opened), first.next_seq) == (3, 3, 3)
    assert (again.events, again.opened) == (0, ())


def test_repeats_count_on_the_open_alert_and_resolving_reopens(db: Database) -> None:
    log = AuditLog(db, witness=None)
    evaluator = Evaluator(db, builtin_rules(), PlainText())
    store = AlertStore(db)

    def deny() -> None:
        log.append(AuditEvent("bastion", "egress.request", "run/1/job/b", Outcome.DENIED,
                              {"repo": "acme", "job": "b", "host": "evil.example"}))  # fmt: skip

    deny()
    deny()
    evaluator.run_once(log.entries)
    (alert,) = store.list()
    assert alert.occurrences == 2
    acked = store.acknowledge(alert.id, by="user:sec", reason="known scanner")
    assert (acked.state, acked.reason) == (AlertState.ACKNOWLEDGED, "known scanner")
    store.resolve(alert.id, by="user:sec")
    deny()
    evaluator.run_once(log.entries)
    assert [a.state for a in store.list()] == [AlertState.OPEN, AlertState.RESOLVED]


def test_ack_needs_a_reason_and_an_alert(db: Database) -> None:
    store = AlertStore(db)
    with pytest.raises(AlertNotFoundError):
        store.resolve(42, by="user:x")
    log = AuditLog(db, witness=None)
    _denied(log, "sha256:aa", "x")
    Evaluator(db, builtin_rules(), PlainText()).run_once(log.entries)
    (alert,) = store.list()
    with pytest.raises(MonitorError, match="needs a reason"):
        store.acknowledge(alert.id, by="user:x", reason="  ")
    store.resolve(alert.id, by="user:x")
    with pytest.raises(MonitorError, match="already resolved"):
        store.resolve(alert.id, by="user:x")


def test_the_baseline_survives_a_new_evaluator(db: Database) -> None:
    log = AuditLog(db, witness=None)

    def req(host: str) -> None:
        log.append(AuditEvent("bastion", "egress.request", "run/1/job/b",
                              details={"repo": "acme", "job": "b", "host": host}))  # fmt: skip

    req("pypi.org")
    Evaluator(db, builtin_rules(), PlainText()).run_once(log.entries)
    req("pypi.org")
    req("evil.example")
    report = Evaluator(db, builtin_rules(), PlainText()).run_once(log.entries)
    assert [a.title for a in AlertStore(db).list()] == [
        "job b of acme reached new host evil.example"
    ]
    assert len(report.opened) == 1
