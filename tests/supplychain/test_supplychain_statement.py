"""Statements and provenance facts read back from signed bytes: malformed input fails closed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bastion.errors import PolicyError, VerificationError
from bastion.supplychain import digest_bytes
from bastion.supplychain.policy_eval import evaluate_policy
from bastion.supplychain.provenance import ProvenanceFacts, provenance_predicate
from bastion.supplychain.statement import (
    SLSA_PROVENANCE_V1,
    Statement,
    Subject,
    encode_statement,
)
from bastion.trust import Trust

from .supplychain_support import make_context

GOOD: dict[str, Any] = {
    "_type": "https://in-toto.io/Statement/v1",
    "predicateType": "x",
    "predicate": {},
    "subject": [{"name": "a", "digest": {"sha256": "0" * 64}}],
}


def test_round_trip() -> None:
    subject = Subject("app", digest_bytes(b"app"))
    payload = encode_statement([subject], SLSA_PROVENANCE_V1, {"k": "é"})
    statement = Statement.from_payload(payload)
    assert statement.subjects == (subject,)
    assert statement.predicate == {"k": "é"}
    assert b"\xc3\xa9" in payload  # UTF-8, not \\u escapes


@pytest.mark.parametrize(
    "change",
    [
        {"_type": "https://in-toto.io/Statement/v0.1"},
        {"predicate": []},
        {"predicateType": 3},
        {"subject": []},
        {"subject": [{"name": "a", "digest": {"sha256": "zz"}}]},
    ],
)
def test_malformed_statements(change: dict[str, Any]) -> None:
    with pytest.raises(VerificationError) as info:
        Statement.from_payload(json.dumps({**GOOD, **change}).encode())
    assert info.value.reason == "statement-malformed"


@pytest.mark.parametrize("payload", [b"\xff", b"[1]", b"nope"])
def test_non_json_statements(payload: bytes) -> None:
    with pytest.raises(VerificationError, match=r"(?i)statement"):
        Statement.from_payload(payload)


def test_subjects_without_sha256_are_ignored() -> None:
    doc = {**GOOD, "subject": [{"name": "a", "digest": {"sha512": "00"}}, GOOD["subject"][0]]}
    assert len(Statement.from_payload(json.dumps(doc).encode()).subjects) == 1


def _predicate() -> dict[str, Any]:
    return provenance_predicate(make_context(trust=Trust.RELEASE), signed=True)


def test_facts_read_back() -> None:
    facts = ProvenanceFacts.from_predicate(_predicate())
    assert (facts.trust, facts.signed, facts.ref) == ("release", True, "refs/heads/main")
    assert [g.gate for g in facts.gates] == ["secrets", "sast"]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p["runDetails"].pop("builder"), "provenance-malformed"),
        (lambda p: p["runDetails"].update(byproducts=[]), "gates-missing"),
        (
            lambda p: p["runDetails"]["metadata"].update(finishedOn="yesterday"),
            "provenance-malformed",
        ),
        (
            lambda p: p["runDetails"]["metadata"].update(finishedOn="2026-11-01T10:00:00"),
            "provenance-malformed",
        ),
        (
            lambda p: p["runDetails"]["byproducts"][0]["annotations"].update(gates=[{"gate": "x"}]),
            "provenance-malformed",
        ),
    ],
)
def test_malformed_provenance(mutate: Any, reason: str) -> None:
    predicate = _predicate()
    mutate(predicate)
    with pytest.raises(VerificationError) as info:
        ProvenanceFacts.from_predicate(predicate)
    assert info.value.reason == reason


def test_policy_allow_must_be_boolean() -> None:
    with pytest.raises(PolicyError, match="must be a boolean"):
        evaluate_policy("p.rego", 'package bastion.verify\nallow := "yes"\n', {})


def test_policy_in_another_package_allows_nothing() -> None:
    decision = evaluate_policy("p.rego", "package other\nallow := true\n", {})
    assert not decision.allow
    assert "defines no 'allow'" in decision.reasons[0]


def test_context_requires_timezones_and_order() -> None:
    from datetime import datetime

    from bastion.errors import UsageError

    with pytest.raises(UsageError, match="timezone-aware"):
        make_context(started=datetime(2026, 1, 1))
    with pytest.raises(UsageError, match="before started"):
        make_context(finished=datetime(2020, 1, 1, tzinfo=make_context().started.tzinfo))
    with pytest.raises(UsageError, match="commit is empty"):
        make_context(commit="")
