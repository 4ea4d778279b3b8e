"""The built-in anomaly rules, one module per family.

>>> from bastion.monitor.rules import builtin_rules
>>> sorted(rule.name for rule in builtin_rules())[:2]
['approval-new-approver', 'approval-outside-window']
"""

from __future__ import annotations

from bastion.monitor.interface import Rule
from bastion.monitor.rules.access import FailedLoginBurst, SecretFirstUse, SecretPastMaxAge
from bastion.monitor.rules.base import BuiltinRule
from bastion.monitor.rules.deploy import (
    ApprovalByNewApprover,
    ApprovalOutsideWindow,
    DeployFromLowTrust,
    DeployFromUnprotectedRef,
)
from bastion.monitor.rules.egress import EgressDenied, NewEgressHost
from bastion.monitor.rules.integrity import AuditVerifyFailed
from bastion.monitor.rules.keys import KeyPastMaxAge
from bastion.monitor.rules.pipeline import NewPipelineFile, PipelineChanged
from bastion.monitor.rules.rollout import DeployDrift, DeployRolledBack
from bastion.monitor.rules.supply import NewDependency, UntrustedSignature, VerifyFailed
from bastion.monitor.settings import RuleSettings

__all__ = ["BUILTIN_RULES", "RULE_NAMES", "BuiltinRule", "builtin_rules"]

BUILTIN_RULES: tuple[type[BuiltinRule], ...] = (
    PipelineChanged,
    NewPipelineFile,
    DeployFromUnprotectedRef,
    DeployFromLowTrust,
    NewDependency,
    NewEgressHost,
    EgressDenied,
    SecretFirstUse,
    ApprovalOutsideWindow,
    ApprovalByNewApprover,
    VerifyFailed,
    UntrustedSignature,
    FailedLoginBurst,
    AuditVerifyFailed,
    DeployRolledBack,
    DeployDrift,
    SecretPastMaxAge,
    KeyPastMaxAge,
)
RULE_NAMES = frozenset(rule.name for rule in BUILTIN_RULES)


def builtin_rules(settings: RuleSettings | None = None) -> list[Rule]:
    """Every built-in rule not disabled in ``settings``, tuned by it."""
    chosen = settings or RuleSettings()
    return [rule(chosen) for rule in BUILTIN_RULES if rule.name not in chosen.disabled]
