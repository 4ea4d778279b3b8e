"""Issue 21 §4: with ``--commit REV`` the policy and suppressions come from REV.

A real ``bastion run`` of a real git repository: the commit's (default) policy lets the
gate's low finding pass; a policy added to the working tree afterwards blocks everything.
A working-tree run obeys the new policy; a ``--commit HEAD`` run does not see it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion.engine.commit_config import gate_evaluator_at
from bastion.engine.model import RunContext, Trust
from bastion.errors import PolicyError
from tests.support import git, home_env, run_bastion

pytestmark = pytest.mark.integration

PIPELINE = """
jobs:
  scan:
    uses: bastion/sarif
    with:
      command: cp scan.sarif "$BASTION_SARIF"
"""
SARIF = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {"driver": {"name": "t"}},
            "results": [{"ruleId": "R", "level": "note", "message": {"text": "minor"}}],
        }
    ],
}
STRICT = 'package bastion.gate\nimport rego.v1\ndeny contains "working tree says no" if true\n'
CTX = RunContext(repo="r", commit="c", ref="refs/heads/main", event="local", trust=Trust.LOCAL)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed project whose gate reports one low finding; a strict policy uncommitted."""
    repo = tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion" / "pipeline.yml").write_text(PIPELINE)
    (repo / "scan.sarif").write_text(json.dumps(SARIF))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    (repo / ".bastion" / "policy").mkdir()
    (repo / ".bastion" / "policy" / "strict.rego").write_text(STRICT)
    return repo


def _scan_state(done: object) -> str:
    assert hasattr(done, "stdout")
    result = json.loads(str(done.stdout))
    return str(result["jobs"]["scan"]["state"])


def test_a_working_tree_policy_edit_does_not_change_a_commit_run(
    repo: Path, tmp_path: Path
) -> None:
    env = home_env(tmp_path / "home")
    on_tree = run_bastion("run", "-C", str(repo), "--json", env=env)
    assert on_tree.returncode == 1, on_tree.stderr
    assert _scan_state(on_tree) == "blocked"

    on_commit = run_bastion("run", "-C", str(repo), "--commit", "HEAD", "--json", env=env)
    assert on_commit.returncode == 0, on_commit.stderr
    assert _scan_state(on_commit) == "passed"


def test_the_commit_policy_is_read_from_git(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "strict policy")
    (repo / ".bastion" / "policy" / "strict.rego").unlink()  # gone from the tree only
    strict = gate_evaluator_at(repo, "HEAD")
    lenient = gate_evaluator_at(repo, "HEAD~1")
    report = json.dumps({"gate": "sarif", "findings": []}).encode()
    assert "working tree says no" in " ".join(strict.evaluate("s", "sarif", report, CTX).reasons)
    assert "working tree says no" not in " ".join(
        lenient.evaluate("s", "sarif", report, CTX).reasons
    )


def test_a_malformed_commit_policy_is_a_policy_error(repo: Path) -> None:
    (repo / ".bastion" / "suppressions.yml").write_text("suppressions: [unclosed\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "broken suppressions")
    with pytest.raises(PolicyError, match=r"suppressions"):
        gate_evaluator_at(repo, "HEAD")
