"""Does an event match a pipeline's ``on:`` triggers? Glob matching on branch and tag names."""

from __future__ import annotations

import fnmatch

from bastion.pipeline.schema import Triggers

__all__ = ["matches_trigger"]


def _glob(name: str, patterns: list[str]) -> bool:
    # fnmatchcase: `release/*` must not match `Release/1`; `*` matches across `/` like Git's `**`.
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def matches_trigger(triggers: Triggers, *, event: str, ref: str | None) -> bool:
    """True when ``event`` on ``ref`` (``refs/heads/x``, ``refs/tags/y`` or a bare name) runs."""
    if event == "local":
        return True
    ref = ref or ""
    if event == "push" and triggers.push is not None:
        if ref.startswith("refs/tags/"):
            return _glob(ref.removeprefix("refs/tags/"), triggers.push.tags)
        return _glob(ref.removeprefix("refs/heads/"), triggers.push.branches)
    if event == "pull_request" and triggers.pull_request is not None:
        return _glob(ref.removeprefix("refs/heads/"), triggers.pull_request.branches)
    return False
