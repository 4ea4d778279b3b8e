"""``bastion scan``'s ``--gate`` and ``--option GATE.KEY=VALUE``, as the gate specs to run.

    >>> [(s.name, dict(s.options)) for s in parse_gate_options(
    ...     ["sca"], ["sca.exclude=tests", "sca.exclude=docs,examples"])]
    [('sca', {'exclude': ['tests', 'docs', 'examples']})]

``--option`` selects nothing: it applies to its gate whenever that gate runs, whether named
with ``--gate`` or run by default. Keys are checked against the gate's own
(``Gate.option_keys``) before anything runs, so a misspelt key is a usage error (exit 2)
with a did-you-mean, never an option silently ignored. A list key (``Gate.list_option_keys``)
collects every repetition and comma list, in order; any other key keeps its last value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bastion.engine.gate_scan import default_gates
from bastion.engine.gates import GateSpec
from bastion.errors import UsageError
from bastion.scanners import load_gate

__all__ = ["parse_gate_options", "unused_option_gates"]


def parse_gate_options(gates: Sequence[str], options: Sequence[str]) -> list[GateSpec]:
    """The gates to run (``gates``, else the default set), each with its ``--option`` values.

    A value that reads as JSON (``5``, ``[0, 1]``, ``true``) takes that type; anything else is
    a string. Unknown gate names and keys raise :class:`UsageError`.
    """
    by_gate: dict[str, dict[str, Any]] = {}
    for item in options:
        gate_name, key, raw = _split(item)
        gate = load_gate(gate_name)  # an unknown gate name: UsageError listing the gates
        gate.check_options({key: None})
        values = by_gate.setdefault(gate_name, {})
        if key in gate.list_option_keys:
            values[key] = [*values.get(key, []), *_list_value(raw)]
        else:
            values[key] = _value(raw)
    for name in gates:
        load_gate(name)  # checked here too: a misspelt -g fails before any option note
    names = list(dict.fromkeys(gates)) or [spec.name for spec in default_gates()]
    return [GateSpec(name, by_gate.get(name, {})) for name in names]


def unused_option_gates(specs: Sequence[GateSpec], options: Sequence[str]) -> list[str]:
    """Gates given ``--option`` values that will not run (worth a note: nothing uses them)."""
    running = {spec.name for spec in specs}
    named = dict.fromkeys(item.partition(".")[0] for item in options)
    return [name for name in named if name not in running]


def _split(item: str) -> tuple[str, str, str]:
    target, sep, raw = item.partition("=")
    gate, dot, key = target.partition(".")
    if not sep or not dot or not gate or not key:
        raise UsageError(
            f"--option {item!r} is not GATE.KEY=VALUE",
            hint="e.g. --option sarif.command='mytool --sarif -o \"$BASTION_SARIF\"'",
        )
    return gate, key, raw


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _list_value(raw: str) -> list[Any]:
    """A JSON list as is; otherwise comma-separated items, each read like a value."""
    value = _value(raw)
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        return [value]
    # A comma inside one item needs the JSON form: --option 'sca.exclude=["a,b"]'.
    return [_value(part.strip()) for part in raw.split(",") if part.strip()]
