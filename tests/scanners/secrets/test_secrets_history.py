"""History, staged and since modes over real git repositories built by the tests."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from bastion.errors import UsageError
from bastion.scanners.interface import ScanRequest
from bastion.scanners.secrets import (
    ScanMode,
    SecretsGate,
    git_patch_command,
    scan_secrets,
    write_git_patch,
)
from bastion.scanners.secrets.samples import render

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "vulnerable-service"


def _git(repo: Path, *args: str, author: str = "Ada Dev") -> str:
    env = {
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": "ada@example.org",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo),
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    return tmp_path


def _commit(repo: Path, message: str, author: str = "Ada Dev") -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, author=author)
    return _git(repo, "rev-parse", "HEAD")


def test_history_finds_deleted_secret_once_at_its_first_commit(repo: Path) -> None:
    shutil.copytree(EXAMPLE, repo / "svc", ignore=shutil.ignore_patterns(".ruff_cache"))
    base = _commit(repo, "import the service")
    token = render("<<gh:ghp_>>", random.Random(21))
    (repo / "svc/leak.py").write_text(f'TOKEN = "{token}"\n')
    introduced = _commit(repo, "add a leak", author="Mallory Mistake")
    (repo / "svc/copy.py").write_text(f'AGAIN = "{token}"\n')
    _commit(repo, "copy it")
    (repo / "svc/leak.py").unlink()
    (repo / "svc/copy.py").unlink()
    _commit(repo, "remove it")
    report = scan_secrets(repo, mode=ScanMode.HISTORY)
    github = [f for f in report.findings if f.location.path == "svc/leak.py"]
    assert len(github) == 1
    assert not [f for f in report.findings if f.location.path == "svc/copy.py"]
    assert github[0].location.commit == introduced
    assert github[0].properties["author"] == "Mallory Mistake"
    assert token not in github[0].message
    planted_rules = {f.rule_id for f in report.findings if f.location.commit == base}
    assert {"aws-access-key-id", "github-pat", "private-key-openssh"} <= planted_rules
    assert report.facts["commits_scanned"] == 4


def test_staged_mode_scans_only_the_index(repo: Path) -> None:
    (repo / "README").write_text("hello\n")
    _commit(repo, "init")
    rng = random.Random(3)
    staged = render("xoxb-<<dig:12>>-<<dig:13>>-<<b62:24>>", rng)
    unstaged = render("<<gh:ghp_>>", rng)
    (repo / "conf.env").write_text(f"SLACK={staged}\n")
    _git(repo, "add", "conf.env")
    (repo / "other.py").write_text(f'T = "{unstaged}"\n')
    report = scan_secrets(repo, mode=ScanMode.STAGED)
    assert [(f.rule_id, f.location.path, f.location.line) for f in report.findings] == [
        ("slack-bot-token", "conf.env", 1)
    ]


def test_since_mode_scans_only_new_commits(repo: Path) -> None:
    rng = random.Random(4)
    (repo / "old.py").write_text(f'T = "{render("<<gh:ghp_>>", rng)}"\n')
    _commit(repo, "old leak")
    _git(repo, "branch", "base")
    (repo / "new.py").write_text(f'K = "{render("sk_live_<<b62:30>>", rng)}"\n')
    _commit(repo, "new leak")
    report = scan_secrets(repo, mode=ScanMode.SINCE, since="base")
    assert [f.rule_id for f in report.findings] == ["stripe-secret-key"]


def test_since_rejects_unknown_ref_and_non_repo(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (repo / "a").write_text("a\n")
    _commit(repo, "init")
    with pytest.raises(UsageError, match="not a commit"):
        scan_secrets(repo, mode=ScanMode.SINCE, since="no-such-branch")
    with pytest.raises(UsageError, match="not a git repository"):
        scan_secrets(tmp_path_factory.mktemp("plain"), mode=ScanMode.HISTORY)


def test_quoted_and_binary_paths(repo: Path) -> None:
    token = render("<<gh:ghp_>>", random.Random(8))
    (repo / "dir with space").mkdir()
    (repo / "dir with space/naïve.py").write_text(f'T = "{token}"\n')
    (repo / "data.bin").write_bytes(b"\0\1\2" * 10)
    _commit(repo, "odd names")
    report = scan_secrets(repo, mode=ScanMode.HISTORY)
    assert [f.location.path for f in report.findings] == ["dir with space/naïve.py"]
    assert report.facts["skipped"] == {"binary file in a diff": 1}


def test_secret_added_in_a_merge_resolution_is_found(repo: Path) -> None:
    (repo / "conf.py").write_text("VALUE = 1\n")
    _commit(repo, "init")
    _git(repo, "checkout", "-q", "-b", "side")
    (repo / "conf.py").write_text("VALUE = 2\n")
    _commit(repo, "side change")
    _git(repo, "checkout", "-q", "main")
    (repo / "conf.py").write_text("VALUE = 3\n")
    _commit(repo, "main change")
    subprocess.run(
        ["git", "-C", str(repo), "merge", "-q", "side"], capture_output=True, check=False
    )
    token = render("<<gh:ghp_>>", random.Random(12))
    (repo / "conf.py").write_text(f'VALUE = 4\nTOKEN = "{token}"\n')
    merge = _commit(repo, "resolve")
    report = scan_secrets(repo, mode=ScanMode.HISTORY)
    assert [(f.rule_id, f.location.commit) for f in report.findings] == [("github-pat", merge)]


def test_patch_mode_scans_a_saved_stream_like_history(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The host saves the stream; a gate whose workspace has no .git scans it the same."""
    token = render("<<gh:ghp_>>", random.Random(14))
    (repo / "a.py").write_text(f'T = "{token}"\n')
    introduced = _commit(repo, "leak")
    (repo / "a.py").write_text("T = None\n")
    _commit(repo, "unleak")
    workspace = tmp_path_factory.mktemp("workspace")
    write_git_patch(repo, ScanMode.HISTORY, workspace / "history.patch")
    report = SecretsGate().scan(
        ScanRequest(root=workspace, options={"mode": "patch", "patch": "history.patch"})
    )
    assert [(f.rule_id, f.location.commit) for f in report.findings] == [("github-pat", introduced)]
    assert (
        report.findings[0].fingerprint
        == scan_secrets(repo, mode=ScanMode.HISTORY).findings[0].fingerprint
    )
    with pytest.raises(UsageError, match="needs the option 'patch'"):
        scan_secrets(workspace, mode=ScanMode.PATCH)
    with pytest.raises(UsageError, match="not a file inside"):
        scan_secrets(workspace, mode=ScanMode.PATCH, options={"patch": "../escape.patch"})


def test_git_patch_command_needs_a_ref_for_since(repo: Path) -> None:
    with pytest.raises(UsageError, match="no git command"):
        git_patch_command(repo, ScanMode.SINCE)
    with pytest.raises(UsageError, match="no git command"):
        git_patch_command(repo, ScanMode.TREE)
    assert "--cached" in git_patch_command(repo, ScanMode.STAGED)


def test_prepare_workspace_turns_git_modes_into_a_patch(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    token = render("<<gh:ghp_>>", random.Random(15))
    (repo / "a.py").write_text(f'T = "{token}"\n')
    _git(repo, "add", "a.py")
    workspace = tmp_path_factory.mktemp("ws")
    gate = SecretsGate()
    assert gate.prepare_workspace(repo, workspace, {"jobs": 1}) == {"jobs": 1}
    options = gate.prepare_workspace(repo, workspace, {"mode": "staged", "jobs": 1})
    assert options["mode"] == "patch"
    assert options["jobs"] == 1
    report = gate.scan(ScanRequest(root=workspace, options=options))
    assert [f.rule_id for f in report.findings] == ["github-pat"]
    with pytest.raises(UsageError, match="needs a ref"):
        gate.prepare_workspace(repo, workspace, {"mode": "since"})
