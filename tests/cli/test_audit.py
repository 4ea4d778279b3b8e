"""`bastion audit verify|prove|export|vkey` as a user types them."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.audit import (
    DEFAULT_ORIGIN,
    AuditEvent,
    AuditLog,
    AuditTamperError,
    key_path,
    load_or_create_signer,
)
from bastion.audit.merkle import PackedTree, leaf_hash
from bastion.cli.audit import register
from bastion.errors import AuditError, SigningError, UsageError
from bastion.store import open_database, sqlite_url

BASTION = str(Path(sys.executable).with_name("bastion"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("BASTION_HOME", str(path))
    return path


@pytest.fixture
def db_url(tmp_path: Path, home: Path) -> str:
    """A state database with 9 events, 7 of them under a checkpoint signed by the home key."""
    url = sqlite_url(tmp_path / "state.db")
    signer, created = load_or_create_signer(key_path(home), DEFAULT_ORIGIN)
    assert created
    db = open_database(url)
    log = AuditLog(db, signer)
    log.append_many(
        AuditEvent(actor="ci", action="job.finished", subject=f"run/1/job/{i}") for i in range(7)
    )
    log.checkpoint()
    log.append_many(
        AuditEvent(actor="ci", action="job.finished", subject=f"run/2/job/{i}") for i in range(2)
    )
    db.dispose()
    return url


def invoke(*args: str) -> typer.testing.Result:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Keep `audit` a sub-command."""

    return CliRunner().invoke(app, ["audit", *args])


def tamper(db_url: str) -> None:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")


