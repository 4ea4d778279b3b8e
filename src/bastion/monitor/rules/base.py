"""The shared part of the built-in rules: name, severity (overridable), and signal making."""

from __future__ import annotations

from collections.abc import Iterable

from bastion.monitor.interface import Baseline, Observation, Severity, Signal
from bastion.monitor.settings import RuleSettings

__all__ = ["BuiltinRule", "run_of", "short"]

_MAX_TEXT = 200


def short(value: object) -> str:
    """``value`` as one line of at most 200 characters (alert texts quote event data)."""
    text = " ".join(str(value).split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def run_of(subject: str) -> str | None:
    """``run/<id>`` of a subject like ``run/7`` or ``run/7/job/build``."""
    parts = subject.split("/")
    return "/".join(parts[:2]) if len(parts) >= 2 and parts[0] == "run" else None


class BuiltinRule:
    """Base of the built-in rules. Subclasses set ``name``, ``actions``, ``default_severity``
    and implement :meth:`evaluate`."""

    name = "rule"
    actions: frozenset[str] = frozenset()
    default_severity = Severity.MEDIUM

    def __init__(self, settings: RuleSettings | None = None) -> None:
        self.settings = settings or RuleSettings()
        self.severity = self.settings.severities.get(self.name, self.default_severity)

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        """Signals raised by ``event``."""
        raise NotImplementedError

    def signal(
        self, event: Observation, title: str, detail: str, key: str, repo: str | None = None
    ) -> Signal:
        """A signal of this rule at its severity, pointing at ``event``."""
        return Signal(self.name, self.severity, short(title), detail, key, repo, event.seq)
