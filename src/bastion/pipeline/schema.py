"""The pipeline file schema (``.bastion/pipeline.yml``), as pydantic models.

    on:
      push: {branches: [main, "release/*"], tags: ["v*"]}
      pull_request: {}
    jobs:
      secrets: {uses: bastion/secrets}
      test:
        needs: [secrets]
        network: [pypi.org, "*.pythonhosted.org"]
        limits: {memory: 1G, processes: 256, time: 10m}
        steps:
          - name: unit tests
            run: python -m pytest -q
        artifacts: ["dist/*.whl"]
        cache: {key: "pip-${{ hashFiles('requirements*.txt') }}", paths: [.cache/pip]}

``bastion schema`` prints :func:`pipeline_json_schema` for editors. Unknown keys are errors.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from bastion.errors import PipelineError
from bastion.pipeline.cache_key import check_cache_path
from bastion.pipeline.units import parse_duration, parse_size

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "CacheEntry",
    "Job",
    "JobLimits",
    "Need",
    "Pipeline",
    "PullRequestTrigger",
    "PushTrigger",
    "Step",
    "SyscallRelaxation",
    "Triggers",
    "pipeline_json_schema",
]

DEFAULT_TIMEOUT_SECONDS = 3600.0
JOB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
SECRET_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
GATE_REF = re.compile(r"^bastion/[a-z][a-z0-9-]*$")
HOST_PATTERN = re.compile(
    r"^(\*\.)?([A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(:\d{1,5})?$"
    r"|^\[?[0-9a-fA-F:.]+(/\d{1,3})?\]?(:\d{1,5})?$"
)

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(json_schema_extra={"examples": ["90s", "10m", "1h"]}),
]
Size = Annotated[int, BeforeValidator(parse_size), Field(json_schema_extra={"examples": ["512M"]})]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _stringify_env(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out: dict[Any, Any] = {}
    for key, item in value.items():
        if isinstance(item, bool):
            out[key] = "true" if item else "false"
        elif isinstance(item, int | float):
            out[key] = str(item)
        else:
            out[key] = item
    return out


StrList = Annotated[list[str], BeforeValidator(_as_list)]
EnvMap = Annotated[dict[str, str], BeforeValidator(_stringify_env)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Need(_Model):
    """The long form of a ``needs:`` entry, ``{job: build, artifacts: true}``.

    A job receives the artifacts of every job it needs either way; the long form states
    that it depends on them, so the file is refused when ``build`` declares none.
    """

    job: str = Field(min_length=1)
    artifacts: bool = True

    @field_validator("artifacts")
    @classmethod
    def _only_true(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                "a job receives the artifacts of every job it needs; "
                "write the job name alone instead of `artifacts: false`"
            )
        return value


def _need_name(value: Any) -> Any:
    # The long form is checked here and kept as the name: the plan only needs names, and the
    # loader reads the long form back from the located document to check `artifacts: true`.
    if not isinstance(value, dict):
        return value
    try:
        return Need.model_validate(value).job
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ValueError(f"{where}: {message}" if where else message) from None


NeedName = Annotated[
    str,
    BeforeValidator(_need_name),
    WithJsonSchema(
        {"anyOf": [{"type": "string"}, Need.model_json_schema(by_alias=True)]},
        mode="validation",
    ),
]


def _check_env_names(env: dict[str, str]) -> dict[str, str]:
    for name in env:
        if not ENV_NAME.fullmatch(name):
            raise ValueError(f"'{name}' is not a valid environment variable name")
    return env


class PushTrigger(_Model):
    """Run on pushes to matching branches (globs) or tags (globs)."""

    branches: StrList = Field(default_factory=lambda: ["*"])
    tags: StrList = Field(default_factory=list)


class PullRequestTrigger(_Model):
    """Run on pull requests whose target branch matches."""

    branches: StrList = Field(default_factory=lambda: ["*"])


class Triggers(_Model):
    """Events that start the pipeline."""

    push: PushTrigger | None = None
    pull_request: PullRequestTrigger | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `on: [push, pull_request]` and `on: push` mean "with default filters".
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return {str(item): {} for item in value}
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value


class Step(_Model):
    """One shell command line (run with ``/bin/sh -e -c``)."""

    name: str | None = None
    run: str = Field(min_length=1)
    env: EnvMap = Field(default_factory=dict)
    timeout: Duration | None = None
    working_directory: str | None = Field(default=None, alias="working-directory")

    _env_names = field_validator("env")(_check_env_names)

    @property
    def display_name(self) -> str:
        return self.name or self.run.strip().splitlines()[0][:60]


class SyscallRelaxation(enum.StrEnum):
    """A group of system calls a job may ask back from the sandbox's seccomp filter."""

    PTRACE = "ptrace"
    PERF = "perf"


class JobLimits(_Model):
    """Resource limits for each step of the job."""

    memory: Size = 4 * 1024**3
    processes: int = Field(default=256, ge=8, le=65536)
    time: Duration | None = None
    open_files: int = Field(default=4096, ge=64, le=1_048_576, alias="open-files")
    syscalls: list[SyscallRelaxation] = Field(
        default_factory=list,
        description="system call groups given back on top of the default seccomp filter "
        "(ptrace: debuggers; perf: perf_event_open); refused in untrusted, internal and "
        "dirty runs",
    )


