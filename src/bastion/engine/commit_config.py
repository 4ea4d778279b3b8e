"""The gate policy and suppressions a run decides with, read from the commit being run.

With ``--commit REV`` every input of the decision comes from REV, like the pipeline file:
a policy or suppression edited in the working tree (or planted there by anything that can
write it) must not change the verdict on a commit someone else will ship. Without a commit,
the working tree is what is being run, so its files decide.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from bastion.engine.gate_evaluator import PolicyGateEvaluator
from bastion.engine.git_context import read_file_at_commit, tree_path
from bastion.errors import PolicyError
from bastion.policy import PolicyEngine, Suppressions, load_suppressions

__all__ = ["POLICY_DIR", "SUPPRESSIONS", "gate_evaluator_at"]

POLICY_DIR = ".bastion/policy"
SUPPRESSIONS = ".bastion/suppressions.yml"


def gate_evaluator_at(
    root: Path, commit: str | None, *, accepted: Suppressions | None = None
) -> PolicyGateEvaluator:
    """The evaluator of ``root``'s policy and suppressions at ``commit`` (None: working tree).

    ``accepted`` (the findings accepted on the server) are merged after the file's entries.
    PolicyError (exit 2) when either is malformed, naming the file as ``path@commit``.
    """
    if commit is None:
        return _evaluator(root, accepted)
    with tempfile.TemporaryDirectory(prefix="bastion-policy-") as scratch:
        # The loaders read files; they get the commit's bytes and nothing else.
        copy = Path(scratch)
        for relative in (*_policy_files(root, commit), SUPPRESSIONS):
            data = read_file_at_commit(root, commit, relative)
            if data is not None:
                target = copy / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        return _evaluator(copy, accepted)


def _evaluator(project: Path, accepted: Suppressions | None) -> PolicyGateEvaluator:
    if accepted is None:
        return PolicyGateEvaluator.for_project(project)
    config = project / ".bastion"
    suppressions = load_suppressions(config / "suppressions.yml").merged(accepted)
    return PolicyGateEvaluator(PolicyEngine.load(config / "policy"), suppressions)


def _policy_files(root: Path, commit: str) -> list[str]:
    """The ``*.rego`` files directly in the policy directory at ``commit``."""
    listed = subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "ls-tree",
            "--name-only",
            f"{commit}:{tree_path(root, POLICY_DIR)}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        if "Not a valid object name" in listed.stderr:
            return []  # no policy directory at that commit: Bastion's default policy
        raise PolicyError(
            f"{POLICY_DIR}@{commit[:12]}: cannot read the policy directory: "
            f"{listed.stderr.strip()}",
            hint=f"{POLICY_DIR} must be a directory of .rego files",
        )
    return [f"{POLICY_DIR}/{name}" for name in listed.stdout.splitlines() if name.endswith(".rego")]
