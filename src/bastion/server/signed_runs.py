"""Signed commits on protected branches: a run that would build an unsigned commit, or one
signed by a key the server does not allow, is recorded as blocked and never executed.

Checked where every server run is decided (the launcher's ``submit``), so a forge webhook,
a post-receive hook, a poll and a manual trigger of the branch all pass the same check. The
keys are the server's ``$BASTION_HOME/allowed_signers`` (the file release tags are verified
against); the setting is per repository: the protected branches named ``signed_branches``.

    >>> reason = signature_block(repository, "refs/heads/main", commit, signers)  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from bastion.audit import AuditEvent, Outcome, open_local_log
from bastion.engine import RunContext, RunId, RunState, create_run
from bastion.server.repositories import Repository
from bastion.server.trust_policy import commit_signature_problem
from bastion.store import Database, RunRecord

__all__ = ["ALLOWED_SIGNERS", "RUN_BLOCKED", "record_blocked_run", "signature_block"]

ALLOWED_SIGNERS = "allowed_signers"  # under $BASTION_HOME, as api_webhooks reads it
RUN_BLOCKED = "run.blocked"


def signature_block(
    repository: Repository, ref: str | None, commit: str, allowed_signers: Path
) -> str | None:
    """Why a run of ``commit`` through ``ref`` may not start (None: it may).

    Only a branch the repository requires signatures on is checked; its commit must carry
    an SSH signature by a key of ``allowed_signers`` (a missing file blocks: fails closed).
    """
    if ref is None or not ref.startswith("refs/heads/"):
        return None
    branch = ref.removeprefix("refs/heads/")
    if not repository.requires_signed_commits(branch):
        return None
    problem = commit_signature_problem(repository.path, commit, allowed_signers)
    if problem is None:
        return None
    return f"{branch} requires signed commits: {problem}"


def record_blocked_run(
    db: Database, home: Path, context: RunContext, source: str, digest: str, reason: str
) -> RunId:
    """Record a run blocked before it started, with ``reason``, and audit it."""
    run_id = create_run(db, context, source, digest)
    with db.session() as session:
        session.execute(
            update(RunRecord)
            .where(RunRecord.id == run_id)
            .values(status=RunState.BLOCKED.value, reason=reason, finished_at=datetime.now(UTC))
        )
    log, _created = open_local_log(db, home)
    log.append(
        AuditEvent(
            "bastion",
            RUN_BLOCKED,
            f"run/{run_id}",
            Outcome.DENIED,
            {"repo": context.repo, "commit": context.commit, "ref": context.ref, "reason": reason},
        )
    )
    return run_id
