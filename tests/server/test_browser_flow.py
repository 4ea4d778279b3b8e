"""The first admin's whole journey in a real Chromium against a real ``bastion serve``:
setup link, password, TOTP enrolment, sign-in with password and code, dashboard, sign-out."""

from __future__ import annotations

import time
from pathlib import Path

import pyotp
from playwright.sync_api import Page

from tests.server.browser import LiveServer
from tests.server.conftest import PASSWORD


def shot(page: Page, folder: Path, name: str) -> None:
    """A screenshot under the test's tmp dir; the path is printed (pytest -s, or on failure)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def sign_in(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.base_url}/login")
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_first_admin_sets_up_enrols_signs_in_and_out(
    page: Page, served: LiveServer, tmp_path: Path
) -> None:
    page.goto(served.setup_link())
    assert page.locator("h1").inner_text() == "Choose a password for admin"
    shot(page, tmp_path, "1-setup")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.url == f"{served.base_url}/login"

    sign_in(page, served)
    assert page.url == f"{served.base_url}/"  # no second factor yet
    page.click("a[href='/mfa/enrol']")
    assert page.locator("svg").count() == 1  # the QR code, inline
    totp = pyotp.TOTP(page.locator("code").first.inner_text())
    shot(page, tmp_path, "2-enrol")
    page.fill("input[name=code]", totp.now())
    page.click("button[type=submit]")
    assert page.locator("li code").count() == 10  # the recovery codes, shown once
    shot(page, tmp_path, "3-recovery-codes")

    page.goto(f"{served.base_url}/")
    page.click("text=Sign out")
    assert page.url == f"{served.base_url}/login"
    sign_in(page, served)
    assert page.url == f"{served.base_url}/mfa"
    # The enrolment spent this step's code; the next step's is within the allowed drift.
    page.fill("input[name=code]", totp.at(time.time() + 30))
    page.click("button[type=submit]")
    assert page.url == f"{served.base_url}/"
    assert page.locator("h1").inner_text() == "Runs"
    assert "admin" in page.locator("form.nav").inner_text()
    shot(page, tmp_path, "4-dashboard")

    page.click("text=Sign out")
    assert page.url == f"{served.base_url}/login"
    page.goto(f"{served.base_url}/")
    assert page.url == f"{served.base_url}/login"  # the session is gone
    shot(page, tmp_path, "5-signed-out")
