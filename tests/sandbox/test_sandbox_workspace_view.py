"""Read-only views of a tree: the survey, the readable copy, and bubblewrap showing the view."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from bastion.errors import SandboxError
from bastion.sandbox import BubblewrapSandbox, SandboxSpec, Workspace
from bastion.sandbox.invocation import SOURCE_MOUNT, Invocation, build_argv
from bastion.sandbox.paths import HiddenEntry
from bastion.sandbox.workspace import survey_source


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A tree with every kind of entry a view must cover or may show."""
    root = tmp_path / "tree"
    (root / "src" / "vendored" / ".git").mkdir(parents=True)
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".git" / "config").write_text("[remote]\n")
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "worktree").mkdir()
    (root / "worktree" / ".git").write_text("gitdir: /elsewhere\n")  # a file, not a folder
    (root / ".bastion" / "state").mkdir(parents=True)
    (root / ".bastion" / "state" / "key").write_text("PRIVATE\n")
    (root / ".bastion" / "policy.rego").write_text("package x\n")
    (root / "src" / ".bastion" / "state").mkdir(parents=True, mode=0o700)  # a nested project's
    (root / "link").symlink_to("/etc/hostname")
    os.mkfifo(root / "pipe")  # a scanner opening it would block
    return root


def test_survey_hides_what_a_copy_leaves_out(tree: Path) -> None:
    survey = survey_source(tree, as_other=True)
    assert survey.hidden == (
        ".bastion/state",
        ".git",
        "pipe",
        "src/.bastion/state",
        "src/vendored/.git",
        "worktree/.git",
    )
    assert survey.fully_readable
    assert survey.unreadable == ()


def test_survey_names_what_another_uid_cannot_read(tree: Path) -> None:
    (tree / "src" / "app.py").chmod(0o600)
    (tree / "src" / "vendored").chmod(0o700)
    survey = survey_source(tree, as_other=True)
    assert not survey.fully_readable
    assert survey.unreadable == ("src/app.py", "src/vendored")
    assert survey.unreadable_count == 2
    tree.chmod(0o700)
    assert survey_source(tree, as_other=True).unreadable == (".",)


def test_survey_as_the_owner_uses_owner_bits(tree: Path) -> None:
    (tree / "src" / "app.py").chmod(0o600)
    assert survey_source(tree, as_other=False).fully_readable
    (tree / "src" / "app.py").chmod(0o200)
    survey = survey_source(tree, as_other=False)
    assert survey.unreadable == ("src/app.py",)


