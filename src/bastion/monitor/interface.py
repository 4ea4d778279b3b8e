"""The monitor's types: what a rule reads (:class:`Observation`), what it raises
(:class:`Signal`), the :class:`Rule` protocol, alert severities and states, and errors.

Error tree of the package (all under :class:`bastion.errors.BastionError`)::

    MonitorError            exit 3  alerts cannot be stored, read or delivered
    ├── RuleFileError       exit 2  a monitor rule file does not parse (has path and line)
    ├── AlertNotFoundError  exit 2  no alert with that id
    └── DeliveryError       exit 3  a sink could not deliver (the alert is kept and retried)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bastion.errors import BastionError

__all__ = [
    "AlertNotFoundError",
    "AlertState",
    "Baseline",
    "DeliveryError",
    "MonitorError",
    "Observation",
    "Rule",
    "RuleFileError",
    "Severity",
    "Signal",
    "TextMasker",
]


class MonitorError(BastionError):
    """Alerts cannot be stored, read or delivered."""


class RuleFileError(MonitorError):
    """A monitor rule file is malformed; ``path`` and ``line`` (1-based) say where."""

    exit_code = 2

    def __init__(self, message: str, *, path: str, line: int | None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.path = path
        self.line = line

    def diagnostics(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        text = f"{where}: {self.message}"
        return f"{text}\n  fix: {self.hint}" if self.hint else text


class AlertNotFoundError(MonitorError):
    """No alert has that id."""

    exit_code = 2


class DeliveryError(MonitorError):
    """A sink could not deliver an alert this time (it stays queued)."""


class Severity(StrEnum):
    """How urgent an alert is, most urgent first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class AlertState(StrEnum):
    """An alert's life: open, then acknowledged (with a reason) or resolved."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Observation:
    """One audit event as the rules see it (its seq is the evaluator's cursor)."""

    seq: int
    time: datetime
    actor: str
    action: str
    subject: str
    outcome: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def text(self, key: str, default: str = "") -> str:
        """``details[key]`` as text (``default`` if absent or not a string)."""
        value = self.details.get(key)
        return value if isinstance(value, str) else default


@dataclass(frozen=True, slots=True)
class Signal:
    """What a rule raises: the evaluator masks the texts and stores it as an alert.

    ``key`` deduplicates: while an alert with the same rule and key is open, a new signal
    only counts another occurrence.
    """

    rule: str
    severity: Severity
    title: str
    detail: str
    key: str
    repo: str | None = None
    seq: int | None = None


class Baseline(Protocol):
    """What has been seen before (learned from the events themselves)."""

    def learn(self, kind: str, scope: str, value: str) -> bool:
        """Record ``value`` under (kind, scope); True if it was new there."""
        ...

    def seen(self, kind: str, scope: str, value: str) -> bool:
        """True if ``value`` was learned under (kind, scope)."""
        ...

    def known(self, kind: str, scope: str) -> bool:
        """True if anything was learned under (kind, scope) before."""
        ...


class Rule(Protocol):
    """One anomaly rule: a name, the actions it reads, and what it makes of one event."""

    name: str
    actions: frozenset[str]

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        """Signals raised by ``event`` (usually none)."""
        ...


class TextMasker(Protocol):
    """Replaces secrets in text (bastion.vault.Masker fits)."""

    def mask(self, data: bytes) -> bytes:
        """``data`` with every secret replaced."""
        ...
