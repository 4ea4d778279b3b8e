"""The GitOps target: publish a verified digest as a signed commit; sync a local target from it.

:func:`publish` writes the environment's :class:`Manifest` into a scratch clone of the
GitOps repository, commits it signed with Bastion's ssh key (``<home>/keys/gitops``) and
pushes. A push rejected as non-fast-forward (someone pushed meanwhile) is retried once on
top of the new head; a second rejection, or any other, fails with the remote's message.

:func:`sync` is the Argo CD half: it reads the manifest at the branch's head, refuses the
commit unless its ssh signature verifies against the allowed signers (unsigned or unknown
key: refused, audited, nothing changed), then deploys the digest with the local target —
whose admission verifies the artifact again — only if what runs differs.

Security model. You can rely on: sync deploys nothing that a trusted key did not sign at the
branch head (the signature covers the commit, hence the whole tree), nor an artifact that
does not pass admission for the environment. You must not assume: that an older signed
manifest cannot be replayed by someone able to rewrite the branch (git has no freshness).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bastion.audit import AuditEvent, Outcome
from bastion.deploy.admission import admit
from bastion.deploy.gitops_git import GitOpsKey, ScratchRepo
from bastion.deploy.gitops_manifest import Manifest
from bastion.deploy.interface import AuditSink, GitOpsError, GitOpsRefusedError, Strategy
from bastion.deploy.rollout import DeployResult, LocalDeployer
from bastion.deploy.state import EnvironmentState
from bastion.errors import UsageError
from bastion.supplychain import Digest

__all__ = [
    "GitOpsTarget",
    "PublishResult",
    "PushObserver",
    "SyncResult",
    "checked_path",
    "deploy_gitops",
    "publish",
    "sync",
]

PushObserver = Callable[[int], None]
"""Called with the attempt number (1, 2) after the commit is made, just before its push."""

_REJECTED = ("(non-fast-forward)", "(fetch first)")


@dataclass(frozen=True)
class PublishResult:
    """The commit that holds the manifest, how many pushes it took, whether it changed."""

    commit: str
    attempts: int
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"commit": self.commit, "attempts": self.attempts, "changed": self.changed}


@dataclass(frozen=True)
class SyncResult:
    """What sync found at the head and what it did: ``in-sync`` or the deploy's result."""

    commit: str
    manifest: Manifest
    deploy: DeployResult | None

    @property
    def ok(self) -> bool:
        """In sync already, or the deploy completed."""
        return self.deploy is None or self.deploy.ok

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "commit": self.commit,
            "environment": self.manifest.environment,
            "digest": self.manifest.digest,
            "outcome": "in-sync" if self.deploy is None else self.deploy.outcome,
            "deploy": self.deploy.to_dict() if self.deploy else None,
        }


def checked_path(path: str) -> str:
    """A repository-relative manifest path, refusing absolute paths, ``..`` and ``.git``."""
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or any(p in ("..", ".git", ".") for p in parts):
        raise UsageError(f"--path {path!r} must be a relative path inside the repository")
    return "/".join(parts)


def publish(
    home: Path,
    remote: str,
    branch: str,
    path: str,
    manifest: Manifest,
    observer: PushObserver | None = None,
) -> PublishResult:
    """Commit ``manifest`` at ``path`` signed and push it; one retry on non-fast-forward."""
    key = GitOpsKey.of(home).ensure()
    path = checked_path(path)
    with tempfile.TemporaryDirectory(prefix="bastion-gitops-") as scratch:
        repo = ScratchRepo.create(Path(scratch), remote, branch)
        for attempt in (1, 2):
            commit, changed = _commit(repo, key, path, manifest)
            if not changed:
                return PublishResult(commit, attempt, changed=False)
            if observer is not None:
                observer(attempt)
            done = repo.attempt("push", "--porcelain", "--", remote, f"HEAD:refs/heads/{branch}")
            if done.returncode == 0:
                return PublishResult(commit, attempt, changed=True)
            message = (done.stdout + done.stderr).strip()
            if attempt == 2 or not any(r in message for r in _REJECTED):
                tries = " after one retry" if attempt == 2 else ""
                raise GitOpsError(f"push to {remote} rejected{tries}: {message}")
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class GitOpsTarget:
    """Where manifests go: the repository (URL or path), its branch, the manifest path."""

    remote: str
    branch: str
    path: str


def deploy_gitops(
    home: Path,
    deployer: LocalDeployer,
    digest: Digest,
    plan: tuple[Strategy, tuple[int, ...]],
    target: GitOpsTarget,
    observer: PushObserver | None = None,
) -> PublishResult:
    """Admit ``digest`` as the local target would, then publish its manifest; audited."""
    config = deployer.config
    report = admit(deployer.store, deployer.trusted, config, digest, deployer.audit, deployer.actor)
    artifact = deployer.store.record(digest).name
    manifest = Manifest.from_report(config.name, artifact, *plan, report)
    result = publish(home, target.remote, target.branch, target.path, manifest, observer)
    details = {"environment": config.name, "repository": target.remote, **result.to_dict()}
    event = AuditEvent(deployer.actor, "deploy.published", digest, Outcome.SUCCESS, details)
    deployer.audit(event)
    return result


