"""Issue 14: the approval page shows what ships (digests with ``bastion verify``'s result,
the SBOM diff, new dependencies, the run's open findings, pipeline-file changes) and takes
a vote through a CSRF-checked form with a TOTP code, without any script."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest

from bastion.engine import BUILDER_ID, ApprovalRequest
from bastion.server import Role, ServerServices, ServerSettings, create_app
from bastion.server.accounts import Accounts
from bastion.server.approvals import Approvals
from bastion.server.context import ServerContext
from bastion.server.environments import EnvironmentSettings
from bastion.store import open_database, sqlite_url
from bastion.supplychain import KeyAlgorithm, attest_artifacts, generate_local_key
from bastion.trust import RunContext, Trust
from tests.server.conftest import Clock, ListSink, Server
from tests.server.resource_server import add_gate_run, make_resources
from tests.supplychain.supplychain_support import make_context

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

MISSING = "sha256:" + "b" * 64


@pytest.fixture
def made(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A server with every store, and the digest of an artifact built and signed there."""
    db = open_database(sqlite_url(tmp_path / "server.db"))
    clock, audit = Clock(), ListSink()
    home = tmp_path / "home"
    resources = make_resources(db, home)
    artifact = tmp_path / "app.bin"
    artifact.write_bytes(b"the bytes that ship\n")
    key = generate_local_key(home, KeyAlgorithm.ECDSA_P256)
    context = make_context(builder_id=BUILDER_ID, repository="acme/api")
    [done] = attest_artifacts(resources.need_artifacts(), [artifact], context, key.signer)
    settings = ServerSettings("127.0.0.1", 8080, "unused")
    app = create_app(settings, ServerServices(db, audit, clock, resources=resources))
    client = TestClient(app, base_url="http://testserver")
    server = Server(client, db, audit, clock, Accounts(db, settings, clock), settings)
    try:
        yield server, done.record.digest
    finally:
        client.close()
        db.dispose()


def _open(server: Server, digest: str) -> int:
    ctx: ServerContext = server.client.app.state.bastion  # type: ignore[attr-defined]
    approvals = Approvals(server.db, server.clock, ctx.totp, server.audit)
    settings = EnvironmentSettings("production")
    approvals.environments.put(settings)
    deployed = {"components": {"flask": "2.0.0", "six": "1.16.0"}, "artifacts": []}
    at = datetime(2030, 1, 1, tzinfo=UTC)
    approvals.environments.mark_deployed("production", 1, deployed, "c" * 40, at)
    run_id = add_gate_run(server.db)
    context = RunContext("acme/api", "a" * 40, "refs/heads/main", "push", Trust.TRUSTED)
    shipped = {
        "artifacts": [["dist/app.whl", digest], ["dist/other.whl", MISSING]],
        "components": {"flask": "3.0.1", "requests": "2.32.0"},
        "people": ["mallory"],
        "config_changes": [".bastion/pipeline.yml"],
    }
    request = ApprovalRequest(run_id, "deploy", "production", context)
    return approvals.open(request, settings, "trig", shipped)


def _form(page: str) -> str:
    return page.split('name="csrf_token" value="')[1].split('"', maxsplit=1)[0]


def test_the_page_shows_what_ships(made: tuple[Server, str]) -> None:
    server, digest = made
    rid = _open(server, digest)
    server.add_user("vic", Role.VIEWER)
    server.login("vic")
    page = server.client.get(f"/approvals/{rid}").text
    assert digest in page
    assert MISSING in page
    verdicts = [row.split("</tr>")[0] for row in page.split('<code class="fp">')[1:3]]
    assert '<span class="ok">verifies</span>' in verdicts[0]
    assert '<span class="bad">does not verify</span>' in verdicts[1]
    assert "<h3>New dependencies (1)</h3>" in page
    assert "<code>requests</code> 2.32.0" in page
    assert "<code>flask</code> 2.0.0 → 3.0.1" in page
    assert "<code>six</code> 1.16.0" in page
    assert 'sev-high">high</span></td><td>eval of request data' in page
    assert "<code>.bastion/pipeline.yml</code>" in page
    assert "<script" not in page
    assert 'action="/approvals/' not in page  # a viewer sees no voting form
    assert f'href="/approvals/{rid}"' in server.client.get("/approvals").text


def test_a_vote_through_the_form_with_csrf_and_totp(made: tuple[Server, str]) -> None:
    server, digest = made
    rid = _open(server, digest)
    server.add_user("trig", Role.MAINTAINER)
    server.login("trig")
    totp: pyotp.TOTP = server.enrol_totp()
    page = server.client.get(f"/approvals/{rid}").text
    assert 'name="code"' in page
    form = {"csrf_token": _form(page), "code": totp.at(server.clock.now), "comment": ""}
    no_csrf = server.client.post(f"/approvals/{rid}/approve", data=form | {"csrf_token": ""})
    assert no_csrf.status_code == 403
    refused = server.client.post(f"/approvals/{rid}/approve", data=form)
    assert refused.status_code == 403
    assert "you triggered this run" in refused.text
    server.add_user("bob", Role.SECURITY)
    server.login("bob")
    totp = server.enrol_totp()
    page = server.client.get(f"/approvals/{rid}").text
    form = {"csrf_token": _form(page), "code": totp.at(server.clock.now), "comment": "ok"}
    done = server.client.post(f"/approvals/{rid}/approve", data=form, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, f"/approvals/{rid}")
    page = server.client.get(f"/approvals/{rid}").text
    assert "<td>bob</td><td>approve</td>" in page
