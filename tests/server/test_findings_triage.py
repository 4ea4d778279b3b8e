"""Findings and triage: the security role accepts a finding as itself, with a reason and an
expiry no later than the maximum; others are refused; every change is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpx import Response

from bastion.policy import Suppressions
from bastion.server import Grant, Role, ScopeKind
from bastion.server.triage import MAX_DAYS, ServerSuppressions
from tests.server.conftest import Server
from tests.server.resource_server import FINGERPRINT, add_gate_run, make_resource_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    made, _log = make_resource_server(tmp_path)
    add_gate_run(made.db)
    try:
        yield made
    finally:
        made.client.close()
        made.db.dispose()


def _accept(server: Server, expires: dt.date, repository: str = "acme/api") -> Response:
    body = {
        "repository": repository,
        "fingerprint": FINGERPRINT,
        "reason": "input is a constant, reviewed in #12",
        "expires": expires.isoformat(),
    }
    response: Response = server.client.post(
        "/api/suppressions", json=body, headers={"X-CSRF-Token": server.csrf()}
    )
    return response


def test_findings_are_listed_for_a_viewer(server: Server) -> None:
    server.add_user("vera", Role.VIEWER)
    server.login("vera")
    found = server.client.get("/api/findings").json()
    assert [(f["fingerprint"], f["open"]) for f in found] == [(FINGERPRINT, True)]
    page = server.client.get("/findings")
    assert page.status_code == 200
    assert "py-eval" in page.text
    assert "Accept the risk" not in page.text  # a viewer cannot triage


def test_security_accepts_a_finding_as_itself(server: Server) -> None:
    server.add_user("sam", Role.SECURITY)
    server.login("sam")
    expires = server.clock.now.date() + dt.timedelta(days=30)
    response = _accept(server, expires)
    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["owner"], made["expires"], made["active"]) == ("sam", expires.isoformat(), True)
    event = server.audit.events[-1]
    assert (event.action, event.actor, event.outcome.value) == (
        "finding.suppressed",
        "user:sam",
        "success",
    )
    assert event.details["address"] == "testclient"
    assert FINGERPRINT in event.subject
    listed = server.client.get("/api/findings").json()
    assert listed[0]["open"] is False
    assert listed[0]["accepted"]["owner"] == "sam"
    # The engine's gate evaluator takes them as the policy's own suppressions.
    store = ServerSuppressions(server.db, server.clock)
    merged = Suppressions().merged(store.for_repository("acme/api"))
    [entry] = merged.entries
    assert (entry.owner, entry.fingerprint, entry.expires) == ("sam", FINGERPRINT, expires)


def test_expiry_beyond_the_maximum_or_in_the_past_is_refused(server: Server) -> None:
    server.add_user("sam", Role.SECURITY)
    server.login("sam")
    today = server.clock.now.date()
    too_far = _accept(server, today + dt.timedelta(days=MAX_DAYS + 1))
    assert too_far.status_code == 400
    past = _accept(server, today - dt.timedelta(days=1))
    assert past.status_code == 400
    assert _accept(server, today + dt.timedelta(days=MAX_DAYS)).status_code == 201


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEVELOPER, Role.MAINTAINER, Role.ADMIN])
def test_only_the_security_role_triages(server: Server, role: Role) -> None:
    server.add_user("pat", role)
    server.login("pat")
    response = _accept(server, server.clock.now.date() + dt.timedelta(days=5))
    assert response.status_code in (403, 404)
    assert server.audit.events[-1].action == "request.denied"
    assert server.audit.events[-1].outcome.value == "denied"


def test_revoking_is_audited_and_the_page_form_works(server: Server) -> None:
    server.add_user("sam", Role.SECURITY)
    server.login("sam")
    expires = server.clock.now.date() + dt.timedelta(days=10)
    page = server.client.post(
        "/findings/accept",
        data={
            "repository": "acme/api",
            "fingerprint": FINGERPRINT,
            "reason": "test fixture",
            "expires": expires.isoformat(),
            "csrf_token": server.csrf(),
        },
        follow_redirects=False,
    )
    assert page.status_code == 303, page.text
    [made] = server.client.get("/api/suppressions").json()
    assert made["owner"] == "sam"
    revoked = server.client.delete(
        f"/api/suppressions/{made['id']}", headers={"X-CSRF-Token": server.csrf()}
    )
    assert revoked.json()["revoked_by"] == "sam"
    assert server.audit.actions()[-1] == "finding.suppression_revoked"
    assert server.client.get("/api/findings").json()[0]["open"] is True


def test_a_repository_grant_sees_only_its_repository(server: Server) -> None:
    add_gate_run(server.db, "api")
    add_gate_run(server.db, "secret-project")
    server.add_user("dev", None)
    server.accounts.grant("dev", Grant(Role.DEVELOPER, ScopeKind.REPOSITORY, "api"))
    server.login("dev")
    repos = {f["repository"] for f in server.client.get("/api/findings").json()}
    assert repos == {"api"}
    hidden = server.client.get("/api/findings", params={"repository": "secret-project"})
    assert hidden.status_code == 404
    assert server.client.get("/api/findings", params={"repository": "nowhere"}).status_code == 404