def _commit(repo: ScratchRepo, key: GitOpsKey, path: str, manifest: Manifest) -> tuple[str, bool]:
    """The manifest committed (signed) on the remote's current head; False if unchanged."""
    base = repo.fetch_head()
    if base is not None:
        repo.git("checkout", "-q", "-f", "--detach", base)
    target = repo.path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(manifest.to_bytes())
    repo.git("add", "--", path)
    if base is not None and repo.attempt("diff", "--cached", "--quiet", base).returncode == 0:
        return base, False
    signing = ("gpg.format=ssh", f"user.signingkey={key.private}")
    message = f"deploy {manifest.environment}: {manifest.digest} ({manifest.artifact})"
    repo.git("commit", "-q", "-S", "-m", message, config=signing)
    return repo.git("rev-parse", "HEAD").strip(), True


def _check_signers_file(allowed_signers: Path) -> None:
    """UsageError unless ``allowed_signers`` can be trusted to say whose commits deploy:
    whoever may change it may add their own key, so a symbolic link (re-pointable), a file
    others may write or one owned by another user than this one or root is refused."""
    try:
        info = os.lstat(allowed_signers)
    except OSError:
        info = None
    if info is None or not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
        raise UsageError(
            f"{allowed_signers}: no allowed signers, so no GitOps commit can be trusted",
            hint="copy the publisher's <home>/keys/gitops/allowed_signers there",
        )
    if stat.S_ISLNK(info.st_mode):
        problem, fix = "is a symbolic link", "replace the link with the file itself"
    elif info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem, fix = "may be written by others", f"chmod go-w {allowed_signers}"
    elif info.st_uid not in (0, os.geteuid()):
        problem, fix = f"is owned by another user (uid {info.st_uid})", "chown it to this user"
    else:
        return
    raise UsageError(
        f"{allowed_signers}: the allowed signers {problem}, so no GitOps commit can be trusted",
        hint=fix,
    )


def sync(
    remote: str,
    branch: str,
    path: str,
    deployer: LocalDeployer,
    allowed_signers: Path,
    audit: AuditSink,
) -> SyncResult:
    """Reconcile ``deployer``'s environment with the signed manifest at the branch head."""
    _check_signers_file(allowed_signers)
    environment = deployer.config.name
    with tempfile.TemporaryDirectory(prefix="bastion-gitops-") as scratch:
        repo = ScratchRepo.create(Path(scratch), remote, branch)
        head = repo.fetch_head()
        if head is None:
            raise GitOpsError(f"{remote}: branch {branch!r} does not exist")

        def refuse(reason: str, detail: str) -> GitOpsRefusedError:
            details = {"environment": environment, "commit": head, "reason": reason}
            audit(AuditEvent(deployer.actor, "gitops.verified", remote, Outcome.DENIED, details))
            return GitOpsRefusedError(
                f"GitOps commit {head} refused: {reason}: {detail}", reason=reason
            )

        signer = _signature(repo, head, allowed_signers)
        if signer is None:
            raise refuse("untrusted-commit", "not signed by an allowed signer")
        shown = repo.attempt("show", f"{head}:{checked_path(path)}")
        if shown.returncode != 0:
            raise refuse("no-manifest", f"{path} is not in the commit")
        manifest = Manifest.from_bytes(shown.stdout.encode())
    if manifest.environment != environment:
        raise refuse("environment-mismatch", f"{path} is for {manifest.environment!r}")
    details = {"environment": environment, "commit": head, "signer": signer}
    audit(AuditEvent(deployer.actor, "gitops.verified", remote, Outcome.SUCCESS, details))
    return _reconcile(deployer, head, manifest, audit)


def _signature(repo: ScratchRepo, commit: str, allowed_signers: Path) -> str | None:
    """The signer's key fingerprint if ``commit``'s signature is good and trusted, else None."""
    config = (f"gpg.ssh.allowedSignersFile={allowed_signers.resolve()}",)
    shown = repo.git("log", "-1", "--format=%G?%x1f%GF", commit, "--", config=config)
    status, _, fingerprint = shown.strip().partition("\x1f")
    return fingerprint if status == "G" and fingerprint else None


def _reconcile(
    deployer: LocalDeployer, commit: str, manifest: Manifest, audit: AuditSink
) -> SyncResult:
    """Deploy the manifest's digest unless it already runs; audited either way."""
    running = EnvironmentState.load(deployer.directory).running()
    result = None
    if running is None or running.digest != manifest.digest:
        result = deployer.deploy(manifest.digest, manifest.strategy, manifest.steps)
    synced = SyncResult(commit, manifest, result)
    outcome = Outcome.SUCCESS if synced.ok else Outcome.FAILURE
    subject = f"deploy/{manifest.environment}"
    audit(AuditEvent(deployer.actor, "gitops.synced", subject, outcome, synced.to_dict()))
    return synced
