"""The ``with:`` keys of a pipeline's gate jobs, checked against each gate before a run.

The pipeline package cannot know a gate's options (it imports nothing of the scanners), so
this check runs where both meet: a misspelt key such as ``with: {excludes: …}`` is a
pipeline error at the key's file:line:col, with a did-you-mean, before any job starts.
"""

from __future__ import annotations

from bastion.errors import PipelineError, UsageError
from bastion.pipeline import LoadedPipeline, PipelineValidationError
from bastion.scanners import load_gate

__all__ = ["check_gate_job_options"]


def check_gate_job_options(loaded: LoadedPipeline) -> None:
    """Raise :class:`PipelineValidationError` naming every unknown ``with:`` key."""
    problems: list[PipelineError] = []
    for name, job in loaded.pipeline.jobs.items():
        if job.gate is None or not job.with_:
            continue
        gate = load_gate(job.gate)
        for key in sorted(job.with_):
            try:
                gate.check_options({key: None})
            except UsageError as exc:  # UnknownOptionError: the one error check_options raises
                line, column = _key_position(loaded, ("jobs", name, "with", key))
                problems.append(
                    PipelineError(
                        f"jobs.{name}.with: {exc.message}",
                        path=loaded.source,
                        line=line,
                        column=column,
                        hint=exc.hint,
                    )
                )
    if problems:
        raise PipelineValidationError(problems)


def _key_position(loaded: LoadedPipeline, path: tuple[str, ...]) -> tuple[int | None, int | None]:
    # The key itself, not its value: the key is what is misspelt.
    document = loaded.document
    position = document.locate(path, key=True) if document is not None else None
    return position or (None, None)
