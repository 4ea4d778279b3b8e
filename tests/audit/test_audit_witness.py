"""The witness: checkpoints kept where a database writer cannot reach (issue 22, point 3).

The attacker here can write the database and knows the package's hashing: they rewrite
bodies, recompute every leaf, ``audit_nodes`` and ``audit_head``, and delete checkpoints.
"""

from __future__ import annotations

import base64
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bastion.audit import (
    AuditLog,
    AuditTamperError,
    Checkpoint,
    Ed25519NoteSigner,
    TamperKind,
    open_local_log,
)
from bastion.audit.log import HOME_WITNESS
from bastion.audit.merkle import PackedTree, leaf_hash
from bastion.audit.witness import (
    WITNESS_DIR_NAME,
    WitnessDirectory,
    WitnessFile,
    witness_file_name,
)
from bastion.errors import AuditError
from bastion.store import Database

from .conftest import NOW, T0, make_events
from .test_audit_tamper import body_of, sql

SIZE = 12


def recompute(db: Database) -> None:
    """What a careful attacker does after editing events: rebuild every derived hash."""
    with db.engine.connect() as conn:
        seqs = [
            int(r[0]) for r in conn.exec_driver_sql("SELECT seq FROM audit_events ORDER BY seq")
        ]
    leaves = [leaf_hash(body_of(db, seq).encode()) for seq in seqs]
    tree = PackedTree(leaves)
    with db.engine.begin() as conn:
        for seq, leaf in zip(seqs, leaves, strict=True):
            conn.exec_driver_sql(
                "UPDATE audit_events SET leaf_hash = :h WHERE seq = :s", {"h": leaf, "s": seq}
            )
        conn.exec_driver_sql("DELETE FROM audit_nodes")
        for level in range(1, len(tree.levels)):
            for idx in range(len(tree.levels[level]) // 32):
                conn.exec_driver_sql(
                    "INSERT INTO audit_nodes (level, idx, hash) VALUES (:l, :i, :h)",
                    {"l": level, "i": idx, "h": tree.perfect(level, idx)},
                )
        conn.exec_driver_sql(
            "UPDATE audit_head SET size = :n, edge = :e WHERE id = 1",
            {"n": tree.size, "e": tree.edge().to_bytes()},
        )


def two_checkpoints(log: AuditLog) -> None:
    log.append_many(make_events(SIZE // 2))
    log.checkpoint()
    log.append_many(make_events(SIZE - SIZE // 2, start=SIZE // 2))
    log.checkpoint()
    assert log.verify(now=NOW).ok


def unwitnessed(log: AuditLog) -> AuditLog:
    """The same log verified the old way: no witness."""
    return AuditLog(log.db, log.signer, witness=None)


def failure(log: AuditLog) -> AuditTamperError:
    with pytest.raises(AuditTamperError) as info:
        log.verify(now=NOW)
    assert info.value.exit_code == 1
    return info.value


# -- the three rewrites of issue 22 point 3 ------------------------------------------------


def test_rewritten_event_with_every_checkpoint_deleted_is_caught(
    log: AuditLog, db: Database
) -> None:
    two_checkpoints(log)
    sql(db, "UPDATE audit_events SET body = replace(body, 'user0', 'mallory') WHERE seq = 3")
    sql(db, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
    recompute(db)
    sql(db, "DELETE FROM audit_checkpoints")
    # Events dated "now" so that only the witness, not the age rule, can tell.
    now = T0 + timedelta(seconds=SIZE)
    assert unwitnessed(log).verify(now=now).ok  # the attack as reported: "OK, 0 checkpoints"
    report = log.inspect(now=now)
    assert (report.problems[0].kind, report.problems[0].seq) == (TamperKind.CHANGED, 0)
    assert "no longer hash to the witnessed checkpoint 1" in report.problems[0].message


def test_tail_truncated_to_the_first_checkpoint_is_caught(log: AuditLog, db: Database) -> None:
    two_checkpoints(log)
    sql(db, "DELETE FROM audit_events WHERE seq >= 6")
    sql(db, "DELETE FROM audit_checkpoints WHERE id = 2")
    recompute(db)
    assert unwitnessed(log).verify(now=NOW).ok
    error = failure(log)
    assert (error.reason, error.seq) == (TamperKind.DELETED, 6)
    assert "witnessed checkpoint 2 signed 12 events, the log holds 6" in error.message


def test_forged_event_after_the_last_checkpoint_is_caught(log: AuditLog, db: Database) -> None:
    two_checkpoints(log)
    forged = make_events(1, start=SIZE)[0]
    assert forged.time is not None
    sql(
        db,
        "INSERT INTO audit_events (seq, time, actor, action, subject, outcome, body, leaf_hash) "
        "VALUES (:q, :t, :a, :c, :s, :o, :b, zeroblob(32))",
        {
            "q": SIZE,
            "t": forged.time.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "a": forged.actor,
            "c": forged.action,
            "s": forged.subject,
            "o": forged.outcome.value,
            "b": forged.body(SIZE, forged.time),
        },
    )
    recompute(db)
    later = T0 + timedelta(days=2)
    report = log.inspect(now=later, max_unsealed_age=None)
    assert (report.ok, report.unsealed) == (True, 1)  # the attack as reported: "1 not yet"
    error = failure_at(log, later)
    assert (error.reason, error.seq) == (TamperKind.UNSEALED, SIZE)
    assert "1 event(s) from seq 12 are covered by no checkpoint" in error.message
    assert "more than 24 h ago" in error.message


def failure_at(log: AuditLog, now: datetime) -> AuditTamperError:
    with pytest.raises(AuditTamperError) as info:
        log.verify(now=now)
    return info.value


# -- the witness itself ----------------------------------------------------------------------


def test_every_checkpoint_lands_in_the_home_witness(log: AuditLog, db: Database) -> None:
    assert log.witness is HOME_WITNESS
    two_checkpoints(log)
    first = leaf_hash(body_of(db, 0).encode())
    path = Path(os.environ["BASTION_HOME"]) / WITNESS_DIR_NAME
    path /= witness_file_name(log.origin, first)
    assert log.witness_file() == WitnessFile(path)
    lines = path.read_text().splitlines()
    notes = [base64.b64decode(line).decode() for line in lines]
    with db.engine.connect() as conn:
        stored = [r[0] for r in conn.exec_driver_sql("SELECT note FROM audit_checkpoints")]
    assert notes == stored
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    log.checkpoint()  # same size: nothing new to sign, nothing new to witness
    assert len(path.read_text().splitlines()) == 2
    report = log.verify(now=NOW)
    assert (report.witness, report.witnessed) == (str(path), 2)
    assert report.to_json()["witness"] == str(path)


def test_a_crash_before_witnessing_is_caught_up(log: AuditLog, db: Database) -> None:
    log.append_many(make_events(3))
    log.checkpoint()
    witness = log.witness_file()
    assert witness is not None
    witness.path.unlink()  # as if the process died between the commit and the append
    assert failure(log).reason is TamperKind.WITNESS
    latest = log.checkpoint()
    assert witness.read() == [latest.note]
    assert log.verify(now=NOW).ok


def test_missing_witness_fails_with_the_way_out(log: AuditLog) -> None:
    log.append_many(make_events(3))
    log.checkpoint()
    witness = log.witness_file()
    assert witness is not None
    witness.path.unlink()
    error = failure(log)
    assert error.reason is TamperKind.WITNESS
    assert f"no witness of this log at {witness.path}" in error.message
    assert "--no-witness" in error.message
    assert unwitnessed(log).verify(now=NOW).ok


def test_checkpoints_deleted_but_events_kept_are_caught(log: AuditLog, db: Database) -> None:
    two_checkpoints(log)
    sql(db, "DELETE FROM audit_checkpoints WHERE id = 2")
    error = failure(log)
    assert error.reason is TamperKind.CHECKPOINT
    assert "the witness holds one of size 12, the newest valid one stored is size 6" in (
        error.message
    )


def test_forged_witness_line_is_named(log: AuditLog) -> None:
    two_checkpoints(log)
    witness = log.witness_file()
    assert witness is not None
    note = log.latest_checkpoint()
    assert note is not None
    witness.append(note.note.replace("\n12\n", "\n11\n"))
    other = Ed25519NoteSigner.generate(log.origin)
    witness.append(Checkpoint.sign(log.origin, SIZE, note.root, other).note)
    report = log.inspect(now=NOW)
    assert [(p.kind, p.message.split(":")[0]) for p in report.problems] == [
        (TamperKind.CHECKPOINT, "witnessed checkpoint 3"),
        (TamperKind.CHECKPOINT, "witnessed checkpoint 4"),
    ]
    assert "does not verify" in report.problems[0].message
    assert "not signed by a trusted key" in report.problems[1].message


def test_checkpoint_refuses_to_sign_a_history_the_witness_contradicts(
    log: AuditLog, db: Database
) -> None:
    two_checkpoints(log)
    sql(db, "DELETE FROM audit_events WHERE seq >= 6")
    sql(db, "DELETE FROM audit_checkpoints WHERE id = 2")
    recompute(db)
    with pytest.raises(AuditTamperError) as info:
        log.checkpoint()
    assert info.value.reason is TamperKind.DELETED
    log.append_many(make_events(8, start=50))  # longer again, but not the signed history
    with pytest.raises(AuditTamperError) as info:
        log.checkpoint()
    assert info.value.reason is TamperKind.INCONSISTENT
    with db.engine.connect() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM audit_checkpoints").scalar_one()
    assert count == 1


# -- the age rule ------------------------------------------------------------------------


def test_uncheckpointed_events_are_tolerated_only_within_the_interval(log: AuditLog) -> None:
    log.append_many(make_events(4))
    log.checkpoint()
    log.append_many(make_events(2, start=4))
    assert log.verify(now=T0 + timedelta(hours=23)).unsealed == 2
    error = failure_at(log, T0 + timedelta(hours=25))
    assert (error.reason, error.seq) == (TamperKind.UNSEALED, 4)
    assert log.verify(now=T0 + timedelta(hours=25), max_unsealed_age=timedelta(days=2)).ok
    error = failure_at(log, T0 - timedelta(hours=1))
    assert "dated in the future" in error.message


def test_events_and_no_checkpoint_at_all_fail_once_old(log: AuditLog) -> None:
    log.append_many(make_events(3))
    assert log.verify(now=NOW).ok  # a first run still going, or one that crashed just now
    error = failure_at(log, T0 + timedelta(days=3))
    assert (error.reason, error.seq) == (TamperKind.UNSEALED, 0)


# -- the file ------------------------------------------------------------------------------


def test_witness_file_appends_private_lines(tmp_path: Path) -> None:
    witness = WitnessFile(tmp_path / "sub" / "log.witness")
    assert witness.read() is None
    assert witness.last() is None
    witness.append("a\nb\n\n— k x\n")
    assert witness.append_new(["a\nb\n\n— k x\n", "c\n\n— k y\n"]) == 1
    assert witness.read() == ["a\nb\n\n— k x\n", "c\n\n— k y\n"]
    assert witness.last() == "c\n\n— k y\n"
    assert stat.S_IMODE(witness.path.stat().st_mode) == 0o600
    assert "\n" not in witness.path.read_text().rstrip("\n").replace("\n", "", 1)


def test_witness_file_refuses_a_planted_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    link = tmp_path / "log.witness"
    link.symlink_to(target)
    witness = WitnessFile(link)
    with pytest.raises(AuditError, match="symbolic link"):
        witness.append("a\n\n— k x\n")
    with pytest.raises(AuditError, match="symbolic link"):
        witness.read()
    assert target.read_text() == ""


def test_witness_file_refuses_a_group_writable_file(tmp_path: Path) -> None:
    path = tmp_path / "log.witness"
    path.write_text("")
    path.chmod(0o620)
    with pytest.raises(AuditError, match="not a private regular file"):
        WitnessFile(path).append("a\n\n— k x\n")
    assert path.read_text() == ""


def test_damaged_witness_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "log.witness"
    path.write_text(base64.b64encode(b"a\n").decode() + "\nnot base64!\n")
    with pytest.raises(AuditError, match=r"log.witness:2: not a witness line"):
        WitnessFile(path).read()


def test_directory_names_one_file_per_log(tmp_path: Path) -> None:
    directory = WitnessDirectory(tmp_path)
    a = directory.locate("bastion.local/audit", b"\x01" * 32)
    b = directory.locate("bastion.local/audit", b"\x02" * 32)
    assert a is not None
    assert b is not None
    assert a.path.parent == tmp_path
    assert a.path != b.path
    assert a.path.name == "bastion.local_audit.01010101010101010101010101010101.witness"
    assert directory.locate("bastion.local/audit", None) is None


def test_the_local_log_is_witnessed_beside_its_key(db: Database, tmp_path: Path) -> None:
    home = tmp_path / "home"
    log, _ = open_local_log(db, home)
    log.append_many(make_events(2))
    log.checkpoint()
    witness = log.witness_file()
    assert witness is not None
    assert witness.path.parent == home / WITNESS_DIR_NAME
    assert len(witness.read() or []) == 1
