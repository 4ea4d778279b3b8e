"""``bastion scan --history | --staged | --since REF``: the secrets gate over git data."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.cli.main import _register, app
from bastion.scanners.secrets.samples import render

runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    env = ["-c", "user.name=A", "-c", "user.email=a@example.org"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    token = render("<<gh:ghp_>>", random.Random(41))
    (tmp_path / "a.py").write_text(f'T = "{token}"\n')
    subprocess.run(["git", "-C", str(tmp_path), "add", "a.py"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), *env, "commit", "-qm", "leak"], check=True)
    (tmp_path / "a.py").write_text("T = None\n")
    subprocess.run(["git", "-C", str(tmp_path), *env, "commit", "-qam", "fix"], check=True)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--history", "--staged"], "only one of"),
        (["--history", "--gate", "sast"], "secrets gate only"),
        (["--staged", "--baseline", "HEAD"], "baseline"),
        (["--since", "no-such-ref"], "not a commit"),
    ],
)
def test_usage_errors(repo: Path, args: list[str], message: str) -> None:
    _register()
    result = runner.invoke(app, ["scan", str(repo), *args])
    assert result.exit_code != 0
    assert message in str(result.exception)


@pytest.mark.integration
def test_history_finds_the_deleted_secret_in_the_sandbox(repo: Path) -> None:
    _register()
    result = runner.invoke(app, ["scan", str(repo), "--history", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["gates"]["secrets"]["error"] is None
    assert [(f["rule_id"], f["location"]["path"]) for f in report["findings"]] == [
        ("github-pat", "a.py")
    ]
    since = runner.invoke(app, ["scan", str(repo), "--since", "HEAD~1", "--json"])
    assert since.exit_code == 0, since.output
    table = runner.invoke(app, ["scan", str(repo), "--history"])
    sarif = runner.invoke(app, ["scan", str(repo), "--history", "--format", "sarif"])
    token = render("<<gh:ghp_>>", random.Random(41))
    for output in (result.output, table.output, sarif.output):
        assert token not in output
        assert token[4:20] not in output
    assert "github-pat" in table.output
