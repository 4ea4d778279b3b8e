"""Gate decisions as policy: Rego rules, suppressions with owner and expiry, baselines.

>>> from bastion.policy import PolicyEngine, PolicyInput
>>> from bastion.trust import RunContext, Trust
>>> engine = PolicyEngine.load(None)          # Bastion's default policy only
>>> ctx = RunContext("demo", None, "refs/heads/main", "push", Trust.TRUSTED)
>>> finding = {"rule_id": "py-eval", "gate": "sast", "severity": "high",
...            "message": "eval of input", "fingerprint": "ab12", "where": "app.py:3",
...            "new": True, "suppressed": False}
>>> decision = engine.decide(PolicyInput(context=ctx, findings=[finding]))
>>> decision.allowed, decision.reasons[0].fingerprints
(False, ('ab12',))
"""

from bastion.policy.baseline import Baseline, load_baseline_file
from bastion.policy.engine import DECISION_QUERY, PolicyEngine
from bastion.policy.interpreter import RegoModule, evaluate
from bastion.policy.model import Decision, PolicyInput, Reason, RunContext
from bastion.policy.suppressions import (
    FindingLike,
    Suppression,
    SuppressionMatch,
    Suppressions,
    load_suppressions,
    suppression_notes,
)

__all__ = [
    "DECISION_QUERY",
    "Baseline",
    "Decision",
    "FindingLike",
    "PolicyEngine",
    "PolicyInput",
    "Reason",
    "RegoModule",
    "RunContext",
    "Suppression",
    "SuppressionMatch",
    "Suppressions",
    "evaluate",
    "load_baseline_file",
    "load_suppressions",
    "suppression_notes",
]
