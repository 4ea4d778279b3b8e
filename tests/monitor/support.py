"""Event builders for the monitor's tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bastion.monitor import MemoryBaseline, Observation, Rule, RuleSet, Signal

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def ev(
    action: str,
    subject: str = "x/1",
    *,
    actor: str = "bastion",
    outcome: str = "success",
    at: float = 0.0,
    seq: int = 0,
    **details: Any,
) -> Observation:
    """One observation ``at`` seconds after T0."""
    return Observation(seq, T0 + timedelta(seconds=at), actor, action, subject, outcome, details)


def feed(rules: Sequence[Rule], events: Iterable[Observation]) -> list[Signal]:
    """Every signal the rules raise over ``events`` (seq numbered in order)."""
    ruleset = RuleSet(rules, MemoryBaseline())
    out: list[Signal] = []
    for seq, event in enumerate(events):
        out.extend(ruleset.evaluate(Observation(seq, *_rest(event))))
    return out


def _rest(event: Observation) -> tuple[Any, ...]:
    return (event.time, event.actor, event.action, event.subject, event.outcome, event.details)
