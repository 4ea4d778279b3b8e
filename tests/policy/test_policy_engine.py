"""Rego decisions: the default policy, user policies, and malformed ones (never a silent pass)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bastion.errors import PolicyError
from bastion.policy import PolicyEngine, PolicyInput, RegoModule, RunContext
from bastion.trust import Trust

DATA = Path(__file__).parents[1] / "data" / "policy"
CTX = RunContext(repo="demo", ref="refs/heads/main", trust=Trust.TRUSTED, event="push", commit="c0")


def finding(
    fingerprint: str,
    severity: str = "high",
    gate: str = "sast",
    *,
    new: bool = True,
    suppressed: bool = False,
) -> dict[str, Any]:
    return {
        "rule_id": f"rule-{fingerprint}",
        "gate": gate,
        "severity": severity,
        "message": "something risky",
        "fingerprint": fingerprint,
        "where": "app.py:3",
        "location": {"path": "app.py", "line": 3},
        "new": new,
        "suppressed": suppressed,
    }


def decide(engine: PolicyEngine, *findings: dict[str, Any], trust: str = "trusted") -> Any:
    ctx = RunContext(repo="demo", commit=None, ref="main", trust=Trust(trust), event="push")
    return engine.decide(PolicyInput(context=ctx, findings=list(findings)))


@pytest.fixture(scope="module")
def default() -> PolicyEngine:
    return PolicyEngine.load(None)


def test_default_passes_clean_and_low_findings(default: PolicyEngine) -> None:
    assert decide(default).allowed
    assert decide(default, finding("a", "low"), finding("b", "info")).allowed


@pytest.mark.parametrize("severity", ["critical", "high"])
def test_default_blocks_critical_and_high_naming_them(default: PolicyEngine, severity: str) -> None:
    decision = decide(default, finding("a", severity), finding("b", "low"))
    assert not decision.allowed
    (reason,) = decision.reasons
    assert reason.fingerprints == ("a",)
    assert "1 new critical or high finding" in reason.message


def test_default_warns_on_medium(default: PolicyEngine) -> None:
    decision = decide(default, finding("m", "medium"))
    assert decision.allowed
    assert decision.warnings[0].fingerprints == ("m",)


def test_suppressed_and_baseline_findings_do_not_block(default: PolicyEngine) -> None:
    assert decide(default, finding("a", suppressed=True), finding("b", new=False)).allowed


def test_any_secret_blocks_even_from_the_baseline(default: PolicyEngine) -> None:
    decision = decide(default, finding("s", "low", "secrets", new=False))
    assert not decision.allowed
    assert decision.reasons[0].fingerprints == ("s",)
    assert decide(default, finding("s", "low", "secrets", suppressed=True)).allowed


def test_user_rule_adds_to_default() -> None:
    engine = PolicyEngine.load(DATA / "extra")
    assert engine.uses_default
    medium = finding("m", "medium")
    assert decide(engine, medium).allowed
    blocked = decide(engine, medium, trust="untrusted")
    assert not blocked.allowed
    assert blocked.reasons[0].message == "untrusted run adds rule-m at app.py:3"
    assert not decide(engine, finding("h")).allowed  # default still applies


def test_user_policy_replaces_default() -> None:
    engine = PolicyEngine.load(DATA / "replace")
    assert not engine.uses_default
    assert decide(engine, finding("h", "high")).allowed
    assert not decide(engine, finding("c", "critical")).allowed
    assert PolicyEngine.load(DATA / "replace", replace_default=False).uses_default


def test_missing_user_dir_is_just_the_default(tmp_path: Path) -> None:
    engine = PolicyEngine.load(tmp_path / "absent")
    assert engine.sources == ["<bastion>/lib.rego", "<bastion>/default.rego"]


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(PolicyError, match=r"syntax/broken\.rego:6:\d+: ") as info:
        PolicyEngine.load(DATA / "syntax")
    assert "Rego v1" in info.value.diagnostics()


def test_conflict_is_an_error_not_a_pass() -> None:
    with pytest.raises(PolicyError, match="complete rules must not produce multiple outputs"):
        PolicyEngine.load(DATA / "conflict")


def test_runtime_error_is_an_error_not_a_pass() -> None:
    engine = PolicyEngine.load(DATA / "runtime", replace_default=True)
    facts = {"sca": {"facts": {"names": 5}}}
    with pytest.raises(PolicyError, match=r"concat: operand 2 .* got number"):
        engine.decide(PolicyInput(context=CTX, gates=facts))


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("v0", "Rego v0"),
        ("wrongtype", "neither a string nor"),
        ("nodeny", "defines no `deny` rule"),
    ],
)
def test_unusable_decision_blocks(scenario: str, expected: str) -> None:
    engine = PolicyEngine.load(DATA / scenario, replace_default=scenario != "nodeny" or None)
    decision = decide(engine)
    assert not decision.allowed
    assert expected in decision.reasons[0].message


def test_replace_default_must_be_boolean() -> None:
    with pytest.raises(PolicyError, match="must be true or false"):
        PolicyEngine.load(DATA / "config-bad")


def test_sprintf_quoting_bug_still_reads() -> None:
    decision = decide(PolicyEngine.load(DATA / "sprintf"))
    assert not decision.allowed
    assert decision.reasons[0].message == 'repo "DEMO" is frozen'


def test_policy_dir_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "policy"
    target.write_text("")
    with pytest.raises(PolicyError, match="not a directory"):
        PolicyEngine.load(target)


def test_unreadable_policy_file(tmp_path: Path) -> None:
    (tmp_path / "bad.rego").write_bytes(b"\xff\xfe")
    with pytest.raises(PolicyError, match=r"bad\.rego: cannot read policy"):
        PolicyEngine.load(tmp_path)


def test_malformed_fingerprints_and_warn() -> None:
    bad_fp = RegoModule(
        "fp.rego",
        'package bastion.gate\nimport rego.v1\ndeny contains {"msg": "x", "fingerprints": [1]} '
        "if true\n",
    )
    decision = decide(PolicyEngine.from_modules([bad_fp], replace_default=True))
    assert not decision.allowed
    assert "not strings" in decision.reasons[0].message
    bad_warn = RegoModule(
        "w.rego",
        'package bastion.gate\nimport rego.v1\ndeny contains "no" if input.never\nwarn := 3\n',
    )
    decision = decide(PolicyEngine.from_modules([bad_warn], replace_default=True))
    assert not decision.allowed
    assert "`warn` must be a set" in decision.reasons[0].message


def test_input_carries_context_and_gate_facts() -> None:
    module = RegoModule(
        "facts.rego",
        "package bastion.gate\nimport rego.v1\n"
        'deny contains "stale vulnerability database" if '
        "input.gates.sca.facts.database_age_days > 7\n",
    )
    engine = PolicyEngine.from_modules([module])
    fresh = PolicyInput(context=CTX, gates={"sca": {"facts": {"database_age_days": 1}}})
    stale = PolicyInput(context=CTX, gates={"sca": {"facts": {"database_age_days": 30}}})
    assert engine.decide(fresh).allowed
    assert not engine.decide(stale).allowed


def test_default_warns_on_stale_vulnerability_data(default: PolicyEngine) -> None:
    stale = PolicyInput(context=CTX, gates={"sca": {"facts": {"database_age_days": 400}}})
    decision = default.decide(stale)
    assert decision.allowed
    assert "data 400 days old" in decision.warnings[0].message
    fresh = PolicyInput(context=CTX, gates={"sca": {"facts": {"database_age_days": 2}}})
    assert default.decide(fresh).warnings == ()


def test_a_decision_under_a_replaced_default_says_so() -> None:
    # The policy directory is the repository's own: one that drops Bastion's default and
    # denies nothing passes everything, so every decision must say whose rules decided.
    empty = RegoModule(
        "repo/.bastion/policy/allow.rego",
        "package bastion.config\n\nreplace_default := true\n",
    )
    nothing = RegoModule(
        "repo/.bastion/policy/gate.rego", "package bastion.gate\n\ndeny := set()\n"
    )
    decision = decide(PolicyEngine.from_modules([empty, nothing]), finding("c", "critical"))
    assert decision.allowed
    assert any("replaces Bastion's default policy" in note for note in decision.notes)
    assert not decide(PolicyEngine.load(DATA / "missing")).notes


def test_default_blocks_unknown_severity_saying_so(default: PolicyEngine) -> None:
    # Issue 23: a vulnerability no record scores is not waved through as a medium one.
    decision = decide(default, finding("u", "unknown", gate="sca"), finding("m", "medium"))
    assert not decision.allowed
    (reason,) = decision.reasons
    assert reason.fingerprints == ("u",)
    assert "severity unknown" in reason.message


def test_a_user_policy_can_relax_unknown_severity() -> None:
    relax = RegoModule(
        "relax.rego",
        "package bastion.config\nimport rego.v1\nblock_unknown_severity := false\n",
    )
    decision = decide(PolicyEngine.from_modules([relax]), finding("u", "unknown", gate="sca"))
    assert decision.allowed
    assert any("severity unknown" in w.message for w in decision.warnings)
