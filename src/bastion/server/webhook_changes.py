"""The CI files a forge delivery changes, for the ``source.changed`` audit event.

ARCHITECTURE.md: a pipeline-file change is itself an alert. A pull request that edits
``.bastion/pipeline.yml`` runs the base branch's pipeline (so ``run.started`` carries the
base's digest and the ``pipeline-changed`` rule's digest check never sees the edit); this
module names the edit instead. The comparison is against the merge base with the protected
ref (``reference...commit``), so commits that landed on the base after the branch was cut
are not taken for the branch's own changes. Only CI paths are listed: the server's own
(``.bastion/``, the pipeline files) and the other forges' workflow files the monitor's
default patterns watch; a branch touching thousands of source files costs one bounded diff.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["CI_PATHSPECS", "ci_changes"]

# Git pathspecs of the files whose change is an alert (the monitor's DEFAULT_CI_PATTERNS).
CI_PATHSPECS = (
    ".bastion",
    ".bastion.yml",
    ".bastion.yaml",
    ".github/workflows",
    ".github/actions",
    ".gitlab-ci.yml",
    ".gitlab/ci",
    "Jenkinsfile",
)
_CHANGE = {"A": "added", "M": "modified", "D": "deleted", "T": "modified"}
_MAX_FILES = 200  # an event stays small; the first 200 CI files are plenty to alert on


def ci_changes(repository: Path, reference: str | None, commit: str) -> list[dict[str, str]]:
    """``[{"path", "change"}]`` of the CI files ``commit`` changes since its merge base with
    ``reference`` (the protected ref's tip). No reference, or git cannot compare the two
    (unrelated histories): every CI file at ``commit`` counts as added (fails closed)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    if reference is not None:
        args = ["diff", "--name-status", "--no-renames", "-z", f"{reference}...{commit}"]
    else:
        args = ["ls-tree", "-r", "--name-only", "-z", commit]
    done = subprocess.run(
        ["git", "-C", str(repository), *args, "--", *CI_PATHSPECS],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env=env,
    )
    if done.returncode != 0 and reference is not None:
        return ci_changes(repository, None, commit)
    fields = [f for f in done.stdout.split("\0") if f]
    if reference is None:
        return [{"path": p, "change": "added"} for p in fields[:_MAX_FILES]]
    pairs = zip(fields[0::2], fields[1::2], strict=False)
    return [{"path": p, "change": _CHANGE.get(s[:1], "modified")} for s, p in pairs][:_MAX_FILES]