def test_survey_counts_beyond_the_names_it_keeps(tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    root.chmod(0o755)
    for index in range(25):
        path = root / f"f{index:02d}"
        path.write_text("x")
        path.chmod(0o600)
    survey = survey_source(root, as_other=True)
    assert survey.unreadable_count == 25
    assert len(survey.unreadable) == 20


def test_readable_copy_opens_every_entry_to_the_job(tree: Path, tmp_path: Path) -> None:
    (tree / "src" / "app.py").chmod(0o600)
    (tree / "src" / "vendored").chmod(0o700)
    parent = tmp_path / "runs"
    parent.mkdir()
    with Workspace.from_working_tree(tree, parent, readable=True) as ws:
        copy = ws.path
        assert stat.S_IMODE(copy.stat().st_mode) == 0o755
        assert stat.S_IMODE((copy / "src" / "app.py").stat().st_mode) == 0o644
        assert stat.S_IMODE((copy / "src" / "vendored").stat().st_mode) == 0o755
        survey = survey_source(copy, as_other=True)
        assert survey.fully_readable
        assert survey.hidden == ()  # the copy has no .git, no state, no FIFO
        assert not (copy / "src" / ".bastion").exists() or not any(
            (copy / "src" / ".bastion").iterdir()
        )
    assert list(parent.iterdir()) == []


def test_scratch_is_an_empty_private_folder(tmp_path: Path) -> None:
    with Workspace.scratch(tmp_path) as ws:
        assert list(ws.path.iterdir()) == []
        assert stat.S_IMODE(ws.path.stat().st_mode) == 0o700
    assert not ws.path.exists()
    with pytest.raises(SandboxError, match="not a directory"):
        Workspace.scratch(tmp_path / "missing")


def test_invocation_binds_the_source_read_only_under_the_workspace(tmp_path: Path) -> None:
    spec = SandboxSpec(argv=["true"], workspace=tmp_path, read_only_source=Path("/srv/tree"))
    inv = Invocation(
        bwrap="bwrap",
        prlimit="prlimit",
        status_fd=3,
        file_fds={},
        binds=(),
        hidden=(HiddenEntry(Path(SOURCE_MOUNT, ".git"), True),),
        seccomp_fd=8,
        source=Path("/srv/tree"),
    )
    argv = build_argv(spec, inv)
    workspace_at = argv.index("/workspace")
    source_at = argv.index(str(SOURCE_MOUNT))
    assert argv[source_at - 2 : source_at] == ["--ro-bind", "/srv/tree"]
    assert workspace_at < source_at  # mounted over the workspace, not under it
    hidden_at = argv.index(str(SOURCE_MOUNT / ".git"))
    assert argv[hidden_at - 1] == "--tmpfs"
    assert hidden_at > source_at  # covered after the source is bound


@pytest.mark.parametrize(
    ("hidden", "message"),
    [
        ("/etc", "must be relative"),
        ("../x", "must be relative"),
        ("missing", "missing or reached through a link"),
        ("link", "missing or reached through a link"),
    ],
)
def test_bubblewrap_refuses_hidden_paths_it_cannot_cover(
    tree: Path, tmp_path: Path, hidden: str, message: str
) -> None:
    spec = SandboxSpec(
        argv=["true"], workspace=tmp_path, read_only_source=tree, hidden_source_paths=[hidden]
    )
    with pytest.raises(SandboxError, match=message):
        BubblewrapSandbox().run(spec, lambda _chunk: None)


def test_bubblewrap_refuses_hidden_paths_without_a_source(tmp_path: Path) -> None:
    spec = SandboxSpec(argv=["true"], workspace=tmp_path, hidden_source_paths=[".git"])
    with pytest.raises(SandboxError, match="hide nothing"):
        BubblewrapSandbox().run(spec, lambda _chunk: None)


@pytest.mark.integration
def test_bubblewrap_shows_the_view_read_only_and_covered(tree: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    script = (
        "cat src/app.py; (echo x > src/app.py) 2>/dev/null && echo WROTE; "
        "cat .git/config .bastion/state/key worktree/.git 2>/dev/null; "
        "find .git src/vendored/.git .bastion/state src/.bastion/state -mindepth 1; "
        "test -p pipe && echo FIFO; cat .bastion/policy.rego; echo report > ../out.txt"
    )
    spec = SandboxSpec(
        argv=["/bin/sh", "-c", script],
        workspace=scratch,
        working_directory="source",
        read_only_source=tree,
        hidden_source_paths=survey_source(tree, as_other=True).hidden,
    )
    chunks: list[bytes] = []
    result = BubblewrapSandbox().run(spec, chunks.append)
    output = b"".join(chunks).decode()
    assert result.exit_code == 0, output
    assert output == "print('hi')\npackage x\n"
    assert (scratch / "out.txt").read_text() == "report\n"
    assert (tree / "src" / "app.py").read_text() == "print('hi')\n"


def test_commit_checkout_leaves_out_nested_state(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sub" / ".bastion" / "state").mkdir(parents=True)
    (repo / "sub" / ".bastion" / "state" / "db").write_text("state\n")
    (repo / "sub" / ".bastion" / "policy.rego").write_text("package x\n")
    identity = ["-c", "user.name=A", "-c", "user.email=a@example.org"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-qm", "c"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    parent = tmp_path / "runs"
    parent.mkdir()
    with Workspace.from_commit(repo, "HEAD", parent) as ws:
        assert (ws.path / "sub" / ".bastion" / "policy.rego").exists()
        assert not (ws.path / "sub" / ".bastion" / "state").exists()


def test_survey_errors_name_the_entry(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match=r"cannot read .*missing"):
        survey_source(tmp_path / "missing", as_other=True)
