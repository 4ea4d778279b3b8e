"""Which job cache a run may use: one namespace per trust level and repository.

    BASTION_HOME/cache/jobs/<trust>/<repo-id>/

A run reads and writes only its own trust level's namespace. Lower never writing what higher
reads is the rule that matters (an untrusted fork's pull request must not plant a poisoned
pip cache in a release build); reading down is refused too, because a higher run's cache
may hold what only it could fetch (private packages behind a released secret), and a lower
run could then read it. ``local`` and ``dirty`` are apart for the same reason: a run of
uncommitted changes must not leave anything a run of a commit picks up.

The executor is handed the one directory and the keys, never the trust level.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bastion.engine.model import RunContext, Trust
from bastion.errors import PipelineError
from bastion.executors import CacheSpec
from bastion.pipeline import Job
from bastion.pipeline.cache_key import HashFiles, parse_key_template

__all__ = ["cache_namespace", "cache_specs"]


def cache_namespace(root: Path, context: RunContext) -> Path:
    """The namespace of ``context`` under ``root`` (``BASTION_HOME/cache/jobs``)."""
    trust = Trust(context.trust)  # the one enum: a value outside it cannot name a folder
    repo_id = hashlib.sha256(context.repo.encode()).hexdigest()[:24]
    return root / trust.value / repo_id


def _matrix_values(name: str, job: Job) -> dict[str, str]:
    # An expanded matrix job carries each value as MATRIX_<NAME> (bastion.pipeline.expansion).
    return {
        f"matrix.{key[len('MATRIX_') :].lower()}": value
        for key, value in job.env.items()
        if key.startswith("MATRIX_")
    } | {"job": name}


def cache_specs(name: str, job: Job) -> tuple[CacheSpec, ...]:
    """The job's ``cache:`` with ``job`` and ``matrix.*`` filled in, for the executor."""
    values = _matrix_values(name, job)
    matrix = [k.removeprefix("matrix.") for k in values if k.startswith("matrix.")]
    specs: list[CacheSpec] = []
    for entry in job.cache:
        template = parse_key_template(entry.key, matrix=matrix)
        try:
            parts = template.substitute(values)
        except KeyError as exc:  # checked at load time; a bug if reached
            raise PipelineError(f"job '{name}': cache key names {exc}, which has no value") from exc
        key = tuple(p.globs if isinstance(p, HashFiles) else p for p in parts)
        specs.append(CacheSpec(key=key, paths=tuple(entry.paths)))
    return tuple(specs)
