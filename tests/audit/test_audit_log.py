"""Appending, checkpointing, proving and reading the audit log on SQLite."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bastion.audit import (
    DEFAULT_ORIGIN,
    AuditEvent,
    AuditLog,
    AuditTamperError,
    Checkpoint,
    Ed25519NoteSigner,
    NoteError,
    TamperKind,
    open_local_log,
    verify_export,
)
from bastion.audit.merkle import PackedTree, leaf_hash
from bastion.errors import AuditError, SigningError
from bastion.store import Database, open_database, sqlite_url

from .conftest import NOW, T0, make_events


def test_append_assigns_consecutive_seqs_and_hashes_the_body(log: AuditLog) -> None:
    first = log.append(make_events(1)[0])
    rest = log.append_many(make_events(4, start=1))
    assert [first.seq] + [e.seq for e in rest] == [0, 1, 2, 3, 4]
    assert first.leaf_hash == leaf_hash(first.body.encode())
    assert json.loads(first.body)["seq"] == 0
    assert first.time == T0
    assert log.size() == 5
    assert log.append_many([]) == []


def test_time_defaults_to_now_and_entries_read_back(log: AuditLog) -> None:
    entry = log.append(AuditEvent(actor="ci", action="run.started", subject="run/9"))
    assert entry.time.tzinfo is not None
    again = log.entry(0)
    assert again.body == entry.body
    assert again.event.actor == "ci"
    assert again.event.time == entry.time
    log.append_many(make_events(3))
    assert [e.seq for e in log.entries(1, 3)] == [1, 2]
    assert [e.seq for e in log.entries()] == [0, 1, 2, 3]
    with pytest.raises(AuditError, match="no audit event 9"):
        log.entry(9)


def test_checkpoint_signs_the_root_once_per_size(log: AuditLog) -> None:
    log.append_many(make_events(5))
    first = log.checkpoint()
    leaves = [leaf_hash(e.body.encode()) for e in log.entries()]
    assert first.size == 5
    assert first.root == PackedTree(leaves).root()
    assert first.note.startswith("test.local/audit\n5\n")
    assert "\n\n\u2014 test.local/audit " in first.note
    assert log.checkpoint() == first
    log.append_many(make_events(3, start=5))
    second = log.checkpoint()
    assert second.size == 8
    assert log.latest_checkpoint() == second


def test_empty_log_checkpoint_and_verify(log: AuditLog) -> None:
    report = log.verify()
    assert report.ok
    assert report.size == 0
    assert report.checkpoint_size is None
    assert log.checkpoint().size == 0
    assert log.latest_checkpoint() is not None


def test_checkpoint_needs_a_signer(db: Database) -> None:
    with pytest.raises(SigningError):
        AuditLog(db).checkpoint()


def test_inclusion_proof_for_every_event_verifies(log: AuditLog) -> None:
    log.append_many(make_events(13))
    checkpoint = log.checkpoint()
    for seq in range(13):
        proof = log.prove(seq)
        assert proof.checkpoint == checkpoint
        proof.verify(log.verifiers)
        assert proof.to_json()["tree_size"] == 13
    with pytest.raises(AuditError, match="not covered"):
        log.prove(13)


def test_proof_against_an_older_checkpoint(log: AuditLog) -> None:
    log.append_many(make_events(6))
    old = log.checkpoint()
    log.append_many(make_events(10, start=6))
    log.checkpoint()
    proof = log.prove(4, old)
    assert proof.checkpoint.size == 6
    proof.verify(log.verifiers)


def test_prove_needs_a_checkpoint(log: AuditLog) -> None:
    log.append_many(make_events(2))
    with pytest.raises(AuditError, match="no checkpoint"):
        log.prove(0)
    with pytest.raises(AuditError, match="no checkpoint"):
        log.prove_consistency(Checkpoint("x", 0, b"\0" * 32, ""))


def test_forged_proof_is_rejected(log: AuditLog) -> None:
    log.append_many(make_events(9))
    log.checkpoint()
    proof = log.prove(3)
    forged = type(proof)(3, proof.body.replace("user0", "mallory"), proof.path, proof.checkpoint)
    with pytest.raises(AuditTamperError) as info:
        forged.verify(log.verifiers)
    assert info.value.reason is TamperKind.CHANGED
    stranger = Ed25519NoteSigner.generate("test.local/audit").verifier()
    with pytest.raises(NoteError):
        proof.verify([stranger])


@pytest.mark.parametrize(("old_size", "new_size"), [(1, 2), (3, 8), (5, 13), (8, 8), (0, 4)])
def test_older_checkpoint_is_consistent_with_newer(
    log: AuditLog, old_size: int, new_size: int
) -> None:
    log.append_many(make_events(old_size))
    old = log.checkpoint()
    log.append_many(make_events(new_size - old_size, start=old_size))
    new = log.checkpoint()
    proof = log.prove_consistency(old)
    assert proof.new == new
    proof.verify(log.verifiers)
    assert proof.to_json()["old_size"] == old_size
    bad = type(proof)(old, new, tuple(reversed(proof.path)))
    if len(proof.path) > 1:
        with pytest.raises(AuditTamperError):
            bad.verify(log.verifiers)
    if old_size != new_size:
        with pytest.raises(AuditError, match="newer"):
            log.prove_consistency(new, old)


def test_checkpoint_refuses_to_sign_a_rewritten_history(log: AuditLog, db: Database) -> None:
    log.append_many(make_events(6))
    log.checkpoint()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_nodes SET hash = zeroblob(32) WHERE level = 1")
    log.append_many(make_events(1, start=6))
    with pytest.raises(AuditTamperError) as info:
        log.checkpoint()
    assert info.value.reason is TamperKind.INCONSISTENT


def test_two_logs_on_one_database_share_one_sequence(
    db: Database, signer: Ed25519NoteSigner
) -> None:
    a, b = AuditLog(db, signer), AuditLog(db, signer)
    a.append_many(make_events(3))
    assert b.append(make_events(1)[0]).seq == 3
    assert a.verify(now=NOW).ok


def test_export_round_trips_through_verify_export(log: AuditLog) -> None:
    log.append_many(make_events(7))
    log.checkpoint()
    log.append_many(make_events(3, start=7))
    log.checkpoint()
    buffer = io.StringIO()
    assert log.export(buffer) == 1 + 10 + 2
    report = verify_export(buffer.getvalue().splitlines(), log.verifiers)
    assert report.ok
    assert report.size == 10
    assert report.checkpoints == 2
    assert report.root == log.verify().root


def test_concurrent_appenders_get_one_consistent_sequence(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "shared.db")
    signer = Ed25519NoteSigner.generate("test.local/audit")
    databases = [open_database(url) for _ in range(3)]
    try:
        logs = [AuditLog(db, signer) for db in databases]

        def work(log: AuditLog, offset: int) -> tuple[list[int], int]:
            seqs = [log.append(e).seq for e in make_events(15, start=offset)]
            size = log.checkpoint().size
            return seqs + [e.seq for e in log.append_many(make_events(10, start=offset))], size

        with ThreadPoolExecutor(3) as pool:
            results = list(pool.map(work, logs, [0, 100, 200]))
        assert sorted(seq for seqs, _ in results for seq in seqs) == list(range(75))
        report = logs[0].verify(now=NOW)
        assert report.ok
        assert report.size == 75
        # One checkpoint per size signed: two threads checkpointing with no append between
        # them share one (it was ">= 3", which such an interleaving failed).
        assert report.checkpoints == len({size for _, size in results})
    finally:
        for db in databases:
            db.dispose()


def test_open_local_log_creates_the_key_once(db: Database, tmp_path: Path) -> None:
    log, created = open_local_log(db, tmp_path / "home")
    assert created
    assert log.origin == DEFAULT_ORIGIN
    again, created_again = open_local_log(db, tmp_path / "home")
    assert not created_again
    log.append(make_events(1)[0])
    log.checkpoint()
    assert again.verify().checkpoint_size == 1
