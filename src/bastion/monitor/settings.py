"""What the rules are tuned with: thresholds, CI file patterns, deploy windows, overrides.

Built from defaults or a rule file (:mod:`bastion.monitor.rulefile`); frozen once built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from bastion.monitor.interface import Severity

__all__ = ["DEFAULT_CI_PATTERNS", "DeployWindow", "RuleSettings"]

DEFAULT_CI_PATTERNS = (
    ".bastion.yml",
    ".bastion.yaml",
    ".bastion/*",
    ".github/workflows/*",
    ".github/actions/*",
    ".gitlab-ci.yml",
    ".gitlab/ci/*",
    "Jenkinsfile",
    ".circleci/*",
    "azure-pipelines.yml",
)


@dataclass(frozen=True)
class DeployWindow:
    """When approvals for an environment are expected: weekdays (0 = Monday) and UTC hours."""

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days <= frozenset(range(7)):
            raise ValueError("deploy window days must be 0 (Monday) to 6 (Sunday)")
        if self.start >= self.end:
            raise ValueError("a deploy window must start before it ends")

    def contains(self, moment: datetime) -> bool:
        """True if ``moment`` (aware, read in UTC) falls inside the window."""
        at = moment.astimezone(UTC)
        return at.weekday() in self.days and self.start <= at.time() < self.end


@dataclass(frozen=True)
class RuleSettings:
    """Every knob of the built-in rules, with defaults that need no file."""

    disabled: frozenset[str] = frozenset()
    severities: Mapping[str, Severity] = field(default_factory=dict)
    ci_patterns: tuple[str, ...] = DEFAULT_CI_PATTERNS
    login_failures: int = 5
    login_window_seconds: float = 300.0
    deploy_windows: Mapping[str, DeployWindow] = field(default_factory=dict)
