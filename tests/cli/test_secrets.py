"""``bastion secrets``: set (stdin or prompt), list, rm, rotate-key; values never shown."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli import secrets as secrets_cli
from bastion.errors import UsageError, VaultError
from bastion.trust import Trust
from bastion.vault import RequestContext, open_default_vault

VALUE = "kT9vQ2xLmP4wZ8rN-cli-value"


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    secrets_cli.register(application)
    return application


def _invoke(app: typer.Typer, home: Path, *args: str, stdin: str = "") -> object:
    result = CliRunner().invoke(app, ["secrets", *args, "--home", str(home)], input=stdin)
    assert VALUE not in result.stdout + result.stderr
    return result


def test_set_then_list_never_shows_values(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["secrets", "set", "DEPLOY_TOKEN", "--home", str(tmp_path)]
    scope = ["--branch", "main", "--env", "production", "--trust", "trusted", "--repo", "acme/*"]
    result = runner.invoke(app, [*base, *scope, "--json"], input=VALUE + "\n")
    assert result.exit_code == 0, result.output
    assert "stored DEPLOY_TOKEN (version 1)" in result.stderr
    assert json.loads(result.stdout)["scope"]["branches"] == ["main"]
    listed = runner.invoke(app, ["secrets", "list", "--home", str(tmp_path), "--json"])
    [entry] = json.loads(listed.stdout)
    assert entry["name"] == "DEPLOY_TOKEN"
    assert entry["scope"]["environments"] == ["production"]
    table = runner.invoke(app, ["secrets", "list", "--home", str(tmp_path)])
    assert "DEPLOY_TOKEN" in table.stdout
    assert "branches=main" in table.stdout
    for output in (result, listed, table):
        assert VALUE not in output.stdout + output.stderr
    context = RequestContext(
        repo="acme/api",
        ref="refs/heads/main",
        environment="production",
        trust=Trust.TRUSTED,
        job="deploy",
        run="r1",
    )
    vault = open_default_vault(tmp_path, {})
    assert vault.release(["DEPLOY_TOKEN"], context) == {"DEPLOY_TOKEN": VALUE}


def test_empty_list_and_rm(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["secrets", "list", "--home", str(tmp_path)])
    assert "no secrets stored" in empty.stderr
    runner.invoke(app, ["secrets", "set", "GONE", "--home", str(tmp_path)], input=VALUE)
    removed = runner.invoke(app, ["secrets", "rm", "GONE", "--home", str(tmp_path)])
    assert removed.exit_code == 0
    assert "removed GONE" in removed.stderr
    again = runner.invoke(app, ["secrets", "rm", "GONE", "--home", str(tmp_path)])
    assert isinstance(again.exception, VaultError)


def test_rotate_key_keeps_values(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["secrets", "set", "KEEP_ME", "--home", str(tmp_path)], input=VALUE)
    rotated = runner.invoke(app, ["secrets", "rotate-key", "--home", str(tmp_path)])
    assert rotated.exit_code == 0, rotated.output
    assert "sealed by key local:" in rotated.stderr
    listed = runner.invoke(app, ["secrets", "list", "--home", str(tmp_path), "--json"])
    assert [e["name"] for e in json.loads(listed.stdout)] == ["KEEP_ME"]


def test_refusals(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    weak = runner.invoke(app, ["secrets", "set", "WEAK", *home], input="password1\n")
    assert isinstance(weak.exception, VaultError)
    empty = runner.invoke(app, ["secrets", "set", "EMPTY", *home], input="\n")
    assert isinstance(empty.exception, UsageError)
    trust = runner.invoke(app, ["secrets", "set", "X_Y", "--trust", "root", *home], input=VALUE)
    assert isinstance(trust.exception, VaultError)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_prompt_asks_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([VALUE, VALUE, VALUE, "different-value-here"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    monkeypatch.setattr(sys, "stdin", _Terminal())
    assert secrets_cli.read_secret_value("TOKEN") == VALUE
    with pytest.raises(UsageError, match="the two values differ"):
        secrets_cli.read_secret_value("TOKEN")


def test_exit_codes_through_the_real_entry_point(tmp_path: Path) -> None:
    bastion = Path(sys.executable).with_name("bastion")
    env = {**os.environ, "BASTION_HOME": str(tmp_path)}
    env.pop("BASTION_VAULT_KEK", None)
    weak = subprocess.run(
        [str(bastion), "secrets", "set", "API_TOKEN"],
        input="sunshine",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert weak.returncode == 2
    assert "refusing secret API_TOKEN" in weak.stderr
    assert "sunshine" not in weak.stderr
    assert not (tmp_path / "vault" / "vault.json").exists()


@pytest.mark.parametrize(
    ("value", "force", "code"),
    [
        ("sunshine", False, 2),  # a common word: refused
        ("sunshine", True, 0),  # ...unless forced
        ("ab3$x", False, 2),  # fewer than 6 characters: refused
        ("ab3$x", True, 2),  # ...even forced: it cannot be masked
        ("short1!", True, 2),  # under 8: the masker refuses it, so --force does not help
    ],
)
def test_force_exit_codes(tmp_path: Path, value: str, force: bool, code: int) -> None:
    bastion = Path(sys.executable).with_name("bastion")
    env = {**os.environ, "BASTION_HOME": str(tmp_path)}
    env.pop("BASTION_VAULT_KEK", None)
    args = [str(bastion), "secrets", "set", "API_TOKEN", *(["--force"] if force else [])]
    result = subprocess.run(args, input=value, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == code, result.stderr
    assert value not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    stored = (tmp_path / "vault" / "vault.json").exists()
    assert stored is (code == 0)
    if code == 2 and len(value) < 8:
        assert "cannot be masked" in result.stderr
