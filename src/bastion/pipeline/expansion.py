"""Matrix jobs become plain jobs: one per combination, with ``${{ matrix.NAME }}`` filled in.

    >>> from bastion.pipeline import parse_pipeline
    >>> job = "{matrix: {py: ['3.11', '3.12']}, steps: [{run: 'echo ${{ matrix.py }}'}]}"
    >>> text = "jobs: {t: " + job + "}"
    >>> jobs, groups = expand_pipeline(parse_pipeline(text, source="p.yml").pipeline)
    >>> groups["t"], jobs["t (3.12)"].steps[0].run, jobs["t (3.12)"].env["MATRIX_PY"]
    (('t (3.11)', 't (3.12)'), 'echo 3.12', '3.12')

References are filled in where a job's text is its own (a step's ``run`` and ``name``, ``env``
values, ``working-directory``); each expansion also gets ``MATRIX_<NAME>`` in its
environment, the safer way for a script to read a value. A job that ``needs:`` a matrix job
needs every expansion of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from bastion.errors import PipelineError
from bastion.pipeline.matrix import Matrix, expanded_name, read_matrix
from bastion.pipeline.problems import JobProblem, Where
from bastion.pipeline.schema import Job, Pipeline, Step

__all__ = ["expand_job", "expand_pipeline", "job_problems", "substitute"]

_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_MATRIX_REFERENCE = re.compile(r"\s*matrix\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*")


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``${{ matrix.NAME }}`` replaced by its value; others kept as is."""

    def replace(match: re.Match[str]) -> str:
        reference = _MATRIX_REFERENCE.fullmatch(match.group(1))
        if reference is None or reference.group(1) not in values:
            return match.group(0)
        return values[reference.group(1)]

    return _EXPRESSION.sub(replace, text)


def job_problems(name: str, job: Job) -> tuple[Matrix | None, list[JobProblem]]:
    """Job ``name``'s matrix (``None`` without one) and every mistake in it or its references."""
    if job.matrix is None:
        return None, _reference_problems(job, None)
    matrix, problems = read_matrix(name, job.matrix)
    if job.uses is not None:
        problems.append(
            JobProblem(
                ("matrix",),
                "`matrix:` applies to a job with `steps:`; a gate job (`uses:`) runs once",
                "remove `matrix:` from this job",
                key=True,
            )
        )
    return matrix, problems + _reference_problems(job, matrix.variables)


def expand_pipeline(
    pipeline: Pipeline, *, source: str = "<pipeline>"
) -> tuple[dict[str, Job], dict[str, tuple[str, ...]]]:
    """Every job after expansion, in file order, and each file job's expanded names.

    The loader reports matrix problems at their file positions first; a pipeline built
    in code that still has one gets :class:`PipelineError` here, before anything runs.
    """
    expanded: dict[str, Job] = {}
    groups: dict[str, tuple[str, ...]] = {}
    for name, job in pipeline.jobs.items():
        matrix, problems = job_problems(name, job)
        if problems:
            first = problems[0]
            where = ".".join(str(part) for part in ("jobs", name, *first.where))
            raise PipelineError(f"{where}: {first.message}", path=source, hint=first.hint)
        jobs = expand_job(name, job, matrix)
        groups[name] = tuple(jobs)
        expanded.update(jobs)
    for name, job in expanded.items():
        needs = [each for need in job.needs for each in groups.get(need, (need,))]
        if needs != job.needs:
            expanded[name] = job.model_copy(update={"needs": needs})
    return expanded, groups


def expand_job(name: str, job: Job, matrix: Matrix | None) -> dict[str, Job]:
    """Job ``name`` as the jobs it expands to (itself alone without a matrix)."""
    if matrix is None:
        return {name: job}
    jobs: dict[str, Job] = {}
    for combination in matrix.combinations:
        values = matrix.values(combination)
        env = {key: substitute(value, values) for key, value in job.env.items()}
        # Set last: the matrix value is what the job runs with, whatever `env:` says.
        env.update({f"MATRIX_{key.upper()}": value for key, value in values.items()})
        jobs[expanded_name(name, combination)] = job.model_copy(
            update={
                "matrix": None,
                "env": env,
                "working_directory": substitute(job.working_directory, values),
                "steps": [_expand_step(step, values) for step in job.steps or ()],
            }
        )
    return jobs


def _expand_step(step: Step, values: Mapping[str, str]) -> Step:
    return step.model_copy(
        update={
            "run": substitute(step.run, values),
            "name": substitute(step.name, values) if step.name is not None else None,
            "env": {key: substitute(value, values) for key, value in step.env.items()},
            "working_directory": (
                substitute(step.working_directory, values)
                if step.working_directory is not None
                else None
            ),
        }
    )


def _substituted_text(job: Job) -> Iterator[tuple[Where, str]]:
    """Every text of ``job`` in which references are filled in, with its path in the job."""
    yield ("working-directory",), job.working_directory
    for key, value in job.env.items():
        yield ("env", key), value
    for index, step in enumerate(job.steps or ()):
        yield ("steps", index, "run"), step.run
        if step.name is not None:
            yield ("steps", index, "name"), step.name
        for key, value in step.env.items():
            yield ("steps", index, "env", key), value
        if step.working_directory is not None:
            yield ("steps", index, "working-directory"), step.working_directory


def _reference_problems(job: Job, variables: Sequence[str] | None) -> list[JobProblem]:
    problems: list[JobProblem] = []
    for where, text in _substituted_text(job):
        for match in _EXPRESSION.finditer(text):
            inner = match.group(1)
            if not re.match(r"\s*matrix\b", inner):
                continue  # not ours: other expressions are left to whoever reads them
            reference = _MATRIX_REFERENCE.fullmatch(inner)
            problem = _reference_problem(match.group(0), reference, variables)
            if problem is not None:
                problems.append(JobProblem(where, *problem))
    return problems


def _reference_problem(
    written: str, reference: re.Match[str] | None, variables: Sequence[str] | None
) -> tuple[str, str] | None:
    """(message, hint) when ``written`` cannot be filled in, else ``None``."""
    if reference is None:
        return f"'{written}' is not a matrix reference", "write ${{ matrix.NAME }}"
    if variables is None:
        return (
            f"'{written}' refers to a matrix, but this job has no `matrix:`",
            "add `matrix:` to the job, or write the value itself",
        )
    if reference.group(1) not in variables:
        known = ", ".join(variables)
        return (
            f"'{written}' names '{reference.group(1)}', which is not a variable of this "
            "job's matrix",
            f"the matrix variables are: {known}",
        )
    return None
