"""A mistake found in one job after the schema accepted it, located inside the job.

Checks that need more than one field (a matrix and the references to it, a path and the
workspace it must stay in) return these; the loader turns each into a
:class:`~bastion.errors.PipelineError` at the file, line and column of ``where``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["JobProblem", "Where"]

Where = tuple[str | int, ...]
"""A path inside a job as written in the file, e.g. ``("steps", 0, "working-directory")``."""


@dataclass(frozen=True, slots=True)
class JobProblem:
    """One mistake: where in the job, what, how to fix it; ``key`` locates the key itself."""

    where: Where
    message: str
    hint: str
    key: bool = False
