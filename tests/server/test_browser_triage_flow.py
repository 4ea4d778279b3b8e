"""A repository's whole life in a real Chromium against a real ``bastion serve`` (issue 13):
the admin registers it and watches a run's log arrive live; a second user, made with the
security role by the admin (``bastion users add --role security``), accepts the finding the
secrets gate raised on a planted credential, sees the audit log verify and signs out.

The repository is a trimmed copy of examples/python-service: the secrets gate and one job that
prints a line a second, so it runs offline in seconds. The credential is made at test time
(:mod:`bastion.scanners.secrets.samples`: the real shape and checksum, never a live one).
Screenshots of each step go to the test's tmp dir; their paths are printed.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bastion.scanners.secrets.samples import SAMPLES, render
from tests.server.browser import LiveServer, live_server
from tests.server.conftest import PASSWORD
from tests.server.live_api import admin_token, call, commit_all, wait_for_run, work_tree
from tests.server.test_browser_flow import shot
from tests.support import run_bastion

pytestmark = pytest.mark.integration

LINES = 10
PIPELINE = f"""\
name: inventory-service
on: [push]
jobs:
  secrets: {{uses: bastion/secrets, needs: [test]}}  # a blocking gate would stop the test
  test:
    steps:
      - name: slow tests
        run: for i in $(seq 1 {LINES}); do echo "test line $i"; sleep 1; done
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    root = tmp_path / "serve"
    root.mkdir()
    with live_server(root) as running:
        yield running


def example_repository(path: Path) -> Path:
    """The trimmed example with a planted (generated) GitHub token in its settings."""
    repo = work_tree(path, PIPELINE)
    token = render(SAMPLES["github-pat"][0], random.Random(13))
    (repo / "settings.py").write_text(f"# left here by mistake\n{token}\n")
    commit_all(repo, "settings")
    return repo


def set_password_and_sign_in(page: Page, server: LiveServer, link: str, name: str) -> None:
    """Use a one-time setup link, then sign in (no second factor enrolled)."""
    page.goto(server.base_url + link[link.index("/setup/") :])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{server.base_url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.url == f"{server.base_url}/", page.content()


def wait_for_job(server: LiveServer, token: str, run_id: int, job: str) -> None:
    """Until ``job`` of the run is running (the page then follows it live)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run = call(server, "GET", f"/api/runs/{run_id}", token)
        if any(j["name"] == job and j["status"] == "running" for j in run["jobs"]):
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job} of run {run_id} never ran:\n{server.stderr()}")


def register_and_watch(page: Page, server: LiveServer, repo: Path, shots: Path) -> int:
    """The admin registers the repository, a run is triggered, its log is followed live."""
    page.goto(f"{server.base_url}/repositories")
    page.fill("input[name=name]", "inventory")
    page.fill("input[name=path]", str(repo))
    page.click("form[action='/repositories'] button[type=submit]")
    expect(page.locator("table")).to_contain_text("inventory")
    shot(page, shots, "1-registered")

    token = admin_token(server)
    env = dict(server.env, BASTION_TOKEN=token)
    args = ("runs", "trigger", "inventory", "--branch", "main", "--server", server.base_url)
    triggered = run_bastion(*args, env=env)
    assert triggered.returncode == 0, triggered.stderr
    run_id = int(triggered.stdout)
    wait_for_job(server, token, run_id, "test")

    page.goto(f"{server.base_url}/runs/{run_id}/jobs/test/log")
    log = page.locator("#log")
    assert f"test line {LINES}" not in log.inner_text()  # not written yet: it must arrive
    expect(page.locator("#log-note")).to_have_text("Following live output.")
    shot(page, shots, "2-log-live")
    expect(log).to_contain_text(f"test line {LINES}", timeout=60_000)
    shot(page, shots, "3-log-complete")
    finished = wait_for_run(server, token, run_id)
    assert (finished["status"], finished["findings"]) == ("blocked", 1), finished["jobs"]
    return run_id


def test_register_run_watch_triage_audit_sign_out(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    repo = example_repository(tmp_path / "inventory")
    set_password_and_sign_in(page, server, server.setup_link(), "admin")
    run_id = register_and_watch(page, server, repo, tmp_path)
    page.click("text=Sign out")

    added = run_bastion(
        "users", "add", "sec", "--role", "security", "--db", server.database_url, env=server.env
    )
    assert added.returncode == 0, added.stderr
    set_password_and_sign_in(page, server, added.stdout.strip(), "sec")

    page.goto(f"{server.base_url}/findings")
    row = page.locator("tr", has_text="github-pat")
    expect(row).to_contain_text(f"inventory · #{run_id}")
    expect(row).to_contain_text("settings.py:2")
    shot(page, tmp_path, "4-finding-open")
    row.locator("summary").click()
    row.locator("input[name=reason]").fill("a revoked test token; removal tracked in issue 13")
    row.locator("text=Accept the risk").click()
    row = page.locator("tr", has_text="github-pat").first
    expect(row).to_contain_text("accepted by sec")
    expect(page.locator("p.summary strong")).to_have_text("0")  # open findings
    shot(page, tmp_path, "5-finding-accepted")

    page.goto(f"{server.base_url}/audit")
    expect(page.locator(".banner-ok")).to_contain_text("The log verifies")
    expect(page.locator("table")).to_contain_text(re.compile("finding.suppress|suppress"))
    shot(page, tmp_path, "6-audit-verified")

    page.click("text=Sign out")
    assert page.url == f"{server.base_url}/login"
    page.goto(f"{server.base_url}/findings")
    assert page.url == f"{server.base_url}/login"
    shot(page, tmp_path, "7-signed-out")
