"""``scan_path``: gates see the tree read-only in place, a copy only when they must."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.engine.gate_priority import YIELDING_NICE, GateCpuHistory
from bastion.engine.gate_scan import PathScan, scan_path
from bastion.engine.gates import GateSpec
from bastion.errors import SandboxError
from bastion.sandbox import BubblewrapSandbox, SandboxResult, SandboxSpec
from bastion.scanners.secrets.samples import render
from tests.engine.fakes import ViewSandbox

SECRETS = [GateSpec("secrets")]


def _token(seed: int) -> str:
    return render("<<gh:ghp_>>", random.Random(seed))


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=A", "-c", "user.email=a@example.org"]
    subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A repository whose history and state hold secrets a scan of the tree must not see."""
    root = tmp_path / "proj"
    root.mkdir()
    _git(root, "init", "-q")
    (root / "a.py").write_text(f'TOKEN = "{_token(1)}"\n')
    _git(root, "add", "a.py")
    _git(root, "commit", "-qm", "one")
    (root / ".git" / "leak.txt").write_text(f'T = "{_token(2)}"\n')
    (root / ".bastion" / "state").mkdir(parents=True)
    (root / ".bastion" / "state" / "vault.txt").write_text(f'T = "{_token(3)}"\n')
    return root


def _paths(request: PathScan) -> list[str]:
    result = scan_path(request, BubblewrapSandbox())
    assert all(o.error is None for o in result.outcomes), result.to_dict()["gates"]
    return sorted(a.finding.location.path for a in result.findings)


def _listing(root: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (str(p.relative_to(root)), p.lstat().st_mode, p.lstat().st_uid) for p in root.rglob("*")
    )


@pytest.mark.integration
def test_scans_the_tree_in_place_without_git_or_state(tree: Path) -> None:
    before = _listing(tree)
    assert _paths(PathScan(tree, SECRETS)) == ["a.py"]
    assert _listing(tree) == before  # nothing written, nothing given to the job's uid


@pytest.mark.integration
def test_files_only_their_owner_may_read_are_still_scanned(tree: Path) -> None:
    (tree / "b.py").write_text(f'T = "{_token(4)}"\n')
    (tree / "b.py").chmod(0o600)
    (tree / "private").mkdir(mode=0o700)
    (tree / "private" / "c.py").write_text(f'T = "{_token(5)}"\n')
    (tree / "private").chmod(0o700)
    # As root the job's own uid could not read them: the scan must copy them, not skip them.
    assert _paths(PathScan(tree, SECRETS)) == ["a.py", "b.py", "private/c.py"]


@pytest.mark.integration
def test_baseline_ref_is_scanned_through_a_view_too(tree: Path) -> None:
    (tree / "b.py").write_text(f'T = "{_token(6)}"\n')
    result = scan_path(PathScan(tree, SECRETS, baseline_ref="HEAD"), BubblewrapSandbox())
    assert all(o.error is None for o in result.outcomes)
    assert not result.decision.notes or "baseline scan" not in " ".join(result.decision.notes)
    assert sorted((a.finding.location.path, a.new) for a in result.findings) == [
        ("a.py", False),
        ("b.py", True),
    ]


class RefusingViewSandbox:
    """Shows trees read-only, but must never be reached."""

    shows_read_only_source = True

    def run(
        self,
        spec: SandboxSpec,
        on_output: Callable[[bytes], None],
        cancel: Callable[[], bool] | None = None,
    ) -> SandboxResult:
        raise AssertionError("a tree with unreadable files must not be scanned")


def test_unreadable_entries_as_a_user_stop_the_scan(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tree / "sealed.py").write_text("x = 1\n")
    (tree / "sealed.py").chmod(0o000)
    # As a user the job reads with the user's own rights: what they cannot read, no copy
    # could read either, and a scan that skipped it would pass without a word.
    monkeypatch.setattr("bastion.engine.gate_scan.os.geteuid", lambda: 4242)
    with pytest.raises(SandboxError, match=r"1 entries .* cannot be read.*sealed\.py"):
        scan_path(PathScan(tree, SECRETS), RefusingViewSandbox())


def test_scan_temp_inside_the_tree_is_refused(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inside = tree / "tmp"
    inside.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(inside))
    with pytest.raises(SandboxError, match="inside"):
        scan_path(PathScan(tree, SECRETS), RefusingViewSandbox())
    assert os.listdir(inside) == []


def test_a_tree_with_many_hidden_entries_is_copied_instead(tree: Path) -> None:
    for index in range(300):
        (tree / "vendor" / f"dep{index}" / ".git").mkdir(parents=True)
    sandbox = ViewSandbox()
    result = scan_path(PathScan(tree, SECRETS), sandbox)
    assert result.outcomes[0].error is None
    (spec,) = sandbox.specs
    assert spec.read_only_source is not None
    assert spec.read_only_source.name.startswith("bastion-ws-")  # a copy, not the tree
    assert list(spec.hidden_source_paths) == []  # the copy has no .git to cover


def test_a_plain_tree_is_shown_in_place(tree: Path) -> None:
    sandbox = ViewSandbox()
    scan_path(PathScan(tree, SECRETS), sandbox)
    (spec,) = sandbox.specs
    assert spec.read_only_source == tree.resolve()
    assert sorted(spec.hidden_source_paths) == [".bastion/state", ".git"]


def test_a_scan_remembers_cpu_and_the_next_one_lets_the_longest_gate_go_first(
    tree: Path, tmp_path: Path
) -> None:
    history = GateCpuHistory(tmp_path / "gate-cpu.json")
    request = PathScan(tree, [GateSpec("secrets"), GateSpec("sca")], cpu_history=history)
    first = ViewSandbox(cpu={"secrets": 0.4, "sca": 1.5})
    scan_path(request, first)
    assert first.niceness() == {"secrets": 0, "sca": 0}  # nothing known yet
    assert history.expected(tree) == {"secrets": 0.4, "sca": 1.5}
    second = ViewSandbox(cpu={"secrets": 0.4, "sca": 1.5})
    scan_path(request, second)
    assert second.niceness() == {"sca": 0, "secrets": YIELDING_NICE}


def test_without_a_history_every_gate_runs_at_the_same_priority(tree: Path) -> None:
    sandbox = ViewSandbox(cpu={"secrets": 0.4, "sca": 1.5})
    scan_path(PathScan(tree, [GateSpec("secrets"), GateSpec("sca")]), sandbox)
    assert sandbox.niceness() == {"secrets": 0, "sca": 0}


def test_a_scan_of_one_gate_remembers_nothing(tree: Path, tmp_path: Path) -> None:
    history = GateCpuHistory(tmp_path / "gate-cpu.json")
    scan_path(PathScan(tree, SECRETS, cpu_history=history), ViewSandbox(cpu={"secrets": 1}))
    assert not (tmp_path / "gate-cpu.json").exists()
