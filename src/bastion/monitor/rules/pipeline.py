"""Pipeline and CI files: a changed pipeline, a new workflow file.

``pipeline-changed`` reads ``run.started`` (its ``pipeline_digest`` against the last one
seen for that repository and pipeline path) and ``source.changed`` (a modified CI file);
``new-pipeline-file`` reads ``source.changed`` for CI files that were added.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase

from bastion.monitor.events import RUN_STARTED, SOURCE_CHANGED
from bastion.monitor.interface import Baseline, Observation, Severity, Signal
from bastion.monitor.rules.base import BuiltinRule, short

__all__ = ["NewPipelineFile", "PipelineChanged", "changed_files"]


def changed_files(event: Observation) -> Iterator[tuple[str, str]]:
    """(path, change) of each well-formed entry of a ``source.changed`` event."""
    files = event.details.get("files")
    if not isinstance(files, list):
        return
    for item in files:
        if isinstance(item, dict):
            path, change = item.get("path"), item.get("change")
            if isinstance(path, str) and isinstance(change, str):
                yield path, change


class _CiFiles(BuiltinRule):
    def is_ci(self, path: str) -> bool:
        return any(fnmatchcase(path, pattern) for pattern in self.settings.ci_patterns)


class PipelineChanged(_CiFiles):
    """A pipeline or CI file changed (ARCHITECTURE.md: a pipeline-file change is an alert)."""

    name = "pipeline-changed"
    actions = frozenset({RUN_STARTED, SOURCE_CHANGED})
    default_severity = Severity.HIGH

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        repo = event.text("repo")
        if event.action == SOURCE_CHANGED:
            for path, change in changed_files(event):
                if change in {"modified", "renamed", "deleted"} and self.is_ci(path):
                    title = f"CI file {short(path)} {change} in {short(repo)}"
                    detail = (
                        f"commit {event.text('commit')} on {event.text('ref')} by {event.actor}"
                    )
                    yield self.signal(event, title, detail, f"{repo}:{path}:{event.seq}", repo)
            return
        path, digest = event.text("pipeline"), event.text("pipeline_digest")
        if not digest:
            return
        scope = f"{repo}:{path}"
        had_one = baseline.known("pipeline-digest", scope)
        if baseline.learn("pipeline-digest", scope, digest) and had_one:
            title = f"pipeline {short(path)} of {short(repo)} changed"
            detail = (
                f"{event.subject} on {event.text('ref')} (trust {event.text('trust')}) runs "
                f"pipeline digest {digest}, not seen before for this repository"
            )
            yield self.signal(event, title, detail, f"{scope}:{digest}", repo)


class NewPipelineFile(_CiFiles):
    """A workflow or pipeline file was added."""

    name = "new-pipeline-file"
    actions = frozenset({SOURCE_CHANGED})
    default_severity = Severity.HIGH

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        repo = event.text("repo")
        for path, change in changed_files(event):
            if change == "added" and self.is_ci(path):
                title = f"new CI file {short(path)} in {short(repo)}"
                detail = f"commit {event.text('commit')} on {event.text('ref')} by {event.actor}"
                yield self.signal(event, title, detail, f"{repo}:{path}", repo)
