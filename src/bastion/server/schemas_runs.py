"""Request and response bodies of the runs and repositories API (pydantic, the trust
boundary), apart from the store's records they are made from."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from bastion.server.schemas import JobOut, RunOut

__all__ = [
    "ArtifactOut",
    "JobDetailOut",
    "RepositoryBody",
    "RepositoryOut",
    "RunDetailOut",
    "RunListOut",
    "StartedOut",
    "StepOut",
    "TriggerBody",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunListOut(BaseModel):
    runs: list[RunOut]
    limit: int
    next_cursor: int | None = Field(description="pass as cursor for the next (older) page")


class StepOut(BaseModel):
    index: int
    name: str
    status: str
    exit_code: int | None
    started_at: datetime | None
    finished_at: datetime | None


class JobDetailOut(JobOut):
    steps: list[StepOut]


class ArtifactOut(BaseModel):
    job: str
    name: str
    digest: str
    size: int
    media_type: str
    signed_by: str | None
    unsigned_reason: str | None
    reproducible: str


class RunDetailOut(RunOut):
    pipeline_path: str
    pipeline_digest: str
    jobs: list[JobDetailOut]
    findings: int
    artifacts: list[ArtifactOut]


class TriggerBody(_Body):
    repo: StrictStr = Field(max_length=128)
    branch: StrictStr | None = Field(default=None, max_length=255)
    commit: StrictStr | None = Field(default=None, max_length=64)


class StartedOut(BaseModel):
    id: int
    status: str


class RepositoryBody(_Body):
    name: StrictStr = Field(max_length=128)
    path: StrictStr = Field(max_length=4096)
    default_branch: StrictStr | None = Field(default=None, max_length=255)
    protected_branches: list[StrictStr] = Field(default_factory=list, max_length=32)
    poll_seconds: StrictInt = Field(default=60, ge=5, le=86400)
    # Protected branches whose runs need a commit signed by the server's allowed signers.
    signed_branches: list[StrictStr] = Field(default_factory=list, max_length=32)


class RepositoryOut(BaseModel):
    name: str
    path: str
    default_branch: str
    protected_branches: list[str]
    signed_branches: list[str] = Field(default_factory=list)
    added_by: str
    poll_seconds: int
    created_at: datetime
    hook_installed: bool | None = None
