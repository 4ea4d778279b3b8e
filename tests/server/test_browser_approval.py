"""The approval page in a real Chromium against a real ``bastion serve`` (issue 14): a release
pushed to the protected branch waits for production; an approver signs in with password and
TOTP, opens the pending request from the list and sees what ships (the artifact's digest and
``bastion verify``'s result, the SBOM diff against what production runs, the run's open
findings), approves with a fresh TOTP code; a second approver does the same and the run
deploys. Screenshots are saved under the test's tmp dir and their paths printed."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.server.browser import LiveServer, live_server
from tests.server.conftest import PASSWORD
from tests.server.test_browser_flow import shot
from tests.server.trust_scenario import APP_PIPELINE, Scene, set_up

pytestmark = pytest.mark.integration

# Pushes only, and the CI-configuration gate over the repository: a GitHub workflow that
# pipes curl into sh is a medium finding (open on the page, not blocking the deploy).
# The build needs the gate, so the wheel's provenance records the gate's result and the
# approval page can say it verifies.
PIPELINE = (
    APP_PIPELINE.replace("on: [push, pull_request]", "on: [push]")
    .replace("jobs:\n", "jobs:\n  ciconfig: {uses: bastion/ciconfig}\n", 1)
    .replace("  build:\n", "  build:\n    needs: [ciconfig]\n", 1)
)
WORKFLOW = """\
on: push
permissions: {}
jobs:
  lint:
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - run: curl -sSL https://get.example.com/install.sh | sh
"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """A server of its own with production already running app 1.0 (approved by API)."""
    root = tmp_path_factory.mktemp("approval-browser")
    (root / "serve").mkdir()
    with live_server(root / "serve") as server:
        made = set_up(server, root, PIPELINE, **{".github/workflows/ci.yml": WORKFLOW})
        try:
            made.released()
            yield made
        finally:
            made.close()


def _sign_in(page: Page, server: LiveServer, scene: Scene, name: str) -> None:
    """Password, then this step's TOTP code (the vote will use the next step's)."""
    page.goto(f"{server.base_url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.url == f"{server.base_url}/mfa"
    page.fill("input[name=code]", scene.people[name].code())
    page.click("button[type=submit]")
    assert page.url == f"{server.base_url}/"


def _approve(page: Page, scene: Scene, name: str) -> None:
    form = page.locator("form[action$='/approve']")
    form.locator("input[name=code]").fill(scene.people[name].code(30))
    form.locator("input[name=comment]").fill(f"checked by {name}")
    form.locator("button[type=submit]").click()


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_two_approvers_approve_in_the_browser_and_the_run_deploys(
    page: Page, scene: Scene, tmp_path: Path
) -> None:
    server = scene.server
    scene.repos["app"].commit("release 1.1", "dev", **{"release.txt": "app 1.1 flask requests\n"})
    run_id = scene.push("app", pusher="alice")
    rid = scene.pending_request(run_id)["id"]

    _sign_in(page, server, scene, "bob")
    page.goto(f"{server.base_url}/approvals")
    assert page.locator("h1").inner_text() == "Approvals"
    page.click(f"a[href='/approvals/{rid}']")
    assert page.url == f"{server.base_url}/approvals/{rid}"
    facts = page.locator("dl.facts").inner_text()
    assert "production" in facts
    assert "alice" in facts  # who triggered it
    artifact = page.locator("table").first.inner_text()
    assert "dist/app-1.1-py3-none-any.whl" in artifact
    assert "sha256:" in artifact
    assert page.locator("table").first.locator("td span.ok").inner_text() == "verifies"
    body = page.inner_text("body")
    assert "app 1.0 → 1.1" in body
    assert "New dependencies (1)" in body
    assert "Removed (1)" in body
    findings = page.locator("span.sev")
    assert findings.count() >= 1
    assert "curl" in body  # the curl-pipe-shell finding of the workflow file
    assert page.locator("script").count() == 0
    shot(page, tmp_path, "approval-pending")
    width, height = _png_size(tmp_path / "approval-pending.png")
    assert width >= 800
    assert height > 900  # the whole page: facts, artifacts, diff, findings, votes, forms
    assert (tmp_path / "approval-pending.png").stat().st_size > 30_000

    _approve(page, scene, "bob")
    assert page.url == f"{server.base_url}/approvals/{rid}"
    assert "checked by bob" in page.locator("table").last.inner_text()
    assert "pending" in page.locator("dl.facts").inner_text()
    page.click("text=Sign out")

    _sign_in(page, server, scene, "carol")
    page.goto(f"{server.base_url}/approvals/{rid}")
    _approve(page, scene, "carol")
    assert "approved" in page.locator("dl.facts").inner_text()
    votes = page.locator("table").last.inner_text()
    assert "bob" in votes
    assert "carol" in votes
    shot(page, tmp_path, "approval-approved")
    run = scene.wait(run_id)
    assert run["status"] == "passed", run
    assert {job["name"]: job["status"] for job in run["jobs"]}["deploy"] == "passed"
    page.goto(f"{server.base_url}/runs/{run_id}")
    assert "deploy" in page.inner_text("body")
    shot(page, tmp_path, "run-deployed")
