"""The policy input: findings grouped for Bastion's rules, the full list for policies reading it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.policy import PolicyEngine, PolicyInput, RegoModule, RunContext
from bastion.policy.input_document import finding_groups, input_json, reads_findings
from bastion.trust import Trust

CTX = RunContext(repo="demo", commit=None, ref="main", trust=Trust.TRUSTED, event="push")


def _module(body: str) -> RegoModule:
    return RegoModule("user.rego", f"package bastion.gate\nimport rego.v1\n{body}\n")


def test_bastion_policy_alone_does_not_read_findings() -> None:
    assert not PolicyEngine.load(None).reads_findings


def test_user_policy_naming_findings_reads_them() -> None:
    assert PolicyEngine.load(Path(__file__).parents[1] / "data" / "policy" / "extra").reads_findings


def test_any_other_use_of_input_reads_findings() -> None:
    for body in (
        "deny contains f.fingerprint if some f in input.findings",
        "deny contains k if input[k]",
        "n := count(walk(input))",
        'x := object.get(input, "findings", [])',
        "deny contains 1 if { data.t.y with input as {} }",
        'msg := "issue #1"; y := input . findings',
        "x := input.context.repo; y := input\n\t.findings",
    ):
        assert reads_findings([_module(body)]), body


def test_comments_strings_and_known_paths_do_not_read_findings() -> None:
    body = (
        "# some f in input.findings\n"
        'x := "input.findings"\n'
        "y := `input[k]`\n"
        "z := [input.context.repo, input.gates, input.suppressions, input.finding_groups]\n"
        'w := "say \\"input.findings\\""'
    )
    assert not reads_findings([_module(body)])


def _finding(fp: str, severity: str, gate: str = "sast", *, new: bool = True) -> dict[str, Any]:
    return {"fingerprint": fp, "severity": severity, "gate": gate, "new": new, "suppressed": False}


def test_groups_are_worst_first_with_fingerprints_in_order() -> None:
    findings = [
        _finding("a", "low"),
        _finding("b", "critical"),
        _finding("c", "low"),
        _finding("d", "critical", new=False),
    ]
    groups = finding_groups(findings)
    assert [(g["severity"], g["new"], g["fingerprints"], g["count"]) for g in groups] == [
        ("critical", True, ["b"], 1),
        ("critical", False, ["d"], 1),
        ("low", True, ["a", "c"], 2),
    ]


def test_findings_are_in_the_input_only_when_read() -> None:
    policy_input = PolicyInput(context=CTX, findings=[_finding("a", "high")])
    lean = json.loads(input_json(policy_input, with_findings=False))
    assert "findings" not in lean
    assert lean["finding_groups"][0]["fingerprints"] == ["a"]
    full = json.loads(input_json(policy_input, with_findings=True))
    assert full["findings"] == [_finding("a", "high")]


PER_FINDING = Path(__file__).parents[1] / "data" / "policy" / "per-finding"
_findings: st.SearchStrategy[list[dict[str, Any]]] = st.lists(
    st.builds(
        dict,
        fingerprint=st.uuids().map(lambda u: u.hex),
        severity=st.sampled_from(["critical", "high", "medium", "low", "info"]),
        gate=st.sampled_from(["sast", "secrets", "sca"]),
        new=st.booleans(),
        suppressed=st.booleans(),
        rule_id=st.just("r"),
        message=st.just("m"),
        where=st.just("a.py:1"),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(_findings)
def test_grouped_default_decides_as_the_per_finding_rules(findings: list[dict[str, Any]]) -> None:
    policy_input = PolicyInput(
        context=CTX, findings=findings, gates={"sca": {"facts": {"database_age_days": 40}}}
    )
    grouped = _DEFAULT.decide(policy_input)
    per_finding = _PER_FINDING.decide(policy_input)
    assert grouped.allowed == per_finding.allowed
    for new, old in (
        (grouped.reasons, per_finding.reasons),
        (grouped.warnings, per_finding.warnings),
    ):
        assert [r.message for r in new] == [r.message for r in old]
        assert [sorted(r.fingerprints) for r in new] == [sorted(r.fingerprints) for r in old]


_DEFAULT = PolicyEngine.load(None)
_PER_FINDING = PolicyEngine.load(PER_FINDING)
