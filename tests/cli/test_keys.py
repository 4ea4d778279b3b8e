"""``bastion keys``: generate, show, export, list, add, revoke, rotate (in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli import keys as keys_cli
from bastion.errors import SigningError, UsageError
from bastion.supplychain import TrustedKeys


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    keys_cli.register(application)
    return application


def invoke(app: typer.Typer, *args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_show_creates_the_key_on_first_use(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["keys", "show", "--home", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["fingerprint"].startswith("sha256:")
    assert "created a signing key" in result.stderr
    again = CliRunner().invoke(app, ["keys", "show", "--home", str(tmp_path), "--json"])
    assert json.loads(again.stdout)["keyid"] == shown["keyid"]
    assert "created" not in again.stderr
    assert "PRIVATE" not in result.stdout + result.stderr


def test_generate_export_and_add_elsewhere(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["keys", "generate", "--home", str(tmp_path / "a"), "--algorithm", "ed25519"]
    )
    assert result.exit_code == 0, result.output
    exported = runner.invoke(app, ["keys", "export", "--home", str(tmp_path / "a")])
    assert exported.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    pem = tmp_path / "ci.pub"
    pem.write_text(exported.stdout)
    added = runner.invoke(
        app, ["keys", "add", str(pem), "--label", "ci", "--home", str(tmp_path / "b")]
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["keys", "list", "--home", str(tmp_path / "b"), "--json"])
    assert [k["label"] for k in json.loads(listed.stdout)] == ["ci"]
    table = runner.invoke(app, ["keys", "list", "--home", str(tmp_path / "b")])
    assert "ci" in table.stdout


def test_generate_twice_is_a_signing_error(app: typer.Typer, tmp_path: Path) -> None:
    CliRunner().invoke(app, ["keys", "generate", "--home", str(tmp_path)])
    result = CliRunner().invoke(app, ["keys", "generate", "--home", str(tmp_path)])
    assert isinstance(result.exception, SigningError)


def test_add_unreadable_file_is_a_usage_error(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["keys", "add", str(tmp_path / "missing.pem"), "--home", str(tmp_path)]
    )
    assert isinstance(result.exception, UsageError)


def test_revoke_at_a_time_and_compromised(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["keys", "generate", "--home", str(tmp_path)])
    [key] = TrustedKeys(tmp_path).entries()
    result = runner.invoke(
        app,
        [
            "keys",
            "revoke",
            key.fingerprint,
            "--at",
            "2026-11-01T00:00:00+00:00",
            "--home",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["revoked_at"] == "2026-11-01T00:00:00+00:00"
    result = runner.invoke(
        app, ["keys", "revoke", key.keyid, "--compromised", "--home", str(tmp_path)]
    )
    assert result.exit_code == 0
    table = runner.invoke(app, ["keys", "list", "--home", str(tmp_path)])
    assert "compromised" in table.stdout


@pytest.mark.parametrize("when", ["yesterday", "2026-11-01T00:00:00"])
def test_revoke_with_a_bad_time_is_a_usage_error(
    app: typer.Typer, tmp_path: Path, when: str
) -> None:
    runner = CliRunner()
    runner.invoke(app, ["keys", "generate", "--home", str(tmp_path)])
    [key] = TrustedKeys(tmp_path).entries()
    result = runner.invoke(
        app, ["keys", "revoke", key.keyid, "--at", when, "--home", str(tmp_path)]
    )
    assert isinstance(result.exception, UsageError)


def test_rotate(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["keys", "generate", "--home", str(tmp_path)])
    result = runner.invoke(app, ["keys", "rotate", "--home", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert "revoked" in result.stderr
    keys = TrustedKeys(tmp_path).entries()
    assert [k.revoked_at is None for k in keys] == [False, True]
    assert json.loads(result.stdout)["keyid"] == keys[1].keyid


def test_default_home_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    assert keys_cli.default_home() == tmp_path
    monkeypatch.delenv("BASTION_HOME")
    assert keys_cli.default_home().parts[-3:] == (".local", "share", "bastion")
