"""The one function that decides a server run's trust, and the facts it decides from.

>>> decide_trust(TrustFacts(Trigger.PUSH, protected=True))
<Trust.TRUSTED: 'trusted'>
>>> decide_trust(TrustFacts(Trigger.PULL_REQUEST, protected=True, fork=True))
<Trust.UNTRUSTED: 'untrusted'>

The facts are gathered by the server from what it reads itself (its own fetch of the refs,
its account table, ``git verify-tag`` against its own allowed signers), never from the
repository's files or from a payload's claims alone. The table (README, "Trust of server
runs"), first matching row wins:

============================================================  ==========
facts                                                          trust
============================================================  ==========
pull request from a fork                                       untrusted
pull request whose author lacks the developer role             untrusted
the pipeline file differs from the protected branch's          untrusted
pull request, same repository, author a developer              internal
tag signed by an allowed signer, its commit on a protected ref release
push (or a manual run) of a protected branch's head            trusted
anything else (unprotected branch, bare commit, unsigned tag)  internal
============================================================  ==========

``local`` and ``dirty`` are ``bastion run``'s, never the server's.
"""

from __future__ import annotations

import enum
import os
import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bastion.engine import PIPELINE_FILES
from bastion.trust import Trust

__all__ = [
    "Trigger",
    "TrustFacts",
    "commit_signature_problem",
    "decide_trust",
    "pipeline_changed",
    "signers_file_problem",
    "tag_verified",
]


class Trigger(enum.StrEnum):
    """What started a server run."""

    PUSH = "push"
    TAG = "tag"
    PULL_REQUEST = "pull_request"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class TrustFacts:
    """What the server established about a run before deciding its trust.

    ``protected``: the branch pushed (or, for a tag, a protected branch containing the tagged
    commit; for a pull request, its base branch) is protected. ``author_developer``: a pull
    request's author holds a role that may start runs on the repository (developer,
    maintainer, admin). ``pipeline_changed``: the pipeline file at the commit is not the one
    on the protected branch. ``tag_signed``: ``git verify-tag`` accepted the tag against the
    server's allowed signers.
    """

    trigger: Trigger
    protected: bool = False
    fork: bool = False
    author_developer: bool = False
    pipeline_changed: bool = False
    tag_signed: bool = False


def decide_trust(facts: TrustFacts) -> Trust:
    """The trust of a run with ``facts`` (the module's table, first matching row)."""
    if facts.trigger is Trigger.PULL_REQUEST:
        if facts.fork or not facts.author_developer or facts.pipeline_changed:
            return Trust.UNTRUSTED
        return Trust.INTERNAL
    if facts.pipeline_changed:
        return Trust.UNTRUSTED
    if facts.trigger is Trigger.TAG:
        return Trust.RELEASE if facts.tag_signed and facts.protected else Trust.INTERNAL
    return Trust.TRUSTED if facts.protected else Trust.INTERNAL


def _git(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=False, timeout=30
    )


def _blob(path: Path, commit: str, relative: str) -> str | None:
    done = _git(path, "rev-parse", "--verify", "--quiet", f"{commit}:{relative}")
    return done.stdout.strip() if done.returncode == 0 else None


def pipeline_changed(path: Path, commit: str, reference: str | None) -> bool:
    """Whether any pipeline file at ``commit`` differs from the one at ``reference`` (the
    protected branch's head). No reference to compare with counts as changed (fails closed).
    """
    if reference is None:
        return True
    return any(_blob(path, commit, f) != _blob(path, reference, f) for f in PIPELINE_FILES)


_HEX = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SSH_SIGNATURE = "-----BEGIN SSH SIGNATURE-----"


