"""The git and ssh-keygen seam of the GitOps target: a scratch clone and the signing key.

Every git call runs with a fixed identity, no user or system configuration, no hooks of the
scratch clone and a timeout; a failure becomes :class:`GitOpsError` carrying git's own
message, so no ``CalledProcessError`` crosses the package.

The key Bastion signs GitOps commits with lives under ``<home>/keys/gitops``::

    signing_key         OpenSSH Ed25519 private key, mode 0600 (never printed)
    signing_key.pub     its public key
    allowed_signers     what ``bastion gitops sync`` trusts (ssh-keygen ALLOWED SIGNERS format)
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bastion.deploy.interface import GitOpsError

__all__ = ["PRINCIPAL", "GitOpsKey", "ScratchRepo"]

PRINCIPAL = "bastion-gitops"
_TIMEOUT = 120.0


def _run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}
    try:
        return subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitOpsError(f"{argv[0]} could not run: {exc}") from exc


@dataclass(frozen=True)
class GitOpsKey:
    """The ssh signing key and allowed-signers file under ``<home>/keys/gitops``."""

    directory: Path

    @classmethod
    def of(cls, home: Path) -> GitOpsKey:
        """The key location of ``home`` (nothing is created)."""
        return cls(home / "keys" / "gitops")

    @property
    def private(self) -> Path:
        """The private key file."""
        return self.directory / "signing_key"

    @property
    def allowed_signers(self) -> Path:
        """The allowed-signers file sync verifies commits against."""
        return self.directory / "allowed_signers"

    def ensure(self) -> GitOpsKey:
        """Generate the key (and trust it in ``allowed_signers``) on first use."""
        if self.private.exists():
            return self
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        argv = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", PRINCIPAL]
        done = _run([*argv, "-f", str(self.private)])
        if done.returncode != 0:
            raise GitOpsError(f"ssh-keygen failed: {done.stderr.strip()}")
        public = self.private.with_suffix(".pub").read_text(encoding="utf-8").split()
        line = f'{PRINCIPAL} namespaces="git" {public[0]} {public[1]}\n'
        # 0644 whatever the umask: sync refuses a signers file others may write.
        fd = os.open(self.allowed_signers, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line)
        return self


@dataclass(frozen=True)
class ScratchRepo:
    """A throwaway local repository used to read from and write to the GitOps remote."""

    path: Path
    remote: str
    branch: str

    @classmethod
    def create(cls, path: Path, remote: str, branch: str) -> ScratchRepo:
        """``git init`` at ``path`` (an empty directory) for ``remote``'s ``branch``."""
        repo = cls(path, remote, branch)
        repo.git("init", "-q")
        return repo

    def git(self, *args: str, config: tuple[str, ...] = ()) -> str:
        """Run git here; GitOpsError with git's message if it fails."""
        done = self.attempt(*args, config=config)
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip()
            raise GitOpsError(f"git {args[0]} failed for {self.remote}: {message}")
        return done.stdout

    def attempt(self, *args: str, config: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """Run git here and return the result whatever the exit status."""
        fixed = ["-c", "user.name=Bastion", "-c", "user.email=bastion@localhost"]
        fixed += ["-c", "core.hooksPath=/dev/null", "-c", "protocol.file.allow=always"]
        options = [x for c in config for x in ("-c", c)]
        return _run(["git", "-C", str(self.path), *fixed, *options, *args])

    def fetch_head(self) -> str | None:
        """Fetch the branch from the remote; its commit, or None if it does not exist yet."""
        ref = f"refs/heads/{self.branch}"
        listed = self.git("ls-remote", "--", self.remote, ref).split()
        if not listed:
            return None
        self.git("fetch", "-q", "--no-tags", "--", self.remote, f"+{ref}:refs/remotes/gitops")
        return self.git("rev-parse", "--verify", "refs/remotes/gitops^{commit}").strip()
