"""Workspace creation (working tree, commit) and removal whatever happened."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bastion.errors import SandboxError, UsageError
from bastion.sandbox import BubblewrapSandbox, Limits, SandboxSpec, Workspace, grant_workspace


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_SYSTEM": "/dev/null",
        "PATH": os.environ["PATH"],
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, check=True, env=env
    )
    return done.stdout.decode().strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a commit holding a file, a script, a symlink and ignored state."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("print('v1')\n")
    (repo / "run.sh").write_text("#!/bin/sh\necho run\n")
    (repo / "run.sh").chmod(0o755)
    (repo / "link").symlink_to("/etc/hostname")
    (repo / ".gitattributes").write_text("src/app.py export-ignore\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    (repo / "src" / "app.py").write_text("print('v2, uncommitted')\n")
    (repo / "untracked.txt").write_text("local\n")
    state = repo / ".bastion" / "state"
    state.mkdir(parents=True)
    (state / "key").write_text("PRIVATE\n")
    (repo / ".bastion" / "pipeline.yml").write_text("jobs: {}\n")
    return repo


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    path = tmp_path / "runs"
    path.mkdir()
    return path


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_working_tree_copy_is_the_tree_as_it_is(repo: Path, parent: Path) -> None:
    os.mkfifo(repo / "pipe")  # would block a naive copy forever
    with Workspace.from_working_tree(repo, parent) as ws:
        assert ws.path.parent == parent
        assert (ws.path / "src" / "app.py").read_text() == "print('v2, uncommitted')\n"
        assert (ws.path / "untracked.txt").exists()
        assert (ws.path / ".bastion" / "pipeline.yml").exists()
        assert not (ws.path / ".bastion" / "state").exists()
        assert not (ws.path / ".git").exists()
        assert not (ws.path / "pipe").exists()
        assert os.readlink(ws.path / "link") == "/etc/hostname"
        assert os.access(ws.path / "run.sh", os.X_OK)
        # A copy, not a link: writing it leaves the source alone.
        (ws.path / "untracked.txt").write_text("changed\n")
        assert (repo / "untracked.txt").read_text() == "local\n"
    assert not ws.path.exists()


def test_commit_checkout_is_exactly_the_commit(repo: Path, parent: Path) -> None:
    with Workspace.from_commit(repo, "main", parent) as ws:
        assert _files(ws.path) == {".gitattributes", "src", "src/app.py", "run.sh", "link"}
        # export-ignore is not applied: the workspace holds every file of the commit.
        assert (ws.path / "src" / "app.py").read_text() == "print('v1')\n"
        assert os.readlink(ws.path / "link") == "/etc/hostname"
        assert os.access(ws.path / "run.sh", os.X_OK)
        assert (ws.path / "src" / "app.py").stat().st_mode & 0o777 == 0o644
    assert not ws.path.exists()


def test_commit_checkout_leaves_out_committed_state(repo: Path, parent: Path) -> None:
    _git(repo, "add", "-f", ".bastion")
    _git(repo, "commit", "-q", "-m", "oops, state committed")
    with Workspace.from_commit(repo, "HEAD", parent) as ws:
        assert (ws.path / ".bastion" / "pipeline.yml").exists()
        assert not (ws.path / ".bastion" / "state").exists()


def test_submodule_becomes_an_empty_directory(repo: Path, parent: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD")
    _git(repo, "update-index", "--add", "--cacheinfo", f"160000,{head},vendor/lib")
    _git(repo, "commit", "-q", "-m", "submodule")
    with Workspace.from_commit(repo, "HEAD", parent) as ws:
        assert (ws.path / "vendor" / "lib").is_dir()
        assert list((ws.path / "vendor" / "lib").iterdir()) == []


@pytest.mark.parametrize("name", ["..", ".git"])
def test_hostile_tree_is_refused(repo: Path, parent: Path, name: str) -> None:
    blob = _git(repo, "hash-object", "-w", "--stdin", stdin=b"pwned\n")
    inner = _git(repo, "mktree", stdin=f"100644 blob {blob}\tevil\n".encode())
    tree = _git(repo, "mktree", stdin=f"040000 tree {inner}\t{name}\n".encode())
    commit = _git(repo, "commit-tree", tree, "-m", "hostile")
    with pytest.raises(SandboxError, match="hostile path"):
        Workspace.from_commit(repo, commit, parent)
    assert list(parent.iterdir()) == []  # the half-made workspace is gone
    assert not (repo.parent / "evil").exists()


def test_bad_revisions_are_usage_errors(repo: Path, parent: Path) -> None:
    with pytest.raises(UsageError, match="not a revision"):
        Workspace.from_commit(repo, "--output=/tmp/x", parent)
    with pytest.raises(UsageError, match="rev-parse"):
        Workspace.from_commit(repo, "no-such-branch", parent)
    assert list(parent.iterdir()) == []


def test_workspace_inside_source_is_refused(repo: Path) -> None:
    with pytest.raises(SandboxError, match="is inside"):
        Workspace.from_working_tree(repo, repo / "src")
    with pytest.raises(SandboxError, match="not a directory"):
        Workspace.from_working_tree(repo, repo / "missing")
    with pytest.raises(UsageError):
        Workspace.from_working_tree(repo / "missing", repo.parent)


def test_copy_failures_are_clear_errors(repo: Path, parent: Path) -> None:
    with pytest.raises(SandboxError, match="cannot create a workspace in /proc/self"):
        Workspace.from_working_tree(repo, Path("/proc/self"))
    ws = Workspace.from_working_tree(repo, parent)
    with (
        pytest.raises(SandboxError, match="cannot copy /src/x into the workspace"),
        ws._filling(repo),
    ):
        raise PermissionError(13, "Permission denied", "/src/x")
    assert not ws.path.exists()


def test_removed_after_exception(repo: Path, parent: Path) -> None:
    with pytest.raises(RuntimeError), Workspace.from_working_tree(repo, parent) as ws:
        raise RuntimeError("job blew up")
    assert not ws.path.exists()
    ws.remove()  # twice is fine


def test_removed_even_when_locked_down(repo: Path, parent: Path) -> None:
    ws = Workspace.from_working_tree(repo, parent)
    locked = ws.path / "locked"
    (locked / "deep").mkdir(parents=True)
    (locked / "deep" / "file").write_text("x")
    (locked / "deep").chmod(0o000)
    locked.chmod(0o500)
    ws.path.chmod(0o500)
    ws.remove()
    assert not ws.path.exists()


@pytest.mark.integration
def test_unprivileged_owner_removes_locked_down_workspace() -> None:
    """As a plain user (no root to bypass modes) the removal reopens what the job locked."""
    # Not under tmp_path: pytest's base directory is closed to other users.
    with tempfile.TemporaryDirectory(prefix="bastion-test-") as outer:
        base = Path(outer)
        base.chmod(0o755)
        if os.geteuid() == 0:
            os.chown(base, 65534, 65534)
        _remove_as_plain_user(base)


def _remove_as_plain_user(base: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from bastion.sandbox.workspace import Workspace\n"
        "base = Path(sys.argv[1]); src = base / 'src'; src.mkdir(); (src / 'f').write_text('x')\n"
        "ws = Workspace.from_working_tree(src, base)\n"
        "d = ws.path / 'a' / 'b'; d.mkdir(parents=True); (d / 'f').write_text('x')\n"
        "(ws.path / 'ro').write_text('x'); (ws.path / 'ro').chmod(0)\n"
        "d.chmod(0); (ws.path / 'a').chmod(0o500)\n"
        "ws.remove(); print('gone' if not ws.path.exists() else 'left')\n"
    )
    prefix = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    argv = [*(prefix if os.geteuid() == 0 else []), "/usr/bin/python3", "-c", script, str(base)]
    done = subprocess.run(argv, capture_output=True, env={"PYTHONPATH": str(src)}, check=False)
    assert done.stdout == b"gone\n", done.stderr


@pytest.mark.integration
@pytest.mark.parametrize("outcome", ["success", "failure", "timeout", "cancel"])
def test_no_workspace_left_after_any_outcome(repo: Path, parent: Path, outcome: str) -> None:
    scripts = {
        "success": "echo fine > out",
        "failure": "mkdir -p d/e && chmod 000 d/e && chmod 500 d && exit 3",
        "timeout": "touch t; sleep 30",
        "cancel": "touch c; sleep 30",
    }
    started = time.monotonic()

    def cancel() -> bool:
        return outcome == "cancel" and time.monotonic() - started > 0.3

    with Workspace.from_commit(repo, "HEAD", parent) as ws:
        spec = SandboxSpec(
            argv=["sh", "-c", scripts[outcome]],
            workspace=ws.path,
            limits=Limits(timeout_seconds=0.5 if outcome == "timeout" else 30),
        )
        result = BubblewrapSandbox().run(spec, lambda _: None, cancel)
    assert result.succeeded == (outcome == "success")
    assert list(parent.iterdir()) == []


def test_grant_workspace_gives_the_tree_but_not_link_targets(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("grant_workspace changes owners: the test needs root, as CI has")
    target = tmp_path / "outside"
    target.write_text("x")
    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "sub" / "f").write_text("x")
    (ws / "escape").symlink_to(target)
    grant_workspace(ws, 4242, 4343)
    for path in (ws, ws / "sub", ws / "sub" / "f"):
        assert (path.stat().st_uid, path.stat().st_gid) == (4242, 4343)
    assert os.lstat(ws / "escape").st_uid == 4242
    assert target.stat().st_uid == 0
    assert ws.stat().st_mode & 0o711 == 0o711
    shutil.rmtree(ws)


def test_large_blob_is_written_exactly(repo: Path, parent: Path) -> None:
    data = os.urandom(2_500_000)  # several pieces of the streaming copy
    (repo / "blob.bin").write_bytes(data)
    _git(repo, "add", "blob.bin")
    _git(repo, "commit", "-q", "-m", "big")
    with Workspace.from_commit(repo, "HEAD", parent) as ws:
        assert (ws.path / "blob.bin").read_bytes() == data
