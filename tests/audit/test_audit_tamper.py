"""Tampering with the database (change, delete, reorder, insert) is detected and named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.audit import AuditLog, AuditTamperError, Ed25519NoteSigner, TamperKind
from bastion.audit.merkle import PackedTree, leaf_hash
from bastion.audit.report import AuditVerificationReport
from bastion.audit.witness import WitnessFile
from bastion.store import Database, open_database, sqlite_url

from .conftest import make_events

SIZE = 12


def sql(db: Database, statement: str, params: dict[str, Any] | None = None) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(statement, params or {})


def body_of(db: Database, seq: int) -> str:
    with db.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT body FROM audit_events WHERE seq = :s", {"s": seq}).one()
    return str(row[0])


def rewrite(db: Database, seq: int, *, leaf_too: bool) -> None:
    """Change event ``seq``'s actor everywhere a careless (or careful) tamperer would."""
    data = json.loads(body_of(db, seq))
    data["actor"] = "mallory"
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    sql(
        db,
        "UPDATE audit_events SET body = :b, actor = 'mallory' WHERE seq = :s",
        {"b": body, "s": seq},
    )
    if leaf_too:
        sql(
            db,
            "UPDATE audit_events SET leaf_hash = :h WHERE seq = :s",
            {"h": leaf_hash(body.encode()), "s": seq},
        )


def shift(db: Database, from_seq: int, by: int) -> None:
    """Renumber events ``>= from_seq`` by ``by`` (two steps: seq is the primary key)."""
    sql(db, "UPDATE audit_events SET seq = seq + 1000000 WHERE seq >= :s", {"s": from_seq})
    sql(db, "UPDATE audit_events SET seq = seq - 1000000 + :b WHERE seq >= 1000000", {"b": by})


