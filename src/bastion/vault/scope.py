"""Where a secret may go: repositories, refs, environments and trust levels.

A :class:`Scope` is checked against the :class:`RequestContext` of the job asking for the
secret; every dimension must match. Patterns are shell globs (``fnmatch``, case-sensitive;
``*`` also matches ``/``, so ``release/*`` covers ``release/1.2/hotfix``).

Empty dimensions: no ``repos`` means any repository; no ``branches`` and no ``tags`` means
any ref (a run on a detached commit included); giving either restricts the ref to the listed
branches or tags (a run without a ref then gets nothing); no ``environments`` means any job,
with or without an environment. ``trust`` is never empty: untrusted runs (fork pull
requests, changed pipeline files) never receive secrets, whatever the scope says.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bastion.errors import VaultError
from bastion.trust import Trust

__all__ = ["DEFAULT_TRUST", "RequestContext", "Scope"]


# Like every level, local and dirty must be named in a scope to receive a secret: the
# default never reaches a run on a developer's machine.
DEFAULT_TRUST = frozenset({Trust.TRUSTED, Trust.RELEASE})


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The job asking for secrets. ``ref`` is a full git ref (``refs/heads/main``,
    ``refs/tags/v1.2``) or None for a detached commit."""

    repo: str
    ref: str | None
    environment: str | None
    trust: Trust
    job: str
    run: str


def _check_patterns(kind: str, patterns: Iterable[str]) -> tuple[str, ...]:
    cleaned = tuple(sorted({p.strip() for p in patterns}))
    for pattern in cleaned:
        if not pattern:
            raise VaultError(f"an empty {kind} pattern in a secret's scope")
        if any(ch.isspace() or ord(ch) < 32 for ch in pattern):
            raise VaultError(f"{kind} pattern {pattern!r} contains whitespace or control chars")
    return cleaned


@dataclass(frozen=True, slots=True)
class Scope:
    """Where one secret may be released; validated on construction."""

    repos: tuple[str, ...] = ()
    branches: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    trust: frozenset[Trust] = field(default=DEFAULT_TRUST)

    def __post_init__(self) -> None:
        object.__setattr__(self, "repos", _check_patterns("repository", self.repos))
        object.__setattr__(self, "branches", _check_patterns("branch", self.branches))
        object.__setattr__(self, "tags", _check_patterns("tag", self.tags))
        object.__setattr__(self, "environments", _check_patterns("env", self.environments))
        if not self.trust:
            raise VaultError("a secret's scope needs at least one trust level")
        if not all(level.receives_secrets for level in self.trust):
            raise VaultError(
                "untrusted runs never receive secrets",
                hint="scope the secret to internal, trusted or release runs",
            )

    @classmethod
    def build(
        cls,
        *,
        repos: Iterable[str] = (),
        branches: Iterable[str] = (),
        tags: Iterable[str] = (),
        environments: Iterable[str] = (),
        trust: Iterable[str] = (),
    ) -> Scope:
        """A scope from plain strings (trust level names); no trust means trusted+release."""
        levels: set[Trust] = set()
        for name in trust:
            try:
                levels.add(Trust(name))
            except ValueError as exc:
                valid = ", ".join(Trust)
                raise VaultError(
                    f"unknown trust level {name!r}", hint=f"use one of: {valid}"
                ) from exc
        return cls(
            repos=tuple(repos),
            branches=tuple(branches),
            tags=tuple(tags),
            environments=tuple(environments),
            trust=frozenset(levels) if levels else DEFAULT_TRUST,
        )

    def to_json(self) -> dict[str, Any]:
        """Canonical JSON form (sorted lists): also the bytes bound into the ciphertext."""
        return {
            "repos": list(self.repos),
            "branches": list(self.branches),
            "tags": list(self.tags),
            "environments": list(self.environments),
            "trust": sorted(str(level) for level in self.trust),
        }

    @classmethod
    def from_json(cls, data: Any) -> Scope:
        """The scope stored in a vault file; raises :class:`VaultError` if malformed."""
        keys = ("repos", "branches", "tags", "environments", "trust")
        if not isinstance(data, dict) or set(data) != set(keys):
            raise VaultError("a secret's scope in the vault file is malformed")
        for key in keys:
            value = data[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise VaultError(f"a secret's scope field {key!r} in the vault file is malformed")
        return cls.build(
            repos=data["repos"],
            branches=data["branches"],
            tags=data["tags"],
            environments=data["environments"],
            trust=data["trust"] or ["untrusted"],  # an empty stored set must not widen
        )

    def mismatch(self, context: RequestContext) -> str | None:
        """Why ``context`` is outside this scope, or None if every dimension matches."""
        if context.trust not in self.trust:
            allowed = ", ".join(sorted(self.trust))
            return f"trust level {str(context.trust)!r} is not one of: {allowed}"
        if self.repos and not _any_match(context.repo, self.repos):
            return f"repository {context.repo!r} does not match {list(self.repos)}"
        ref_problem = self._ref_mismatch(context.ref)
        if ref_problem:
            return ref_problem
        if self.environments and context.environment not in self.environments:
            shown = "no environment" if context.environment is None else context.environment
            return f"environment {shown!r} is not one of {list(self.environments)}"
        return None

    def _ref_mismatch(self, ref: str | None) -> str | None:
        if not self.branches and not self.tags:
            return None
        wanted = f"branches {list(self.branches)} or tags {list(self.tags)}"
        if ref is None:
            return f"the run has no branch or tag; the secret is limited to {wanted}"
        if ref.startswith("refs/heads/"):
            branch = ref.removeprefix("refs/heads/")
            if _any_match(branch, self.branches):
                return None
            return f"branch {branch!r} does not match {list(self.branches)}"
        if ref.startswith("refs/tags/"):
            tag = ref.removeprefix("refs/tags/")
            if _any_match(tag, self.tags):
                return None
            return f"tag {tag!r} does not match {list(self.tags)}"
        return f"ref {ref!r} is neither a branch nor a tag; the secret is limited to {wanted}"


def _any_match(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)