def _as_entries(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class CacheEntry(_Model):
    """A directory kept between runs of the same trust level, found again by its ``key``.

    The key template is checked with the job around it (``bastion.pipeline.loader``), where
    ``matrix.<name>`` can be told from a typo; the paths are checked here.
    """

    key: str = Field(
        min_length=1, json_schema_extra={"examples": ["pip-${{ hashFiles('*.lock') }}"]}
    )
    paths: StrList = Field(min_length=1)

    @field_validator("paths")
    @classmethod
    def _inside(cls, value: list[str]) -> list[str]:
        for path in value:
            try:
                check_cache_path(path)
            except PipelineError as exc:  # pydantic reports ValueErrors with their location
                raise ValueError(f"{exc.message}; {exc.hint}") from None
        return value


class IdToken(_Model):
    """``id-token: {audience: sts.amazonaws.com}``: the job gets a signed identity token
    (OIDC JWT) for that audience in ``/run/bastion/id-token`` (trusted and release runs of
    a server only)."""

    audience: Annotated[list[str], BeforeValidator(_as_list)] = Field(
        min_length=1,
        max_length=8,
        json_schema_extra={"examples": ["sts.amazonaws.com", ["vault.example", "gcp"]]},
    )

    @field_validator("audience")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not 0 < len(name) <= 256 or not name.isprintable() or name != name.strip():
                raise ValueError(f"{name!r} is not an audience (1 to 256 printable characters)")
        return value


class Job(_Model):
    """A job: either ``steps`` to run or a built-in gate to ``uses``."""

    name: str | None = None
    needs: Annotated[list[NeedName], BeforeValidator(_as_list)] = Field(default_factory=list)
    steps: list[Step] | None = None
    uses: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    env: EnvMap = Field(default_factory=dict)
    timeout: Duration = DEFAULT_TIMEOUT_SECONDS
    working_directory: str = Field(default=".", alias="working-directory")
    artifacts: StrList = Field(default_factory=list)
    environment: str | None = None
    secrets: StrList = Field(default_factory=list)
    id_token: IdToken | None = Field(default=None, alias="id-token")
    network: Literal["none", "host"] | list[str] = "none"
    limits: JobLimits = Field(default_factory=JobLimits)
    tools: StrList = Field(default_factory=list)
    rootfs: str | None = None
    cache: Annotated[list[CacheEntry], BeforeValidator(_as_entries)] = Field(default_factory=list)
    matrix: dict[str, list[Any]] | None = Field(
        default=None,
        description="variables and their values, plus optional `include:`/`exclude:` lists; "
        "one job runs per combination (checked in bastion.pipeline.matrix)",
        json_schema_extra={"examples": [{"python": ["3.11", "3.12"], "os": ["debian"]}]},
    )

    _env_names = field_validator("env")(_check_env_names)

    @field_validator("uses")
    @classmethod
    def _gate_ref(cls, value: str | None) -> str | None:
        if value is not None and not GATE_REF.fullmatch(value):
            raise ValueError(f"'{value}' is not a built-in gate; write bastion/<gate>")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not SECRET_NAME.fullmatch(name):
                raise ValueError(f"'{name}' is not a secret name (use UPPER_CASE_WITH_UNDERSCORES)")
        return value

    @field_validator("network")
    @classmethod
    def _hosts(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            if not value:
                raise ValueError("an empty host list means no network: write `network: none`")
            for host in value:
                if not HOST_PATTERN.fullmatch(host):
                    raise ValueError(f"'{host}' is not a host name, *.suffix or host:port")
        return value

    @field_validator("tools", "rootfs")
    @classmethod
    def _absolute(cls, value: Any) -> Any:
        for item in [value] if isinstance(value, str) else value or []:
            if not item.startswith("/"):
                raise ValueError(f"'{item}' must be an absolute host path")
        return value

    @model_validator(mode="after")
    def _steps_or_uses(self) -> Job:
        if (self.steps is None) == (self.uses is None):
            raise ValueError(
                "a job has either `steps:` or `uses: bastion/<gate>`, not both or neither"
            )
        if self.steps is not None and not self.steps:
            raise ValueError("`steps:` is empty; add at least one `- run: ...`")
        if self.with_ and self.uses is None:
            raise ValueError("`with:` only applies to a job that `uses:` a gate")
        if self.id_token is not None and self.uses is not None:
            raise ValueError("`id-token:` only applies to a job with `steps:`")
        return self

    @property
    def gate(self) -> str | None:
        """The gate name of ``uses: bastion/<gate>``."""
        return self.uses.split("/", 1)[1] if self.uses else None

    @property
    def step_timeout(self) -> float:
        return self.limits.time if self.limits.time is not None else self.timeout


class Pipeline(_Model):
    """A whole pipeline file."""

    name: str | None = None
    on: Triggers = Field(default_factory=lambda: Triggers(push=PushTrigger()))
    env: EnvMap = Field(default_factory=dict)
    jobs: dict[str, Job] = Field(min_length=1)

    _env_names = field_validator("env")(_check_env_names)

    @field_validator("jobs")
    @classmethod
    def _job_names(cls, value: dict[str, Job]) -> dict[str, Job]:
        for name in value:
            if not JOB_NAME.fullmatch(name):
                raise ValueError(
                    f"'{name}' is not a job name (letters, digits, '_', '-', '.'; at most 64)"
                )
        return value


def pipeline_json_schema() -> dict[str, Any]:
    """JSON Schema of the pipeline file (by alias, as written in YAML)."""
    schema = Pipeline.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Bastion pipeline (.bastion/pipeline.yml)"
    return schema
