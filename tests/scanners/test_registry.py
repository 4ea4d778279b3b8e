"""Every gate name maps to a gate (exhaustively), and that gate honours the Gate contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.errors import UsageError
from bastion.scanners.interface import Gate, GateName, GateReport, ScanRequest
from bastion.scanners.registry import available_gates, gate_name, load_gate


@pytest.mark.parametrize("name", list(GateName))
def test_every_gate_name_loads_its_gate(name: GateName) -> None:
    gate = load_gate(name)
    assert isinstance(gate, Gate)
    assert gate.name == name
    assert name.value in available_gates()


def test_available_gates_are_the_names_sorted() -> None:
    assert available_gates() == sorted(member.value for member in GateName)


def test_an_unknown_gate_is_a_usage_error_listing_the_known_ones() -> None:
    with pytest.raises(UsageError, match="unknown gate 'bastion/nope'") as caught:
        gate_name("nope")
    assert caught.value.hint is not None
    assert "secrets" in caught.value.hint


class _Bare(Gate):
    """A gate that overrides nothing but ``scan``."""

    name = "bare"

    def scan(self, request: ScanRequest) -> GateReport:
        raise AssertionError("not scanned here")


def test_hook_defaults_bind_nothing_prepare_nothing_stage_nothing(tmp_path: Path) -> None:
    gate = _Bare()
    assert gate.required_binds() == []
    gate.prepare()
    options = {"mode": "tree"}
    prepared = gate.prepare_workspace(tmp_path, tmp_path, options)
    assert prepared == options
    assert prepared is not options  # the caller may change its copy
    assert list(tmp_path.iterdir()) == []
