"""``deploy.rolled_back`` and ``deploy.drift_detected`` (as bastion.deploy records them) raise
exactly their alert among all the built-in rules: removing a rule fails its test."""

from __future__ import annotations

from bastion.monitor import Severity, builtin_rules
from tests.monitor.support import ev, feed

_OLD, _NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def test_a_rollback_raises_deploy_rolled_back() -> None:
    events = [
        ev("deploy.step", "deploy/prod", environment="prod", digest=_NEW, weight=10),
        ev("deploy.rolled_back", "deploy/prod", actor="user:ci", outcome="failure",
           environment="prod", digest=_NEW, reason="error rate 0.40 over 0.05",
           restored=_OLD),
        ev("deploy.rolled_back", "deploy/prod", actor="user:ops", environment="prod",
           digest=_OLD, reason="manual", restored=_NEW),
    ]  # fmt: skip
    signals = feed(builtin_rules(), events)
    assert [(s.rule, s.title, s.severity, s.seq) for s in signals] == [
        ("deploy-rolled-back", "deploy to prod rolled back after a failed step", Severity.HIGH, 1),
        ("deploy-rolled-back", "deploy to prod rolled back by hand", Severity.HIGH, 2),
    ]
    assert signals[0].detail == (
        f"{_NEW} rolled back by user:ci (error rate 0.40 over 0.05); now serving {_OLD}"
    )
    assert signals[0].key != signals[1].key  # each rollback is its own alert


def test_drift_raises_deploy_drift_once_per_environment() -> None:
    differences = [{"what": "digest", "expected": _OLD, "found": _NEW},
                   {"what": "weights", "expected": "blue=100,green=0",
                    "found": "blue=50,green=50"}]  # fmt: skip
    events = [
        ev("deploy.drift_checked", "deploy/prod", environment="prod", differences=[]),
        ev("deploy.drift_detected", "deploy/prod", outcome="failure", environment="prod",
           drifted=True, differences=differences),
        ev("deploy.drift_detected", "deploy/prod", outcome="failure", environment="prod",
           drifted=True, differences=differences),
    ]  # fmt: skip
    signals = feed(builtin_rules(), events)
    assert [(s.rule, s.title, s.key) for s in signals] == [
        ("deploy-drift", "prod drifted from its deployment", "prod"),
        ("deploy-drift", "prod drifted from its deployment", "prod"),
    ]
    assert signals[0].detail == (
        f"digest: expected {_OLD}, found {_NEW}; "
        "weights: expected blue=100,green=0, found blue=50,green=50"
    )


def test_an_overdue_secret_raises_secret_past_max_age_once_per_secret() -> None:
    overdue = ev("secret.overdue", "secret/NPM_TOKEN", actor="user:ops", outcome="failure",
                 name="NPM_TOKEN", rotated="2026-01-01T00:00:00Z", age="95d",
                 max_age="90d")  # fmt: skip
    events = [
        ev("secret.rotated", "secret/NPM_TOKEN", actor="user:ops", version=2),
        overdue,
        overdue,
    ]
    signals = feed(builtin_rules(), events)
    assert [(s.rule, s.title, s.key, s.severity) for s in signals] == [
        ("secret-past-max-age", "secret NPM_TOKEN is past its maximum age", "NPM_TOKEN",
         Severity.MEDIUM),
    ] * 2  # fmt: skip
    assert signals[0].detail == (
        "last rotated 2026-01-01T00:00:00Z, 95d old, max age 90d: bastion secrets rotate NPM_TOKEN"
    )
