"""``--gate`` and ``--option`` as gate specs (issue 23: options that behave)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from bastion.cli.scan_options import parse_gate_options, unused_option_gates
from bastion.engine.gate_scan import default_gates
from bastion.engine.gates import GateSpec
from bastion.errors import UsageError
from bastion.scanners.gate_options import UnknownOptionError


def _options(specs: Sequence[GateSpec], name: str) -> dict[str, Any]:
    return {spec.name: dict(spec.options) for spec in specs}[name]


def test_an_option_applies_without_g_and_selects_nothing() -> None:
    specs = parse_gate_options([], ["sca.exclude=tests/data"])
    assert [s.name for s in specs] == [s.name for s in default_gates()]
    assert _options(specs, "sca") == {"exclude": ["tests/data"]}
    assert _options(specs, "secrets") == {}
    # With -g, the option's gate is not added either.
    (only,) = parse_gate_options(["secrets"], ["sca.exclude=x"])
    assert only.name == "secrets"
    assert only.options == {}


def test_list_keys_accumulate_and_accept_comma_lists() -> None:
    (spec,) = parse_gate_options(
        ["sca"], ["sca.exclude=a", "sca.exclude=b, c", 'sca.exclude=["d,e"]']
    )
    assert spec.options == {"exclude": ["a", "b", "c", "d,e"]}
    (sarif,) = parse_gate_options(["sarif"], ["sarif.exit_codes=0,1", "sarif.exit_codes=3"])
    assert sarif.options == {"exit_codes": [0, 1, 3]}


def test_a_scalar_key_keeps_its_last_value_and_its_json_type() -> None:
    (spec,) = parse_gate_options(["sarif"], ["sarif.timeout=5", "sarif.timeout=7"])
    assert spec.options == {"timeout": 7}


def test_an_unknown_key_is_refused_with_a_did_you_mean() -> None:
    with pytest.raises(UnknownOptionError) as caught:
        parse_gate_options([], ["sca.bogus=1"])
    assert caught.value.key == "bogus"
    with pytest.raises(UnknownOptionError) as near:
        parse_gate_options(["sast"], ["sast.exclud=x"])
    assert near.value.hint is not None
    assert near.value.hint.startswith("did you mean 'exclude'?")


@pytest.mark.parametrize(
    ("options", "expected"),
    [(["nope.x=1"], "unknown gate 'bastion/nope'"), (["sca=1"], "not GATE.KEY=VALUE")],
)
def test_malformed_options_are_usage_errors(options: list[str], expected: str) -> None:
    with pytest.raises(UsageError, match=expected) as caught:
        parse_gate_options([], options)
    assert caught.value.exit_code == 2


def test_options_for_a_gate_that_does_not_run_are_named() -> None:
    options = ["sarif.command=true", "sca.exclude=x", "sarif.timeout=1"]
    specs = parse_gate_options([], options)
    assert unused_option_gates(specs, options) == ["sarif"]
