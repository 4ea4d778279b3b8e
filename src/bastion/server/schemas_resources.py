"""Request and response bodies of the resource routes (findings, artifacts, audit log,
secrets, keys, settings), apart from the domain types they are made from.

No response model has a field for a secret's value: the vault's values are write-only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = [
    "AcceptedOut",
    "ArtifactOut",
    "AuditEventOut",
    "AuditPageOut",
    "AuditStatusOut",
    "CheckOut",
    "FindingOut",
    "KeyOut",
    "SecretBody",
    "SecretOut",
    "SettingsOut",
    "TriageBody",
    "VerifyOut",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriageBody(_Body):
    """Accept one finding of a repository until ``expires`` (the owner is the caller)."""

    repository: str = Field(min_length=1, max_length=1024)
    fingerprint: str = Field(min_length=8, max_length=128)
    reason: str = Field(min_length=1, max_length=2000)
    expires: dt.date


class AcceptedOut(BaseModel):
    id: int
    repository: str
    fingerprint: str | None
    owner: str
    reason: str
    expires: dt.date
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None
    active: bool


class FindingOut(BaseModel):
    repository: str
    run_id: int
    job: str
    fingerprint: str
    gate: str
    rule_id: str
    severity: str
    message: str
    path: str
    line: int | None
    new: bool
    suppressed_by: str | None
    accepted: AcceptedOut | None
    open: bool


class ArtifactOut(BaseModel):
    digest: str
    name: str
    size: int
    media_type: str
    created: dt.datetime | None
    repository: str
    run_id: int
    job: str
    bundles: list[str]
    attestations: list[str]


class CheckOut(BaseModel):
    name: str
    ok: bool
    reason: str
    detail: str


class VerifyOut(BaseModel):
    digest: str
    ok: bool
    bundle: str | None
    bundles_checked: int
    checks: list[CheckOut]


class AuditStatusOut(BaseModel):
    """Whether the log verifies (recomputed for every page); ``problems`` are reason codes
    with their text."""

    ok: bool
    size: int
    root: str
    checkpoints: int
    checkpoint_size: int | None
    unsealed: int
    problems: list[dict[str, Any]]


class AuditEventOut(BaseModel):
    seq: int
    time: dt.datetime
    actor: str
    action: str
    subject: str
    outcome: str
    details: dict[str, Any]
    leaf_hash: str


class AuditPageOut(BaseModel):
    status: AuditStatusOut
    total: int
    offset: int
    limit: int
    events: list[AuditEventOut]


class SecretBody(_Body):
    """A secret's value (write-only) and where it may be released."""

    value: SecretStr = Field(min_length=1, max_length=65536)
    repos: list[str] = Field(default_factory=list, max_length=64)
    branches: list[str] = Field(default_factory=list, max_length=64)
    tags: list[str] = Field(default_factory=list, max_length=64)
    environments: list[str] = Field(default_factory=list, max_length=64)
    trust: list[str] = Field(default_factory=list, max_length=8)


class SecretOut(BaseModel):
    """What may be shown about a secret: never its value."""

    name: str
    version: int
    updated: str
    repos: list[str]
    branches: list[str]
    tags: list[str]
    environments: list[str]
    trust: list[str]


class KeyOut(BaseModel):
    keyid: str
    fingerprint: str
    label: str
    added: dt.datetime
    revoked_at: dt.datetime | None
    compromised: bool
    public_pem: str


class SettingsOut(BaseModel):
    """The server's settings an admin may read (nothing secret is among them)."""

    values: dict[str, str]
