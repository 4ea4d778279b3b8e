"""Which concurrent gate yields the CPU, and the CPU history that decides it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bastion.engine.gate_priority import (
    YIELDING_NICE,
    GateCpuHistory,
    cpu_by_gate,
    limits_by_gate,
    yielding_gate_jobs,
)
from bastion.engine.model import GateVerdict
from bastion.sandbox import Limits

BASE = Limits(timeout_seconds=60)


def _never_ordered(a: str, b: str) -> bool:
    return False


def test_all_but_the_longest_gate_yield() -> None:
    limits = limits_by_gate(
        ["sast", "iac", "secrets"], {"sast": 2.5, "iac": 3.2, "secrets": 0.4}, BASE
    )
    assert limits["iac"] == BASE
    assert limits["sast"].nice == limits["secrets"].nice == YIELDING_NICE
    assert limits["sast"].timeout_seconds == 60  # only the niceness changes


@pytest.mark.parametrize(
    ("gates", "expected"),
    [
        (["sast", "iac"], {"sast": 2.5}),  # a gate never measured: nobody yields
        (["sast"], {"sast": 2.5}),  # alone: nothing to yield to
        (["sast", "iac"], {}),
    ],
)
def test_nobody_yields_without_a_figure_for_every_gate(
    gates: list[str], expected: dict[str, float]
) -> None:
    assert set(limits_by_gate(gates, expected, BASE).values()) == {BASE}


def test_a_caller_niceness_is_never_lowered() -> None:
    base = Limits(nice=15)
    limits = limits_by_gate(["a", "b"], {"a": 1.0, "b": 2.0}, base)
    assert limits == {"a": base, "b": base}


def test_history_round_trip_per_tree(tmp_path: Path) -> None:
    history = GateCpuHistory.in_home(tmp_path / "home")
    one, two = tmp_path / "one", tmp_path / "two"
    assert history.expected(one) == {}
    history.remember(one, {"sast": 2.5, "iac": 3.25})
    history.remember(two, {"sast": 9.0})
    history.remember(one, {"sast": 1.5})  # a later scan updates what it measured
    assert history.expected(one) == {"sast": 1.5, "iac": 3.25}
    assert history.expected(two) == {"sast": 9.0}
    text = (tmp_path / "home" / "cache" / "gate-cpu.json").read_text()
    assert str(one) not in text  # trees are named by digest only


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        json.dumps({"format": "other", "trees": {}}),
        json.dumps({"format": "bastion-gate-cpu/1", "trees": []}),
    ],
)
def test_an_unreadable_history_is_ignored_and_replaced(tmp_path: Path, content: str) -> None:
    path = tmp_path / "gate-cpu.json"
    path.write_text(content)
    history = GateCpuHistory(path)
    assert history.expected(tmp_path) == {}
    history.remember(tmp_path, {"iac": 1.0})
    assert history.expected(tmp_path) == {"iac": 1.0}


def test_bad_figures_in_the_history_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "gate-cpu.json"
    history = GateCpuHistory(path)
    history.remember(tmp_path, {"iac": 1.0})
    doc = json.loads(path.read_text())
    (entry,) = doc["trees"].values()
    entry.update({"sast": "fast", "sca": -1, "sarif": 10**400, "secrets": 3})
    path.write_text(json.dumps(doc))
    assert history.expected(tmp_path) == {"iac": 1.0}


def test_only_the_most_recent_trees_are_kept(tmp_path: Path) -> None:
    history = GateCpuHistory(tmp_path / "gate-cpu.json")
    for number in range(205):
        history.remember(tmp_path / str(number), {"iac": float(number)})
    assert history.expected(tmp_path / "0") == {}
    assert history.expected(tmp_path / "204") == {"iac": 204.0}
    assert len(json.loads((tmp_path / "gate-cpu.json").read_text())["trees"]) == 200


def test_an_unwritable_history_never_fails_a_scan(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("a file where the home should be")  # even root cannot write under it
    history = GateCpuHistory.in_home(home)
    history.remember(tmp_path, {"iac": 1.0})
    assert history.expected(tmp_path) == {}


def test_a_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gate-cpu.json"

    def refuse(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    GateCpuHistory(path).remember(tmp_path, {"iac": 1.0})
    assert list(tmp_path.iterdir()) == []


def test_insane_figures_are_never_written(tmp_path: Path) -> None:
    path = tmp_path / "gate-cpu.json"
    history = GateCpuHistory(path)
    history.remember(tmp_path, {"iac": float("nan"), "sast": float("inf"), "sca": 1.0})
    assert history.expected(tmp_path) == {"sca": 1.0}
    assert "NaN" not in path.read_text()
    assert "Infinity" not in path.read_text()


def test_run_jobs_yield_to_the_longest_gate_job_beside_them() -> None:
    gate_of = {"secrets": "secrets", "lint": "sast", "infra": "iac"}
    expected = {"secrets": 0.4, "sast": 2.5, "iac": 3.2}
    assert yielding_gate_jobs(gate_of, expected, _never_ordered) == {"secrets", "lint"}


def test_a_gate_job_never_yields_to_one_it_needs_or_that_needs_it() -> None:
    gate_of = {"infra": "iac", "lint": "sast"}
    expected = {"iac": 3.2, "sast": 2.5}
    assert yielding_gate_jobs(gate_of, expected, lambda a, b: True) == frozenset()


def test_run_jobs_keep_their_priority_without_a_figure_for_every_gate() -> None:
    gate_of = {"infra": "iac", "lint": "sast"}
    assert yielding_gate_jobs(gate_of, {"iac": 3.2}, _never_ordered) == frozenset()


def test_equal_figures_go_to_the_earlier_job_in_plan_order() -> None:
    gate_of = {"first": "sast", "second": "sast"}
    assert yielding_gate_jobs(gate_of, {"sast": 1.0}, _never_ordered) == {"second"}


def test_cpu_by_gate_takes_what_each_gate_job_reported() -> None:
    gate_of = {"lint": "sast", "lint-again": "sast", "infra": "iac", "keys": "secrets"}
    verdicts = {
        "lint": GateVerdict(True, cpu_seconds=2.0),
        "lint-again": GateVerdict(False, cpu_seconds=2.5),
        "infra": GateVerdict(True, cpu_seconds=3.0),
        "keys": GateVerdict(False, ("crashed",)),  # no figure: nothing to remember
        "build": GateVerdict(True, cpu_seconds=9.0),  # not a gate job
    }
    assert cpu_by_gate(gate_of, verdicts) == {"sast": 2.5, "iac": 3.0}


def test_cpu_by_gate_remembers_nothing_for_a_lone_gate() -> None:
    gate_of = {"lint": "sast", "lint-again": "sast"}
    verdict = GateVerdict(True, cpu_seconds=2.0)
    assert cpu_by_gate(gate_of, {"lint": verdict, "lint-again": verdict}) == {}
