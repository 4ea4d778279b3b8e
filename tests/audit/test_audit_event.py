"""Audit events: validation on construction and the canonical body round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.audit import Action, AuditEvent, Outcome, canonical_json
from bastion.audit.event import MAX_BODY_BYTES, format_time, parse_body
from bastion.errors import AuditError

from .conftest import T0


def test_body_is_canonical_json_with_all_fields() -> None:
    event = AuditEvent(
        actor="alice",
        action=Action.GATE_DECIDED,
        subject="run/7/gate/secrets",
        outcome=Outcome.DENIED,
        details={"z": 1, "a": "é"},
    )
    body = event.body(3, T0)
    assert body == (
        '{"action":"gate.decided","actor":"alice","details":{"a":"é","z":1},'
        '"outcome":"denied","seq":3,"subject":"run/7/gate/secrets",'
        '"time":"2026-01-02T03:04:05.678901Z","v":1}'
    )
    assert parse_body(body) == (
        3,
        AuditEvent(
            "alice", "gate.decided", "run/7/gate/secrets", Outcome.DENIED, {"a": "é", "z": 1}, T0
        ),
    )


def test_time_is_normalised_to_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert format_time(datetime(2026, 1, 2, 5, 0, tzinfo=plus2)) == "2026-01-02T03:00:00.000000Z"
    with pytest.raises(AuditError, match="timezone-aware"):
        format_time(datetime(2026, 1, 2))
    with pytest.raises(AuditError, match="timezone-aware"):
        AuditEvent("a", "run.started", "s", time=datetime(2026, 1, 2))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actor": ""}, "actor"),
        ({"subject": "x" * 1025}, "subject"),
        ({"action": "Run Started"}, "dotted lowercase"),
        ({"action": "run"}, "dotted lowercase"),
        ({"outcome": "maybe"}, "maybe"),
        ({"details": {"n": 2**60}}, "2\\*\\*53"),
        ({"details": {"f": float("nan")}}, "finite"),
        ({"details": {"x": {1: 2}}}, "non-string key"),
        ({"details": {"x": b"bytes"}}, "not JSON"),
        ({"details": {"l": [set()]}}, "not JSON"),
    ],
)
def test_invalid_events_are_refused(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"actor": "a", "action": "run.started", "subject": "s", **kwargs}
    with pytest.raises((AuditError, ValueError), match=message):
        AuditEvent(**fields)


def test_oversized_and_unencodable_bodies_are_refused() -> None:
    with pytest.raises(AuditError, match="larger than"):
        AuditEvent("a", "run.started", "s", details={"x": "y" * MAX_BODY_BYTES}).body(0, T0)
    with pytest.raises(AuditError, match="canonical"):
        canonical_json({"x": "\ud800"})


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"v":1}',
        '{"action":"run.started","actor":"a","details":{},"outcome":"success","seq":-1,'
        '"subject":"s","time":"2026-01-02T03:04:05.678901Z","v":1}',
        '{"action":"run.started","actor":"a","details":{},"outcome":"success","seq":1,'
        '"subject":"s","time":"2026-01-02 03:04:05","v":1}',
        '{"action":"run.started","actor":"a","details":[],"outcome":"success","seq":1,'
        '"subject":"s","time":"2026-01-02T03:04:05.678901Z","v":1}',
        '{"action":"run.started","actor":"a","details":{},"outcome":"nope","seq":1,'
        '"subject":"s","time":"2026-01-02T03:04:05.678901Z","v":1}',
    ],
)
def test_malformed_bodies_are_named(body: str) -> None:
    with pytest.raises(AuditError):
        parse_body(body)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None)
@given(
    actor=st.text(min_size=1, max_size=30),
    subject=st.text(min_size=1, max_size=30),
    details=st.dictionaries(st.text(max_size=10), _json, max_size=5),
    seq=st.integers(0, 2**40),
    micros=st.integers(0, 10**15),
)
def test_body_round_trips(
    actor: str, subject: str, details: dict[str, Any], seq: int, micros: int
) -> None:
    moment = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    event = AuditEvent(actor, "job.finished", subject, Outcome.ERROR, details, moment)
    try:
        body = event.body(seq, moment)
    except AuditError:
        return  # lone surrogates in generated text cannot be UTF-8: refused, as they must be
    assert canonical_json(json.loads(body)) == body
    assert parse_body(body) == (seq, event)
