"""Fetch what a forge event names from the repository's clone URL, and establish the facts
its trust is decided from.

Everything lands under ``refs/bastion/forge/`` of the registered (server-owned) repository:
the forge's branches (``heads/*``), the tag or pull ref of the event. The watcher reads only
``refs/heads``, so a fetch starts nothing by itself. The commit the payload names must be
the fetched ref's tip or an ancestor of it: a payload cannot point a protected branch's
trust at a commit that is not on that branch, and a replay of an old delivery after its
record expired runs only a commit still on the ref it names.

The clone URL may have been set by a repository's maintainer, and the server makes git's
request: before each fetch its host is checked again (:mod:`bastion.server.clone_hosts`,
every URL but ``file://``) and one that now resolves to a loopback, link-local, metadata,
multicast or reserved address is not fetched from. git may follow no redirect (one could
point inside) and speak only the URL's own protocol. Known limit: git resolves the host
again itself, so a name whose DNS answer changes between the check and git's connection
(DNS rebinding) can still reach an internal address; an egress firewall closes that.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bastion.errors import BastionError
from bastion.server.clone_hosts import CloneHostError, check_clone_host
from bastion.server.launcher import ForgeTrigger
from bastion.server.repositories import Repository
from bastion.server.trust_policy import Trigger, TrustFacts, pipeline_changed, tag_verified
from bastion.server.webhook_events import ForgeEvent

__all__ = ["NAMESPACE", "FetchError", "TriggerInputs", "fetch_trigger"]

NAMESPACE = "refs/bastion/forge"
_TIMEOUT = 120


class FetchError(BastionError):
    """The commit could not be fetched or is not on the ref the event names."""


@dataclass(frozen=True)
class TriggerInputs:
    """What the server knows besides the fetched refs: who may build, whose keys sign."""

    author_developer: bool
    allowed_signers: Path | None


def _git(
    path: Path, *args: str, timeout: float = 30, protocol: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run git in ``path``; ``protocol``: the only transport it may use (GIT_ALLOW_PROTOCOL)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false"}
    if protocol is not None:
        env["GIT_ALLOW_PROTOCOL"] = protocol
    return subprocess.run(
        ["git", "-C", str(path), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=env,
    )


def _rev(path: Path, ref: str) -> str | None:
    done = _git(path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 else None


def _contains(path: Path, tip: str | None, commit: str) -> bool:
    if tip is None:
        return False
    if tip == commit:
        return True  # the common push: no merge-base process needed
    return _git(path, "merge-base", "--is-ancestor", commit, tip).returncode == 0


def _check_ref(ref: str) -> None:
    bad = ref.startswith("-") or any(c in ref for c in ":*+?[\\ ") or ".." in ref
    if bad or _git(Path("/"), "check-ref-format", ref).returncode != 0:
        raise FetchError(f"the event names a malformed ref {ref!r}")


def _check_source(clone_url: str) -> str:
    """The protocol git may fetch ``clone_url`` with, once its host passed the address rule;
    FetchError otherwise."""
    try:
        check_clone_host(clone_url)
    except CloneHostError as exc:
        raise FetchError(
            f"not fetched: {exc.message}; the server fetches from no loopback, link-local, "
            "metadata, multicast or reserved address (a git server on this machine: use "
            "a file:// URL or a private address)"
        ) from exc
    scheme = urlsplit(clone_url).scheme.lower()
    if not scheme.isalnum():
        raise FetchError(f"not fetched: the clone URL has no usable scheme ({scheme!r})")
    return scheme


def _fetch(repository: Repository, clone_url: str, source: str, target: str) -> None:
    refspecs = [f"+refs/heads/*:{NAMESPACE}/heads/*", f"+{source}:{target}"]
    protocol = _check_source(clone_url)
    done = _git(
        repository.path,
        "-c",
        "http.followRedirects=false",  # a redirect could point at an internal address
        "fetch",
        "--no-tags",
        "--quiet",
        "--no-write-fetch-head",
        "--",
        clone_url,
        *refspecs,
        timeout=_TIMEOUT,
        protocol=protocol,
    )
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or ["git fetch failed"]
        raise FetchError(f"cannot fetch {source} from the clone URL: {detail[0][:300]}")


def fetch_trigger(
    repository: Repository, clone_url: str, event: ForgeEvent, inputs: TriggerInputs
) -> ForgeTrigger:
    """Fetch ``event``'s refs and return what the launcher runs; FetchError when the commit
    cannot be fetched or is not on its ref."""
    _check_ref(event.ref)
    kind = event.ref.split("/", 2)[1]  # heads, tags, pull, merge-requests
    local = f"{NAMESPACE}/{kind}/{event.ref.split('/', 2)[2]}"
    _fetch(repository, clone_url, event.ref, local)
    tip = _rev(repository.path, local)
    if tip is None:
        raise FetchError(f"{event.ref} does not name a commit")
    path = repository.path
    commit = tip if event.trigger is Trigger.TAG else event.commit
    if event.trigger is Trigger.TAG:
        named = _git(path, "rev-parse", "--verify", "--quiet", local).stdout.strip()
        if event.commit not in (named, tip):
            raise FetchError(f"{event.ref} no longer names {event.commit[:12]}")
    elif not _contains(path, tip, commit):
        raise FetchError(f"commit {commit[:12]} is not on {event.ref} (not fetched)")
    default_ref = f"{NAMESPACE}/heads/{repository.default_branch}"
    # A push to the default branch fetched it as ``local``: its tip is known already.
    default = tip if local == default_ref else _rev(path, default_ref)
    # The protected branch's own head has its pipeline by definition (4 git calls saved).
    changed = commit != default and pipeline_changed(path, commit, default)
    if event.trigger is Trigger.PULL_REQUEST:
        base = event.base_branch or ""
        _check_ref(f"refs/heads/{base}")
        config = _rev(path, f"{NAMESPACE}/heads/{base}")
        if config is None:
            raise FetchError(f"the pull request's base branch {base!r} was not fetched")
        facts = TrustFacts(
            Trigger.PULL_REQUEST,
            protected=repository.is_protected(base),
            fork=event.fork,
            author_developer=inputs.author_developer,
            pipeline_changed=changed,
        )
        return ForgeTrigger(commit, event.ref, config, facts)
    if event.trigger is Trigger.TAG:
        protected = any(
            _contains(path, _rev(path, f"{NAMESPACE}/heads/{b}"), commit)
            for b in (repository.default_branch, *repository.protected_branches)
        )
        signed = tag_verified(path, local, inputs.allowed_signers)
        facts = TrustFacts(
            Trigger.TAG, protected=protected, pipeline_changed=changed, tag_signed=signed
        )
        return ForgeTrigger(commit, event.ref, commit, facts)
    branch = event.ref.removeprefix("refs/heads/")
    facts = TrustFacts(
        Trigger.PUSH,
        # Trust through the branch only when the commit is its tip as fetched now.
        protected=repository.is_protected(branch) and tip == commit,
        pipeline_changed=changed,
    )
    return ForgeTrigger(commit, event.ref, commit, facts)
