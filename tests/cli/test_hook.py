"""``bastion hook install|uninstall``: chaining, idempotence, and the hook really running."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.cli.main import _register, app
from bastion.errors import UsageError
from bastion.scanners.secrets.hook import CHAINED, find_bastion, install_hook, uninstall_hook

runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


@pytest.fixture
def fake_bastion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Records its arguments and fails when asked to, standing in for the real CLI."""
    folder = tmp_path_factory.mktemp("bin")
    script = folder / "bastion"
    script.write_text(f'#!/bin/sh\necho "$@" >> {folder}/calls\nexit "${{FAKE_EXIT:-0}}"\n')
    script.chmod(0o755)
    return script


def _run_hook(repo: Path, exit_code: int = 0) -> subprocess.CompletedProcess[str]:
    hook = repo / ".git/hooks/pre-commit"
    env = {**os.environ, "FAKE_EXIT": str(exit_code)}
    return subprocess.run(
        [str(hook)], cwd=repo, env=env, capture_output=True, text=True, check=False
    )


def test_cli_install_and_uninstall_round_trip(repo: Path, fake_bastion: Path) -> None:
    _register()
    existing = repo / ".git/hooks/pre-commit"
    existing.write_text("#!/bin/sh\necho chained-ran\n")
    existing.chmod(0o755)
    args = ["hook", "install", "--repo", str(repo), "--bastion", str(fake_bastion), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["chained"].endswith(CHAINED)
    again = runner.invoke(app, args)
    assert json.loads(again.stdout)["updated"] is True
    run = _run_hook(repo)
    assert run.returncode == 0
    assert "chained-ran" in run.stdout
    assert (fake_bastion.parent / "calls").read_text() == "scan --gate secrets --staged\n"
    assert _run_hook(repo, exit_code=1).returncode == 1
    result = runner.invoke(app, ["hook", "uninstall", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert existing.read_text() == "#!/bin/sh\necho chained-ran\n"
    assert not (repo / ".git/hooks" / CHAINED).exists()


def test_failing_chained_hook_stops_before_bastion(repo: Path, fake_bastion: Path) -> None:
    existing = repo / ".git/hooks/pre-commit"
    existing.write_text("#!/bin/sh\nexit 7\n")
    existing.chmod(0o755)
    install_hook(repo, fake_bastion)
    assert _run_hook(repo).returncode == 7
    assert not (fake_bastion.parent / "calls").exists()


def test_hooks_path_is_honoured(repo: Path, fake_bastion: Path) -> None:
    subprocess.run(["git", "-C", str(repo), "config", "core.hooksPath", "githooks"], check=True)
    result = install_hook(repo, fake_bastion)
    assert result.hook == repo / "githooks" / "pre-commit"
    assert result.chained is None


def test_refuses_to_clobber_two_foreign_hooks(repo: Path, fake_bastion: Path) -> None:
    hooks = repo / ".git/hooks"
    (hooks / "pre-commit").write_text("#!/bin/sh\n")
    (hooks / CHAINED).write_text("#!/bin/sh\n")
    with pytest.raises(UsageError, match="already exists"):
        install_hook(repo, fake_bastion)


def test_uninstall_without_hook_and_outside_repo(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with pytest.raises(UsageError, match="no Bastion pre-commit hook"):
        uninstall_hook(repo)
    with pytest.raises(UsageError, match="not a git repository"):
        uninstall_hook(tmp_path_factory.mktemp("plain"))
    with pytest.raises(UsageError, match="absolute"):
        install_hook(repo, Path("bastion"))


def test_cli_reports_errors_with_exit_code(repo: Path) -> None:
    _register()
    result = runner.invoke(app, ["hook", "uninstall", "--repo", str(repo)])
    assert result.exit_code != 0


def test_finds_this_installation() -> None:
    assert find_bastion().name == "bastion"


@pytest.mark.integration
def test_real_commit_with_a_secret_is_blocked(repo: Path) -> None:
    """git runs the hook, the hook runs `bastion scan --gate secrets --staged` (sandboxed)."""
    import random

    from bastion.scanners.secrets.samples import render

    install_hook(repo)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@example.org",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@example.org",
    }
    token = render("<<gh:ghp_>>", random.Random(2))
    (repo / "leak.py").write_text(f'T = "{token}"\n')
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "add", "leak.py"], check=True)
    blocked = subprocess.run(
        [*git, "commit", "-q", "-m", "leak"], env=env, capture_output=True, text=True, check=False
    )
    assert blocked.returncode != 0
    assert token not in blocked.stdout + blocked.stderr
    (repo / "leak.py").write_text("T = load_from_vault()\n")
    subprocess.run([*git, "add", "leak.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "clean"], env=env, check=True)
