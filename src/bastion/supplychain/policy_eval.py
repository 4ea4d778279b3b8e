"""Evaluate a verification policy written in Rego.

Evaluation goes through ``bastion.policy``'s single regopy seam (error locations, strict
built-ins, no output on stdout). A policy must be ``package bastion.verify`` and
define ``allow`` (boolean) and optionally ``deny`` (a set of messages). An undefined
``allow`` counts as a refusal: the policy fails closed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bastion.errors import PolicyError
from bastion.policy import RegoModule
from bastion.policy.interpreter import evaluate

__all__ = ["PolicyDecision", "default_policy", "evaluate_policy", "load_policy"]

_PACKAGE = "bastion.verify"


@dataclass(frozen=True)
class PolicyDecision:
    """A policy's verdict: allowed or not, and the reasons it gave for refusing."""

    allow: bool
    reasons: tuple[str, ...]


def default_policy() -> tuple[str, str]:
    """Bastion's built-in verification policy: (origin, source)."""
    source = resources.files("bastion.supplychain.policies").joinpath("verify.rego").read_text()
    return "builtin:verify.rego", source


def load_policy(path: Path) -> tuple[str, str]:
    """Read a user policy file: (origin, source)."""
    try:
        return str(path), path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read policy: {exc}") from exc


def evaluate_policy(origin: str, source: str, data: dict[str, Any]) -> PolicyDecision:
    """Evaluate ``source`` (a ``package bastion.verify`` module) against ``data``."""
    # Query the whole package, then read the rules: an undefined package allows nothing.
    package = evaluate([RegoModule(origin, source)], f"data.{_PACKAGE}", json.dumps(data))
    if package is None:
        package = {}
    if not isinstance(package, dict):
        raise PolicyError(f"{origin}: package {_PACKAGE} evaluated to {package!r}")
    allow, deny = package.get("allow"), package.get("deny")
    if allow is not None and not isinstance(allow, bool):
        raise PolicyError(f"{origin}: 'allow' must be a boolean, got {allow!r}")
    reasons = tuple(str(r) for r in deny) if isinstance(deny, list) else ()
    if allow is None:
        reasons = (*reasons, f"{origin} defines no 'allow' in package {_PACKAGE}")
    return PolicyDecision(allow=allow is True, reasons=reasons)
