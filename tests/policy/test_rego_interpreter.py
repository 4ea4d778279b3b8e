"""The regopy seam: values read back exactly, every error becomes a PolicyError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.errors import PolicyError
from bastion.policy import RegoModule
from bastion.policy.interpreter import _compiled, evaluate

VALUES = RegoModule(
    "v.rego",
    "package t\nimport rego.v1\n"
    'obj := {"f": 1.5, "n": null, "b": false, "t": true, "s": {"x"}, "a": [1, "y"], "i": -3}\n'
    "echo := input.value\n",
)


def test_value_kinds() -> None:
    value = evaluate([VALUES], "data.t.obj", "{}")
    assert value == {"f": 1.5, "n": None, "b": False, "t": True, "s": ["x"], "a": [1, "y"], "i": -3}


def test_undefined_is_none() -> None:
    assert evaluate([VALUES], "data.t.nothing", "{}") is None
    assert evaluate([VALUES], "data.nope", "{}") is None


_strings = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20
)


@settings(max_examples=50, deadline=None)
@given(_strings)
def test_input_strings_come_back_unchanged(text: str) -> None:
    assert evaluate([VALUES], "data.t.echo", json.dumps({"value": text})) == text


def test_parse_error_location_counts_bytes() -> None:
    # A multi-byte character before the error must not shift the reported column.
    source = 'package t\nimport rego.v1\nx := "é"\ny := \n'
    with pytest.raises(PolicyError, match=r"^bad\.rego:4:\d+: "):
        evaluate([RegoModule("bad.rego", source)], "data.t", "{}")


def test_bad_input_json_is_an_error() -> None:
    with pytest.raises(PolicyError):
        evaluate([VALUES], "data.t", "{not json")


def test_function_not_found_is_an_error() -> None:
    module = RegoModule("f.rego", "package t\nimport rego.v1\nx := nosuch(1)\n")
    with pytest.raises(PolicyError, match="Function not found: nosuch"):
        evaluate([module], "data.t", "{}")


def test_recursion_is_an_error() -> None:
    module = RegoModule("r.rego", "package t\nimport rego.v1\na if b\nb if a\n")
    with pytest.raises(PolicyError, match="Recursion detected"):
        evaluate([module], "data.t", "{}")


def test_compiled_modules_are_reused_and_inputs_do_not_leak() -> None:
    assert _compiled([VALUES]) is _compiled([VALUES])
    assert evaluate([VALUES], "data.t.echo", json.dumps({"value": "first"})) == "first"
    assert evaluate([VALUES], "data.t.echo", "{}") is None  # no trace of the last input


def test_an_interpreter_that_failed_is_not_reused() -> None:
    before = _compiled([VALUES])
    with pytest.raises(PolicyError):
        evaluate([VALUES], "data.t", "{not json")
    assert _compiled([VALUES]) is not before
    assert evaluate([VALUES], "data.t.echo", json.dumps({"value": "ok"})) == "ok"
