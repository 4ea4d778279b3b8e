"""Built-in gates by name (``uses: bastion/<name>``), imported only when used.

Imports are lazy so a run that uses one gate does not pay for loading the others.
"""

from __future__ import annotations

import importlib
from typing import assert_never

from bastion.errors import UsageError
from bastion.scanners.interface import Gate, GateName

__all__ = ["available_gates", "gate_name", "load_gate"]


def _factory(name: GateName) -> str:
    """Where gate ``name`` is made: ``"module:factory"``, a class taking no arguments."""
    match name:
        case GateName.SECRETS:
            return "bastion.scanners.secrets:SecretsGate"
        case GateName.SAST:
            return "bastion.scanners.sast:SastGate"
        case GateName.SCA:
            return "bastion.scanners.sca:ScaGate"
        case GateName.IAC:
            return "bastion.scanners.iac:IacGate"
        case GateName.CICONFIG:
            return "bastion.scanners.ciconfig:CiconfigGate"
        case GateName.SARIF:
            return "bastion.scanners.sarif_gate:SarifGate"
        case GateName.IMAGE:
            return "bastion.scanners.composed:image_gate"
        case GateName.DAST:
            return "bastion.scanners.dast:DastGate"
        case _:
            assert_never(name)


def available_gates() -> list[str]:
    """Names of every built-in gate, sorted."""
    return sorted(name.value for name in GateName)


def gate_name(name: str) -> GateName:
    """``name`` as a :class:`GateName`; a clear error listing the known gates otherwise."""
    try:
        return GateName(name)
    except ValueError:
        known = ", ".join(available_gates()) or "none"
        raise UsageError(
            f"unknown gate 'bastion/{name}'",
            hint=f"use one of the built-in gates: {known}",
        ) from None


def load_gate(name: str) -> Gate:
    """The gate called ``name``; a clear error listing the known gates otherwise."""
    module_name, _, factory_name = _factory(gate_name(name)).partition(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    gate = factory()
    if not isinstance(gate, Gate):  # a registry entry pointing at the wrong object
        raise TypeError(f"{module_name}.{factory_name} did not make a Gate")
    return gate
