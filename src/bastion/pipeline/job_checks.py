"""The checks that run after the schema, over each job as a whole, located in the file.

A matrix and the ``${{ matrix.NAME }}`` references to it are checked together
(:mod:`bastion.pipeline.expansion`); paths (:mod:`bastion.pipeline.job_paths`) are checked
on every expansion, so a working directory built from a matrix value is checked as the job
will use it, and reported where it is written.
"""

from __future__ import annotations

from pathlib import Path

from bastion.errors import PipelineError
from bastion.pipeline.expansion import expand_job, job_problems
from bastion.pipeline.job_paths import path_problems
from bastion.pipeline.problems import JobProblem
from bastion.pipeline.schema import Pipeline
from bastion.pipeline.yaml_loader import LocatedDocument

__all__ = ["located_job_problems"]


def located_job_problems(
    pipeline: Pipeline, doc: LocatedDocument, source: str, *, home: Path
) -> list[PipelineError]:
    """Every job's matrix, reference and path problems, each at its file, line and column."""
    located: list[PipelineError] = []
    for name, job in pipeline.jobs.items():
        matrix, found = job_problems(name, job)
        # A broken matrix cannot be expanded; its job is then checked as written.
        variants = [job] if found or matrix is None else expand_job(name, job, matrix).values()
        for variant in variants:
            found += path_problems(variant, home=home)
        for problem in dict.fromkeys(found):  # expansions repeat the problems they share
            located.append(_locate(name, problem, doc, source))
    return located


def _locate(name: str, problem: JobProblem, doc: LocatedDocument, source: str) -> PipelineError:
    path = ("jobs", name, *problem.where)
    line, column = doc.locate(path, key=problem.key) or (None, None)
    return PipelineError(
        f"{'.'.join(map(str, path))}: {problem.message}",
        path=source,
        line=line,
        column=column,
        hint=problem.hint,
    )