def signers_file_problem(allowed_signers: Path | None) -> str | None:
    """Why ``allowed_signers`` cannot be trusted to say whose signatures count (None: it
    can). Whoever may change the file may add their own key, so fails closed on: no file, a
    symbolic link (it could be re-pointed at a file others control), anything but a regular
    file, a file others may write, or one owned by a user other than this server's or root.
    """
    if allowed_signers is None:
        return "the server has no allowed-signers file to verify it against"
    try:
        info = os.lstat(allowed_signers)
    except FileNotFoundError:
        return "the server has no allowed-signers file to verify it against"
    except OSError as exc:
        return f"the allowed-signers file {allowed_signers} cannot be read ({exc.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return (
            f"the allowed-signers file {allowed_signers} is a symbolic link; "
            "replace it with the file itself"
        )
    if not stat.S_ISREG(info.st_mode):
        return f"the allowed-signers file {allowed_signers} is not a regular file"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (
            f"the allowed-signers file {allowed_signers} may be written by others; "
            f"run 'chmod go-w {allowed_signers}'"
        )
    if info.st_uid not in (0, os.geteuid()):
        return (
            f"the allowed-signers file {allowed_signers} is owned by another user (uid "
            f"{info.st_uid}); make the server's user or root its owner"
        )
    return None


def _verifying(allowed_signers: Path) -> tuple[str, ...]:
    """``git -c`` options that make git verify SSH signatures against ``allowed_signers``
    with ``ssh-keygen``: given on the command line, they win over the repository's own
    configuration, which therefore cannot name another signers file or program."""
    return (
        "-c",
        "gpg.format=ssh",
        "-c",
        f"gpg.ssh.allowedSignersFile={allowed_signers}",
        "-c",
        "gpg.ssh.program=ssh-keygen",
    )


def commit_signature_problem(path: Path, commit: str, allowed_signers: Path | None) -> str | None:
    """Why ``commit`` is not signed by a key of the server's ``allowed_signers`` (None: it
    is). Fails closed: no signers file, an unreadable commit, no signature, a GPG signature
    (it would be checked against the host's keyring, not the server's list) or a key the
    list does not hold are all reasons.

    The signature covers the commit's tree, so a signed tip vouches for every file the run
    builds, whatever the commits before it.
    """
    short = commit[:12]
    if _HEX.fullmatch(commit) is None:
        return f"{commit[:40]!r} is not a commit id"
    unusable = signers_file_problem(allowed_signers)
    if unusable is not None or allowed_signers is None:
        return f"commit {short}: {unusable}"
    body = _git(path, "cat-file", "commit", commit)
    if body.returncode != 0:
        return f"commit {short} cannot be read"
    header = body.stdout.split("\n\n", 1)[0]
    if "\ngpgsig " not in f"\n{header}" and "\ngpgsig-sha256 " not in f"\n{header}":
        return f"commit {short} is not signed"
    if _SSH_SIGNATURE not in header:
        return f"commit {short} is not signed with an SSH key"
    done = _git(path, *_verifying(allowed_signers), "verify-commit", commit)
    if done.returncode != 0:
        return f"commit {short} is not signed by an allowed signer of this server"
    return None


def tag_verified(path: Path, tag_ref: str, allowed_signers: Path | None) -> bool:
    """Whether the annotated tag ``tag_ref`` carries an SSH signature by a key of
    ``allowed_signers`` (``git verify-tag``). No allowed-signers file: nothing verifies.

    The repository's own configuration cannot widen this: the signers file and the format
    are passed on the command line, which takes precedence over it.
    """
    if allowed_signers is None or signers_file_problem(allowed_signers) is not None:
        return False
    if _git(path, "cat-file", "-t", tag_ref).stdout.strip() != "tag":
        return False  # a lightweight tag has nothing to verify
    if _SSH_SIGNATURE not in _git(path, "cat-file", "tag", tag_ref).stdout:
        return False  # only SSH signatures: a GPG one would be checked by the host's keyring
    done = _git(path, *_verifying(allowed_signers), "verify-tag", tag_ref)
    return done.returncode == 0