def sealed_log(log: AuditLog, size: int = SIZE) -> None:
    log.append_many(make_events(size // 2))
    log.checkpoint()
    log.append_many(make_events(size - size // 2, start=size // 2))
    log.checkpoint()
    assert log.verify().ok


def first_problem(log: AuditLog) -> tuple[TamperKind, int | None, AuditVerificationReport]:
    with pytest.raises(AuditTamperError) as info:
        log.verify()
    report = log.inspect()
    assert not report.ok
    assert info.value.reason is report.problems[0].kind
    assert info.value.exit_code == 1
    return info.value.reason, info.value.seq, report


@pytest.mark.parametrize("seq", [0, 5, SIZE - 1])
def test_changed_body_is_named(log: AuditLog, db: Database, seq: int) -> None:
    sealed_log(log)
    sql(
        db,
        "UPDATE audit_events SET body = replace(body, 'user', 'USER') WHERE seq = :s",
        {"s": seq},
    )
    kind, where, report = first_problem(log)
    assert (kind, where) == (TamperKind.CHANGED, seq)
    assert f"event {seq} was changed" in report.problems[0].message


def test_changed_column_is_named(log: AuditLog, db: Database) -> None:
    sealed_log(log)
    sql(db, "UPDATE audit_events SET outcome = 'success', action = 'key.added' WHERE seq = 4")
    kind, where, report = first_problem(log)
    assert (kind, where) == (TamperKind.CHANGED, 4)
    assert "action column" in report.problems[0].message


def test_body_and_leaf_rewritten_together_is_pinned_by_stored_nodes(
    log: AuditLog, db: Database
) -> None:
    sealed_log(log)
    rewrite(db, 5, leaf_too=True)
    kind, where, report = first_problem(log)
    assert kind is TamperKind.CHANGED
    assert (report.problems[0].seq, report.problems[0].end) == (4, 6)
    assert where == 4
    messages = " ".join(p.message for p in report.problems)
    assert "checkpoint #1" in messages  # the first checkpoint covers 0..5 and no longer matches


def test_full_rewrite_of_derived_data_is_caught_by_signed_checkpoints(
    log: AuditLog, db: Database
) -> None:
    sealed_log(log)
    rewrite(db, 8, leaf_too=True)
    sql(db, "DELETE FROM audit_nodes")  # a careful tamperer rebuilds nodes and head...
    tampered = [leaf_hash(body_of(db, s).encode()) for s in range(SIZE)]
    tree = PackedTree(tampered)
    with db.engine.begin() as conn:
        for level in range(1, len(tree.levels)):
            for idx in range(len(tree.levels[level]) // 32):
                conn.exec_driver_sql(
                    "INSERT INTO audit_nodes (level, idx, hash) VALUES (:l, :i, :h)",
                    {"l": level, "i": idx, "h": tree.perfect(level, idx)},
                )
        conn.exec_driver_sql(
            "UPDATE audit_head SET edge = :e WHERE id = 1", {"e": tree.edge().to_bytes()}
        )
    kind, where, report = first_problem(log)
    # ...but cannot re-sign: the second checkpoint (size 12) fails, the first (size 6) holds.
    assert (kind, where, report.problems[0].end) == (TamperKind.CHANGED, 6, SIZE)
    assert "checkpoint #2" in report.problems[0].message
    assert report.checkpoint_size == 6


@pytest.mark.parametrize("seq", [0, 3, 7])
def test_deleted_event_is_named(log: AuditLog, db: Database, seq: int) -> None:
    sealed_log(log)
    sql(db, "DELETE FROM audit_events WHERE seq = :s", {"s": seq})
    kind, where, _ = first_problem(log)
    assert (kind, where) == (TamperKind.DELETED, seq)


def test_deleted_and_renumbered_is_named(log: AuditLog, db: Database) -> None:
    sealed_log(log)
    sql(db, "DELETE FROM audit_events WHERE seq = 4")
    shift(db, 5, -1)
    kind, where, report = first_problem(log)
    assert (kind, where) == (TamperKind.DELETED, 4)
    assert "renumbered" in report.problems[0].message


def test_deleted_tail_is_caught_by_the_checkpoint(log: AuditLog, db: Database) -> None:
    sealed_log(log)
    sql(db, "DELETE FROM audit_events WHERE seq >= 9")
    sql(db, "DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > 9")
    kind, where, report = first_problem(log)
    assert (kind, where) == (TamperKind.DELETED, 9)
    assert any("checkpoint #2 signed 12 events" in p.message for p in report.problems)


def test_reordered_events_are_named(log: AuditLog, db: Database) -> None:
    sealed_log(log)
    shift(db, 3, 1000)
    sql(db, "UPDATE audit_events SET seq = 3 WHERE seq = 1010")
    sql(db, "UPDATE audit_events SET seq = 10 WHERE seq = 1003")
    shift(db, 1000, -1000)
    kind, where, report = first_problem(log)
    assert (kind, where) == (TamperKind.REORDERED, 3)
    assert "seq 3 holds event 10" in report.problems[0].message


def test_inserted_event_is_named(log: AuditLog, db: Database, signer: Ed25519NoteSigner) -> None:
    sealed_log(log)
    shift(db, 6, 1)
    forged = make_events(1, start=99)[0]
    assert forged.time is not None
    body = forged.body(6, forged.time)
    sql(
        db,
        "INSERT INTO audit_events (seq, time, actor, action, subject, outcome, body, leaf_hash) "
        "VALUES (6, '2026-01-02 03:04:05.678901', :a, :c, :s, :o, :b, :h)",
        {
            "a": forged.actor,
            "c": forged.action,
            "s": forged.subject,
            "o": forged.outcome.value,
            "b": body,
            "h": leaf_hash(body.encode()),
        },
    )
    kind, where, report = first_problem(log)
    assert (kind, where) == (TamperKind.INSERTED, 6)
    assert "inserted at seq 6" in report.problems[0].message


def test_event_appended_behind_the_logs_back_is_named(log: AuditLog, db: Database) -> None:
    sealed_log(log)
    body = body_of(db, 11).replace('"seq":11', '"seq":12')
    sql(
        db,
        "INSERT INTO audit_events SELECT 12, time, actor, action, subject, outcome, :b, :h "
        "FROM audit_events WHERE seq = 11",
        {"b": body, "h": leaf_hash(body.encode())},
    )
    kind, where, _ = first_problem(log)
    assert (kind, where) == (TamperKind.INSERTED, 12)


def test_forged_checkpoint_is_named(log: AuditLog, db: Database) -> None:
    sealed_log(log)
    sql(db, "UPDATE audit_checkpoints SET note = replace(note, '\n12\n', '\n11\n') WHERE id = 2")
    kind, _, report = first_problem(log)
    assert kind is TamperKind.CHECKPOINT
    assert "checkpoint #2" in report.problems[0].message
    assert "does not verify" in report.problems[0].message


def test_checkpoint_columns_and_head_and_nodes_are_checked(log: AuditLog, db: Database) -> None:
    sealed_log(log)
    sql(db, "UPDATE audit_checkpoints SET size = 3 WHERE id = 1")
    sql(db, "INSERT INTO audit_nodes (level, idx, hash) VALUES (9, 9, zeroblob(32))")
    sql(db, "DELETE FROM audit_nodes WHERE level = 2")
    kind, _, report = first_problem(log)
    assert kind is TamperKind.INDEX
    text = " ".join(p.message for p in report.problems)
    assert "columns differ" in text
    assert "outside the tree" in text
    assert "missing" in text


def test_checkpoint_of_another_key_is_rejected(db: Database, log: AuditLog) -> None:
    sealed_log(log)
    other = AuditLog(db, Ed25519NoteSigner.generate("test.local/audit"))
    kind, _, report = first_problem(other)
    assert kind is TamperKind.CHECKPOINT
    assert "not signed by a trusted key" in report.problems[0].message


def test_head_row_missing_is_reported(log: AuditLog, db: Database) -> None:
    sealed_log(log)
    sql(db, "DELETE FROM audit_head")
    kind, _, _ = first_problem(log)
    assert kind is TamperKind.INDEX
    with pytest.raises(AuditTamperError):
        log.size()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    size=st.integers(2, 40),
    data=st.data(),
    how=st.sampled_from(["change", "delete", "rewrite"]),
)
def test_any_single_event_tamper_is_detected(
    tmp_path: Path, size: int, data: st.DataObject, how: str
) -> None:
    seq = data.draw(st.integers(0, size - 1))
    db = open_database(sqlite_url(tmp_path / f"p{size}-{seq}-{how}.db"))
    try:
        # Every example logs the same events: one witness file each, not the home's shared one.
        witness = WitnessFile(tmp_path / f"p{size}-{seq}-{how}.witness")
        log = AuditLog(db, Ed25519NoteSigner.generate("prop.local/audit"), witness=witness)
        sealed_log(log, size)
        if how == "change":
            sql(
                db,
                "UPDATE audit_events SET body = replace(body, 'user', 'x') WHERE seq = :s",
                {"s": seq},
            )
        elif how == "delete":
            sql(db, "DELETE FROM audit_events WHERE seq = :s", {"s": seq})
        else:
            rewrite(db, seq, leaf_too=True)
        report = log.inspect()
        assert not report.ok
        first = report.problems[0]
        assert first.kind is (TamperKind.DELETED if how == "delete" else TamperKind.CHANGED)
        end = first.end if first.end is not None else (first.seq or 0) + 1
        assert first.seq is not None
        assert first.seq <= seq < end
    finally:
        db.dispose()


def test_truncation_with_its_checkpoints_is_caught_by_the_witness(
    log: AuditLog, db: Database, signer: Ed25519NoteSigner
) -> None:
    """Without the witness the database alone cannot show a cut-off tail; with it, it can."""
    sealed_log(log)
    held = log.latest_checkpoint()
    assert held is not None
    sql(db, "DELETE FROM audit_events WHERE seq >= 6")
    sql(db, "DELETE FROM audit_checkpoints WHERE id = 2")
    sql(db, "DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > 6")
    tree = PackedTree([leaf_hash(body_of(db, s).encode()) for s in range(6)])
    sql(db, "UPDATE audit_head SET size = 6, edge = :e WHERE id = 1", {"e": tree.edge().to_bytes()})
    assert AuditLog(db, signer, witness=None).verify().ok
    kind, where, report = first_problem(log)
    assert (kind, where) == (TamperKind.DELETED, 6)
    assert "witnessed checkpoint 2 signed 12 events" in report.problems[0].message
    report = log.inspect([held.note])
    assert any("held checkpoint 1 signed 12 events" in p.message for p in report.problems)
    six = _first_checkpoint(db)
    rewrite(db, 2, leaf_too=True)
    report = log.inspect([six])
    changed = [p for p in report.problems if "held checkpoint 1" in p.message]
    assert (changed[0].kind, changed[0].end) == (TamperKind.CHANGED, 6)
    forged = log.inspect([held.note.replace("\n12\n", "\n6\n")])
    assert any(
        p.kind is TamperKind.CHECKPOINT and "held checkpoint 1" in p.message
        for p in forged.problems
    )


def _first_checkpoint(db: Database) -> str:
    """The signed checkpoint of the first six events, as an outsider would have kept it."""
    with db.engine.connect() as conn:
        note = conn.exec_driver_sql("SELECT note FROM audit_checkpoints WHERE id = 1").scalar_one()
    return str(note)
