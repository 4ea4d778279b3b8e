"""Request and response bodies of the API (pydantic, the trust boundary), apart from the
domain types they are made from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from bastion.server.permissions import Permission, Role, ScopeKind

__all__ = [
    "GrantBody",
    "GrantOut",
    "HealthOut",
    "JobOut",
    "MeOut",
    "NewUserBody",
    "NewUserOut",
    "RunDetailOut",
    "RunOut",
    "RunPageOut",
    "StepUpBody",
    "TokenBody",
    "TokenCreatedOut",
    "TokenOut",
    "UserOut",
]


class _Body(BaseModel):
    # Wrong types are refused rather than coerced (a number is not a name); enums parse
    # from their JSON strings.
    model_config = ConfigDict(extra="forbid")


class HealthOut(BaseModel):
    status: str


class GrantOut(BaseModel):
    role: Role
    scope: ScopeKind
    name: str


class MeOut(BaseModel):
    name: str
    via: str
    mfa: bool
    grants: list[GrantOut]


class RunOut(BaseModel):
    id: int
    repo: str
    commit: str | None
    ref: str | None
    event: str
    trust: str
    status: str
    reason: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobOut(BaseModel):
    name: str
    kind: str
    status: str
    reason: str | None
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None


class RunDetailOut(RunOut):
    pipeline_path: str
    pipeline_digest: str
    jobs: list[JobOut]


class RunPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    runs: list[RunOut]


class TokenBody(_Body):
    name: StrictStr = Field(max_length=256)
    repositories: list[StrictStr] = Field(min_length=1, max_length=100)
    permissions: list[Permission] = Field(min_length=1)
    expires_in_days: StrictInt = Field(ge=1, le=90)


class TokenOut(BaseModel):
    id: int
    name: str
    repositories: list[str]
    permissions: list[Permission]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="shown once; store it now")


class StepUpBody(_Body):
    code: StrictStr = Field(max_length=64)


class NewUserBody(_Body):
    name: StrictStr = Field(max_length=256)
    role: Role | None = None


class UserOut(BaseModel):
    name: str
    disabled: bool
    mfa: bool
    created_at: datetime
    grants: list[GrantOut]


class NewUserOut(UserOut):
    setup_link: str


class GrantBody(_Body):
    role: Role
    scope: ScopeKind = ScopeKind.INSTANCE
    name: StrictStr = Field(default="", max_length=1024)
