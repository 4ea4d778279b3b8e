"""Audit events and their canonical bytes (the Merkle leaves).

The leaf of event ``seq`` is the UTF-8 of its canonical JSON object::

    {"action":..,"actor":..,"details":{..},"outcome":..,"seq":N,"subject":..,"time":..,"v":1}

Canonical means: keys sorted, no whitespace (separators ``,`` and ``:``), non-ASCII kept as
UTF-8 (``ensure_ascii=False``), ``time`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC. Integers
are limited to ±(2**53 - 1) and floats must be finite so any JSON reader holds them exactly.
The stored body is hashed as-is, so an outsider needs only ``SHA-256(0x00 || body)``.
``details`` must never hold a secret: name secrets, never give their values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bastion.errors import AuditError

__all__ = [
    "MAX_BODY_BYTES",
    "Action",
    "AuditEntry",
    "AuditEvent",
    "Outcome",
    "canonical_json",
    "format_time",
    "parse_body",
]

MAX_BODY_BYTES = 65536
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_MAX_INT = 2**53 - 1
_KEYS = frozenset({"action", "actor", "details", "outcome", "seq", "subject", "time", "v"})
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


class Action(StrEnum):
    """Actions Bastion itself records; other dotted lowercase names are accepted too."""

    RUN_STARTED = "run.started"
    RUN_FINISHED = "run.finished"
    RUN_INTERRUPTED = "run.interrupted"
    JOB_STARTED = "job.started"
    JOB_FINISHED = "job.finished"
    GATE_DECIDED = "gate.decided"
    ARTIFACT_STORED = "artifact.stored"
    SIGNATURE_CREATED = "signature.created"
    KEY_ADDED = "key.added"
    KEY_REVOKED = "key.revoked"
    KEY_ROTATED = "key.rotated"
    KEY_OVERDUE = "key.overdue"
    SECRET_RELEASED = "secret.released"  # noqa: S105 - an action name, not a secret
    SECRET_ROTATED = "secret.rotated"  # noqa: S105 - an action name, not a secret
    SECRET_OVERDUE = "secret.overdue"  # noqa: S105 - an action name, not a secret
    APPROVAL_GRANTED = "approval.granted"
    APPROVAL_DENIED = "approval.denied"
    VERIFY_PERFORMED = "verify.performed"
    CACHE_POISONED = "cache.poisoned"
    IDENTITY_ISSUED = "identity.issued"


class Outcome(StrEnum):
    """How the action ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"
    ERROR = "error"


def format_time(moment: datetime) -> str:
    """The canonical UTC timestamp text of an aware datetime."""
    if moment.tzinfo is None:
        raise AuditError("audit event time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_json(value: object, path: str) -> None:
    """Refuse what would not survive a round trip through any JSON reader."""
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > _MAX_INT:
            raise AuditError(f"audit detail {path} = {value} exceeds ±2**53-1")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise AuditError(f"audit detail {path} is not a finite number")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditError(f"audit detail {path} has a non-string key {key!r}")
            _check_json(item, f"{path}.{key}")
    else:
        raise AuditError(f"audit detail {path} has type {type(value).__name__}, not JSON")


def _check_text(value: str, what: str, limit: int) -> None:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise AuditError(f"audit event {what} must be a non-empty string of at most {limit}")


@dataclass(frozen=True)
class AuditEvent:
    """Who (``actor``) did what (``action``) to what (``subject``), when, with what outcome."""

    actor: str
    action: str
    subject: str
    outcome: Outcome = Outcome.SUCCESS
    details: Mapping[str, Any] = field(default_factory=dict)
    time: datetime | None = None

    def __post_init__(self) -> None:
        _check_text(self.actor, "actor", 256)
        _check_text(self.subject, "subject", 1024)
        if not isinstance(self.action, str) or not _ACTION.fullmatch(self.action):
            raise AuditError(
                f"audit action {self.action!r} is not a dotted lowercase name",
                hint="use names like 'run.started' (see bastion.audit.Action)",
            )
        object.__setattr__(self, "outcome", Outcome(self.outcome))
        _check_json(dict(self.details), "details")
        if self.time is not None:
            format_time(self.time)

    def body(self, seq: int, time: datetime) -> str:
        """The canonical JSON text of this event as entry ``seq`` recorded at ``time``."""
        text = canonical_json(
            {
                "action": self.action,
                "actor": self.actor,
                "details": self.details,
                "outcome": self.outcome.value,
                "seq": seq,
                "subject": self.subject,
                "time": format_time(time),
                "v": 1,
            }
        )
        if len(text.encode()) > MAX_BODY_BYTES:
            raise AuditError(f"audit event is larger than {MAX_BODY_BYTES} bytes")
        return text


def canonical_json(value: Mapping[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 kept, no NaN."""
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        text.encode()
    except (TypeError, ValueError) as exc:
        raise AuditError(f"audit event is not canonical JSON: {exc}") from exc
    return text


@dataclass(frozen=True)
class AuditEntry:
    """An event as recorded: its sequence number (= leaf index), body and leaf hash."""

    seq: int
    time: datetime
    event: AuditEvent
    body: str
    leaf_hash: bytes


def parse_body(body: str) -> tuple[int, AuditEvent]:
    """Read a stored body back into ``(seq, event)``; AuditError names what is wrong."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise AuditError(f"event body is not JSON: {exc}") from exc
    if not isinstance(data, dict) or set(data) != _KEYS or data["v"] != 1:
        raise AuditError("event body does not have the audit event v1 fields")
    seq, stamp = data["seq"], data["time"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise AuditError("event body seq is not a non-negative integer")
    if not isinstance(stamp, str) or not _TIME.fullmatch(stamp):
        raise AuditError("event body time is not a canonical UTC timestamp")
    if not isinstance(data["details"], dict):
        raise AuditError("event body details is not an object")
    try:
        event = AuditEvent(
            actor=data["actor"],
            action=data["action"],
            subject=data["subject"],
            outcome=Outcome(data["outcome"]),
            details=data["details"],
            time=datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
        )
    except ValueError as exc:
        raise AuditError(f"event body has an invalid field: {exc}") from exc
    return seq, event
