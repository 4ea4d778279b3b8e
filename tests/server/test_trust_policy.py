"""Every row of the trust table (bastion.server.trust_policy, README "Trust of server runs")."""

from __future__ import annotations

import pytest

from bastion.server.trust_policy import Trigger, TrustFacts, decide_trust
from bastion.trust import Trust

PR = Trigger.PULL_REQUEST
ROWS = [
    (
        "fork pull request",
        TrustFacts(PR, protected=True, fork=True, author_developer=True),
        Trust.UNTRUSTED,
    ),
    ("pull request, author not a developer", TrustFacts(PR, protected=True), Trust.UNTRUSTED),
    (
        "pull request changing the pipeline",
        TrustFacts(PR, protected=True, author_developer=True, pipeline_changed=True),
        Trust.UNTRUSTED,
    ),
    (
        "push changing the pipeline, protected branch",
        TrustFacts(Trigger.PUSH, protected=True, pipeline_changed=True),
        Trust.UNTRUSTED,
    ),
    (
        "signed tag changing the pipeline",
        TrustFacts(Trigger.TAG, protected=True, tag_signed=True, pipeline_changed=True),
        Trust.UNTRUSTED,
    ),
    (
        "same-repository pull request by a developer",
        TrustFacts(PR, protected=True, author_developer=True),
        Trust.INTERNAL,
    ),
    (
        "signed tag on a protected ref",
        TrustFacts(Trigger.TAG, protected=True, tag_signed=True),
        Trust.RELEASE,
    ),
    ("signed tag off the protected refs", TrustFacts(Trigger.TAG, tag_signed=True), Trust.INTERNAL),
    ("unsigned tag on a protected ref", TrustFacts(Trigger.TAG, protected=True), Trust.INTERNAL),
    ("push to a protected branch", TrustFacts(Trigger.PUSH, protected=True), Trust.TRUSTED),
    ("manual run of a protected branch", TrustFacts(Trigger.MANUAL, protected=True), Trust.TRUSTED),
    ("push to an unprotected branch", TrustFacts(Trigger.PUSH), Trust.INTERNAL),
    ("manual run of a bare commit", TrustFacts(Trigger.MANUAL), Trust.INTERNAL),
]


@pytest.mark.parametrize(("row", "facts", "trust"), ROWS, ids=[r[0] for r in ROWS])
def test_each_row_of_the_table(row: str, facts: TrustFacts, trust: Trust) -> None:
    assert decide_trust(facts) is trust


@pytest.mark.parametrize("trigger", list(Trigger), ids=str)
def test_no_trigger_decides_local_or_dirty(trigger: Trigger) -> None:
    for protected in (False, True):
        for signed in (False, True):
            facts = TrustFacts(
                trigger, protected=protected, tag_signed=signed, author_developer=True
            )
            assert decide_trust(facts) not in (Trust.LOCAL, Trust.DIRTY)
