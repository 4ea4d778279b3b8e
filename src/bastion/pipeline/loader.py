"""Load a pipeline file: safe YAML, schema validation, errors that point at file:line:column."""

from __future__ import annotations

import difflib
import hashlib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bastion.errors import PipelineError
from bastion.home import bastion_home
from bastion.pipeline.cache_key import parse_key_template
from bastion.pipeline.job_checks import located_job_problems
from bastion.pipeline.schema import Job, Pipeline
from bastion.pipeline.yaml_loader import LocatedDocument, load_yaml

__all__ = ["LoadedPipeline", "PipelineValidationError", "load_pipeline", "parse_pipeline"]

_MAX_REPORTED = 10


class PipelineValidationError(PipelineError):
    """Several problems in one pipeline file; the first one locates the error."""

    def __init__(self, problems: list[PipelineError]) -> None:
        first = problems[0]
        super().__init__(
            first.message, path=first.path, line=first.line, column=first.column, hint=first.hint
        )
        self.problems = problems

    def diagnostics(self) -> str:
        return "\n".join(problem.diagnostics() for problem in self.problems)


@dataclass(frozen=True, slots=True)
class LoadedPipeline:
    """A validated pipeline with where it came from and the digest of its exact bytes."""

    pipeline: Pipeline
    source: str
    digest: str
    document: LocatedDocument | None = None

    def locate(self, path: tuple[str | int, ...]) -> tuple[int, int] | None:
        """(line, column) of a value in the file, e.g. ``("jobs", "test", "network", 0)``."""
        return self.document.locate(path) if self.document is not None else None


def parse_pipeline(raw: bytes | str, *, source: str, home: Path | None = None) -> LoadedPipeline:
    """Validate pipeline text; raise :class:`PipelineError` naming file, line and fix.

    ``home`` is the Bastion home that ``tools:`` may not reach (default: the user's).
    """
    data = raw.encode() if isinstance(raw, str) else raw
    doc = load_yaml(data, source=source)
    if not isinstance(doc.data, dict):
        raise PipelineError(
            "a pipeline file is a mapping with a `jobs:` key",
            path=source,
            line=1,
            column=1,
            hint="see `bastion schema`; e.g. `jobs: {test: {steps: [{run: make test}]}}`",
        )
    try:
        pipeline = Pipeline.model_validate(doc.data)
    except ValidationError as exc:
        raise PipelineValidationError(_problems(exc, doc, source)) from None
    _check_needs(pipeline, doc, source)
    _check_cache_keys(pipeline, doc, source)
    problems = located_job_problems(pipeline, doc, source, home=home or bastion_home())
    if problems:
        raise PipelineValidationError(problems)
    return LoadedPipeline(pipeline, source, "sha256:" + hashlib.sha256(data).hexdigest(), doc)