def test_verify_ok_text_and_json(db_url: str) -> None:
    result = invoke("verify", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "audit log OK: 9 events" in result.stdout
    assert "2 not yet checkpointed" in result.stdout
    result = invoke("verify", "--db", db_url, "--json")
    report = json.loads(result.stdout)
    assert (report["ok"], report["size"], report["checkpoint_size"]) == (True, 9, 7)


def test_verify_names_tampering(db_url: str) -> None:
    tamper(db_url)
    result = invoke("verify", "--db", db_url, "--json")
    assert isinstance(result.exception, AuditTamperError)
    assert result.exception.seq == 2
    report = json.loads(result.stdout)
    assert report["problems"][0]["reason"] == "changed"
    assert report["problems"][0]["seq"] == 2
    result = invoke("verify", "--db", db_url)
    assert "TAMPERED" in result.stdout
    assert "changed: event 2 was changed: its actor column" in result.stdout


def test_verify_without_trusted_key_fails_closed(db_url: str, home: Path) -> None:
    key_path(home).unlink()
    result = invoke("verify", "--db", db_url)
    assert isinstance(result.exception, AuditTamperError)
    assert "not signed by a trusted key" in result.stdout


def test_prove(db_url: str) -> None:
    result = invoke("prove", "4", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    proof = json.loads(result.stdout)
    assert (proof["seq"], proof["tree_size"], len(proof["path"])) == (4, 7, 3)
    result = invoke("prove", "4", "--db", db_url)
    assert "event 4 is leaf 4 of 7" in result.stdout
    result = invoke("prove", "8", "--db", db_url)
    assert isinstance(result.exception, UsageError)
    assert "covers 7 events" in result.exception.message


def test_export_and_verify_export_with_vkey(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    result = invoke("export", "--db", db_url, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 1 + 9 + 1
    vkey = invoke("vkey").stdout.strip()
    assert vkey.startswith(f"{DEFAULT_ORIGIN}+")
    (tmp_path / "trusted").write_text(vkey + "\n")
    for given in (vkey, f"@{tmp_path / 'trusted'}"):
        result = invoke("verify", "--export", str(out), "--vkey", given)
        assert result.exit_code == 0, result.output
    stdout = invoke("export", "--db", db_url).stdout
    assert stdout.splitlines()[1:] == out.read_text().splitlines()[1:]


def test_bad_input_is_named(db_url: str, tmp_path: Path) -> None:
    result = invoke("verify", "--db", db_url, "--vkey", "nonsense")
    assert isinstance(result.exception, UsageError)
    assert result.exception.message.startswith("--vkey:1:")
    result = invoke("verify", "--db", db_url, "--vkey", f"@{tmp_path / 'missing'}")
    assert isinstance(result.exception, UsageError)
    result = invoke("verify", "--export", str(tmp_path / "missing"))
    assert isinstance(result.exception, UsageError)
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    result = invoke("verify", "--export", str(tmp_path / "binary"))
    assert isinstance(result.exception, UsageError)
    result = invoke("export", "--db", db_url, "-o", str(tmp_path / "no" / "dir" / "x"))
    assert isinstance(result.exception, UsageError)
    assert not (tmp_path / "no").exists()


def test_vkey_without_key(home: Path) -> None:
    result = invoke("vkey")
    assert isinstance(result.exception, SigningError)


def test_exit_codes_end_to_end(db_url: str, home: Path) -> None:
    env = {"BASTION_HOME": str(home), "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BASTION, "audit", *args, "--db", db_url],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    assert run("verify").returncode == 0
    assert run("prove", "99").returncode == 2
    tamper(db_url)
    failed = run("verify")
    assert failed.returncode == 1
    assert "error: event 2 was changed" in failed.stderr


def test_verify_against_a_held_checkpoint(db_url: str, tmp_path: Path) -> None:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        note = conn.execute("SELECT note FROM audit_checkpoints").fetchone()[0]
        conn.execute("DELETE FROM audit_checkpoints")
    held = tmp_path / "checkpoint.txt"
    held.write_text(note)
    result = invoke("verify", "--db", db_url, "--checkpoint", str(held))
    assert isinstance(result.exception, AuditTamperError)  # the witness saw them deleted
    assert "checkpoints were deleted from the database" in result.stdout
    result = invoke("verify", "--db", db_url, "--checkpoint", str(held), "--no-witness")
    assert result.exit_code == 0, result.output
    assert "witness: not checked" in result.stdout
    assert "--no-witness" in result.stderr
    out = tmp_path / "audit.jsonl"
    invoke("export", "--db", db_url, "-o", str(out))
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:4]) + "\n")
    result = invoke("verify", "--export", str(out), "--checkpoint", str(held))
    assert isinstance(result.exception, AuditTamperError)
    assert "held checkpoint 1 signed 7 events, the log holds 3" in result.stdout
    result = invoke("verify", "--db", db_url, "--checkpoint", str(tmp_path / "missing"))
    assert isinstance(result.exception, UsageError)


def forge_event_after_the_checkpoint(db_url: str) -> None:
    """Attack 3: a forged event dated two days ago, every derived hash recomputed."""
    db = open_database(db_url)
    try:
        time = datetime.now(UTC) - timedelta(days=2)
        event = AuditEvent(actor="mallory", action="deploy.approved", subject="run/0", time=time)
        body = event.body(9, time)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO audit_events (seq, time, actor, action, subject, outcome, body, "
                "leaf_hash) VALUES (9, :t, 'mallory', 'deploy.approved', 'run/0', 'success', "
                ":b, :h)",
                {"t": time.strftime("%Y-%m-%d %H:%M:%S.%f"), "b": body, "h": b""},
            )
            bodies = [str(r[0]) for r in conn.exec_driver_sql("SELECT body FROM audit_events")]
            tree = PackedTree([leaf_hash(b.encode()) for b in bodies])
            conn.exec_driver_sql(
                "UPDATE audit_events SET leaf_hash = :h WHERE seq = 9", {"h": tree.perfect(0, 9)}
            )
            conn.exec_driver_sql("DELETE FROM audit_nodes")
            for level in range(1, len(tree.levels)):
                for idx in range(len(tree.levels[level]) // 32):
                    conn.exec_driver_sql(
                        "INSERT INTO audit_nodes (level, idx, hash) VALUES (:l, :i, :h)",
                        {"l": level, "i": idx, "h": tree.perfect(level, idx)},
                    )
            conn.exec_driver_sql(
                "UPDATE audit_head SET size = 10, edge = :e", {"e": tree.edge().to_bytes()}
            )
    finally:
        db.dispose()


def test_forged_event_past_the_interval_exits_1(db_url: str) -> None:
    forge_event_after_the_checkpoint(db_url)
    result = invoke("verify", "--db", db_url, "--json")
    assert isinstance(result.exception, AuditTamperError)
    assert result.exception.reason.value == "unsealed"
    problems = json.loads(result.stdout)["problems"]
    assert [p["reason"] for p in problems] == ["unsealed"]
    assert "from seq 7 are covered by no checkpoint" in problems[0]["message"]
    result = invoke("verify", "--db", db_url, "--max-unsealed-age", str(3 * 86400))
    assert result.exit_code == 0, result.output
    assert "3 not yet checkpointed" in result.stdout


def test_witness_prints_and_pushes(db_url: str, tmp_path: Path) -> None:
    result = invoke("witness", "--db", db_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        note = conn.execute("SELECT note FROM audit_checkpoints").fetchone()[0]
    assert [base64.b64decode(line).decode() for line in lines] == [note]
    remote = tmp_path / "remote" / "bastion.witness"
    result = invoke("witness", "--db", db_url, "--push", remote.as_uri())
    assert result.exit_code == 0, result.output
    assert "appended 1 new checkpoint(s)" in result.stderr
    result = invoke("witness", "--db", db_url, "-o", str(remote))
    assert "appended 0 new checkpoint(s)" in result.stderr
    assert remote.read_text().splitlines() == lines
    # The home witness lost: the remote copy still catches a truncation.
    witness_dir = Path(os.environ["BASTION_HOME"]) / "audit-witness"
    for path in witness_dir.iterdir():
        path.unlink()
    result = invoke("verify", "--db", db_url)
    assert isinstance(result.exception, AuditTamperError)
    assert result.exception.reason.value == "witness"
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM audit_checkpoints")
    result = invoke("verify", "--db", db_url, "--witness", remote.as_uri())
    assert isinstance(result.exception, AuditTamperError)
    assert "checkpoints were deleted from the database" in result.stdout


def test_witness_bad_input(db_url: str, tmp_path: Path) -> None:
    for args in (
        ("--push", "https://witness.example/"),
        ("--push", "ftp://host/x"),
        ("--push", "file://otherhost/x"),
        ("--push", "file:///x", "-o", str(tmp_path / "y")),
    ):
        result = invoke("witness", "--db", db_url, *args)
        assert isinstance(result.exception, UsageError), args
    result = invoke("verify", "--db", db_url, "--witness", "x", "--no-witness")
    assert isinstance(result.exception, UsageError)
    empty = sqlite_url(tmp_path / "empty.db")
    open_database(empty).dispose()
    result = invoke("witness", "--db", empty)
    assert isinstance(result.exception, AuditError)
    assert "the log is empty" in result.exception.message


def test_missing_witness_exits_1_with_the_way_out(db_url: str, home: Path) -> None:
    for path in (home / "audit-witness").iterdir():
        path.unlink()
    env = {"BASTION_HOME": str(home), "PATH": "/usr/bin:/bin"}
    failed = subprocess.run(
        [BASTION, "audit", "verify", "--db", db_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert failed.returncode == 1
    assert "error: no witness of this log at" in failed.stderr
    assert "--no-witness" in failed.stderr
