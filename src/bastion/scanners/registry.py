"""Built-in gates by name (``uses: bastion/<name>``), imported only when used.

Imports are lazy so a run that uses one gate does not pay for loading the others.
"""

from __future__ import annotations

import importlib

from bastion.errors import UsageError
from bastion.scanners.interface import Gate

__all__ = ["available_gates", "load_gate"]

# name -> "module:factory"; the factory takes no arguments and returns a Gate.
_GATES: dict[str, str] = {
    "secrets": "bastion.scanners.secrets:SecretsGate",
    "sast": "bastion.scanners.sast:SastGate",
    "iac": "bastion.scanners.iac:IacGate",
    "sarif": "bastion.scanners.sarif_gate:SarifGate",
    "sca": "bastion.scanners.sca:ScaGate",
}


def available_gates() -> list[str]:
    """Names of every built-in gate, sorted."""
    return sorted(_GATES)


def load_gate(name: str) -> Gate:
    """The gate called ``name``; a clear error listing the known gates otherwise."""
    target = _GATES.get(name)
    if target is None:
        known = ", ".join(available_gates()) or "none"
        raise UsageError(
            f"unknown gate 'bastion/{name}'",
            hint=f"use one of the built-in gates: {known}",
        )
    module_name, _, factory_name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    gate: Gate = factory()
    return gate
