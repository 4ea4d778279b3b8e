"""The KPI page in a real Chromium against a real ``bastion serve`` over a fortnight of
seeded runs and findings: the charts are SVG drawn by the server, with bars of real lengths,
and the page runs no script. The screenshot's path is printed (pytest -s)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page

from bastion.store import open_database
from tests.server.browser import LiveServer, live_server
from tests.server.conftest import PASSWORD
from tests.server.monitor_seed import seed_alerts, seed_evidence, seed_history
from tests.server.test_browser_flow import shot, sign_in


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own, with history and alerts in its database."""
    with live_server(tmp_path_factory.mktemp("kpi")) as server:
        db = open_database(server.database_url)
        try:
            seed_history(db, datetime.now(UTC))
            seed_evidence(db, datetime.now(UTC))
            seed_alerts(db)
        finally:
            db.dispose()
        yield server


def _admin(page: Page, server: LiveServer) -> None:
    page.goto(server.setup_link())
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    sign_in(page, server)


def test_the_kpi_page_shows_real_charts(page: Page, seeded: LiveServer, tmp_path: Path) -> None:
    _admin(page, seeded)
    page.goto(f"{seeded.base_url}/kpi")
    assert page.locator("h1").inner_text() == "Security KPIs"
    charts = page.locator("svg.kpi-chart")
    assert charts.count() == 10  # every KPI has data: no 'No data' placeholder
    widths = [
        float(w or 0)
        for w in page.locator("svg.kpi-chart rect.chart-bar").evaluate_all(
            "rects => rects.map(r => r.getAttribute('width'))"
        )
    ]
    assert len(widths) >= 15
    assert len(set(widths)) > 3  # bars of different lengths: data, not placeholders
    box = charts.first.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert page.locator("script").count() == 0
    assert "Finished runs" in page.locator("dl.kpi-figures").inner_text()
    shot(page, tmp_path, "kpi")
    page.click("nav a[href='/alerts']")  # the layout's navigation offers both pages
    assert page.locator("tbody tr").count() == 3
    shot(page, tmp_path, "alerts")