def load_pipeline(path: Path, *, display: str | None = None) -> LoadedPipeline:
    """Read and validate the pipeline file at ``path``."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PipelineError(f"cannot read pipeline file: {exc.strerror}", path=name) from exc
    return parse_pipeline(raw, source=name)


def _check_needs(pipeline: Pipeline, doc: LocatedDocument, source: str) -> None:
    problems: list[PipelineError] = []
    for name, job in pipeline.jobs.items():
        for index, need in enumerate(job.needs):
            if need in pipeline.jobs and need != name:
                continue
            pos = doc.locate(("jobs", name, "needs", index)) or doc.locate(("jobs", name, "needs"))
            if need == name:
                message, hint = f"job '{name}' needs itself", "remove it from its own `needs:`"
            else:
                message = f"job '{name}' needs '{need}', which is not a job of this pipeline"
                hint = _did_you_mean(need, list(pipeline.jobs)) or "name a job under `jobs:`"
            problems.append(_at(message, source, pos, hint))
    problems += _artifact_needs(pipeline, doc, source)
    if problems:
        raise PipelineValidationError(problems)


def _artifact_needs(pipeline: Pipeline, doc: LocatedDocument, source: str) -> list[PipelineError]:
    """A long-form ``{job: X, artifacts: true}`` need on a job ``X`` without ``artifacts:``."""
    problems: list[PipelineError] = []
    raw_jobs = doc.data.get("jobs") if isinstance(doc.data, dict) else None
    for name in pipeline.jobs:
        raw = raw_jobs.get(name) if isinstance(raw_jobs, dict) else None
        entries = raw.get("needs") if isinstance(raw, dict) else None
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict) or entry.get("artifacts") is not True:
                continue
            need = str(entry.get("job"))
            if need not in pipeline.jobs or pipeline.jobs[need].artifacts:
                continue  # an unknown job is reported above
            pos = doc.locate(("jobs", name, "needs", index))
            message = f"job '{name}' needs the artifacts of '{need}', which declares no artifacts"
            hint = (
                f"add `artifacts: [<glob>]` to job '{need}', "
                f"or write `needs: [{need}]` if '{name}' only runs after it"
            )
            problems.append(_at(message, source, pos, hint))
    return problems


def _at(message: str, source: str, pos: tuple[int, int] | None, hint: str | None) -> PipelineError:
    line, column = pos if pos else (None, None)
    return PipelineError(message, path=source, line=line, column=column, hint=hint)


def _problems(exc: ValidationError, doc: LocatedDocument, source: str) -> list[PipelineError]:
    problems: list[PipelineError] = []
    for error in exc.errors(include_url=False)[:_MAX_REPORTED]:
        loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
        kind = error["type"]
        dotted = ".".join(str(p) for p in loc) or "file"
        if kind == "extra_forbidden":
            key = str(loc[-1])
            allowed = _allowed_keys(loc[:-1])
            hint = _did_you_mean(key, allowed) or f"allowed keys here: {', '.join(sorted(allowed))}"
            message = f"unknown key '{key}' in {'.'.join(str(p) for p in loc[:-1]) or 'file'}"
            problems.append(_at(message, source, doc.locate(loc, key=True), hint))
            continue
        if kind == "missing":
            message = (
                f"missing required key '{loc[-1]}' in {'.'.join(map(str, loc[:-1])) or 'file'}"
            )
            problems.append(
                _at(message, source, doc.locate(loc[:-1]), "add it; see `bastion schema`")
            )
            continue
        msg = str(error["msg"]).removeprefix("Value error, ")
        problems.append(_at(f"{dotted}: {msg}", source, doc.locate(loc), _hint_for(kind)))
    return problems


def _is_union_tag(part: object) -> bool:
    # pydantic inserts union member names such as "list[str]" or "literal['none','host']".
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _hint_for(kind: str) -> str | None:
    return {
        "string_type": "write a string (quote it if YAML reads it as a number or boolean)",
        "list_type": "write a list, e.g. [a, b] or one `- item` per line",
        "dict_type": "write a mapping of `key: value` lines",
        "literal_error": "use one of the values shown",
        "int_parsing": "write a whole number",
        "too_short": "add at least one entry",
    }.get(kind)


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Keys accepted at ``loc``, found by walking the models' annotations."""
    annotation: Any = Pipeline
    for part in loc:
        annotation = _step_into(annotation, part)
        if annotation is None:
            return []
    model = _model_of(annotation)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _step_into(annotation: Any, part: Any) -> Any:
    model = _model_of(annotation)
    if model is not None:
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, dict) and args:
        return args[-1]
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        for arg in args:
            found = _step_into(arg, part)
            if found is not None:
                return found
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            model = _model_of(arg)
            if model is not None:
                return model
    return None


def _check_cache_keys(pipeline: Pipeline, doc: LocatedDocument, source: str) -> None:
    """Every ``cache:`` key template parses, reported where the key is written.

    Checked here rather than in the schema because a template's variables depend on the job
    around it (its matrix names, once jobs have a ``matrix:``).
    """
    problems: list[PipelineError] = []
    for name, job in pipeline.jobs.items():
        for index, entry in enumerate(job.cache):
            try:
                parse_key_template(entry.key, matrix=_matrix_names(job))
            except PipelineError as exc:
                # `cache:` may be one mapping rather than a list of them.
                at = ("jobs", name, "cache")
                pos = doc.positions.get((*at, index, "key")) or doc.locate((*at, "key"))
                problems.append(_at(f"jobs.{name}.cache: {exc.message}", source, pos, exc.hint))
    if problems:
        raise PipelineValidationError(problems)


def _matrix_names(job: Job) -> tuple[str, ...]:
    """The variables a job's ``matrix:`` defines (``include``/``exclude`` are not ones)."""
    return tuple(key for key in job.matrix or {} if key not in ("include", "exclude"))
