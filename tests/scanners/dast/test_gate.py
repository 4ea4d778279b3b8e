"""The DAST gate end to end on loopback: the planted flaws are found, the fixed twin passes,
a service that never becomes healthy fails the gate with the health URL's last answer."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from bastion.errors import GateError, UsageError
from bastion.scanners.dast import DastGate, ProbeClass
from bastion.scanners.finding import Severity
from bastion.scanners.interface import GateReport, ScanRequest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scan(example: str, **extra: object) -> GateReport:
    port = _free_port()
    options = {
        "command": f"python3 src/__main__.py --port {port}",
        "health": f"http://127.0.0.1:{port}/health",
        "openapi": "/openapi.json",
        **extra,
    }
    return DastGate().scan(ScanRequest(EXAMPLES / example, options))


@pytest.fixture(scope="module")
def vulnerable() -> GateReport:
    return _scan("vulnerable-webapp")


@pytest.mark.parametrize("probe_class", list(ProbeClass))
def test_each_planted_flaw_class_is_found(vulnerable: GateReport, probe_class: ProbeClass) -> None:
    found = [f for f in vulnerable.findings if f.properties["probe_class"] == probe_class]
    assert found, f"no {probe_class} finding"
    for finding in found:
        assert finding.properties["request"].startswith(("GET ", "HEAD ")), finding
        assert finding.properties["response"], finding


@pytest.mark.parametrize(
    ("rule", "place"),
    [
        ("reflected-xss", "search"),
        ("sql-injection-error", "item"),
        ("open-redirect", "go"),
        ("path-traversal", "file"),
        ("ssrf", "preview"),
        ("exposed-env", ".env"),
        ("directory-listing", "static"),
        ("api-server-error", "api/items/{item_id}"),
    ],
)
def test_each_active_flaw_once_at_its_place(vulnerable: GateReport, rule: str, place: str) -> None:
    hits = [f for f in vulnerable.findings if f.rule_id == rule]
    assert [f.location.path.rstrip("/") for f in hits] == [place]


def test_the_vulnerable_service_is_blocked_and_counted(vulnerable: GateReport) -> None:
    assert any(f.severity.rank >= Severity.HIGH.rank for f in vulnerable.findings)
    by_class = vulnerable.facts["findings_by_class"]
    assert set(by_class) == {c.value for c in ProbeClass}
    assert vulnerable.facts["requests"] == sum(vulnerable.facts["requests_by_kind"].values())


def test_the_fixed_twin_passes() -> None:
    report = _scan("webapp")
    assert report.findings == ()
    assert report.facts["requests"] > 50  # it was probed, not skipped


def test_a_service_that_never_becomes_healthy_fails_with_the_last_answer(tmp_path: Path) -> None:
    port = _free_port()
    options = {
        "command": f"python3 -m http.server {port} --bind 127.0.0.1",
        "health": f"http://127.0.0.1:{port}/health",
        "health_timeout": 1.5,
    }
    with pytest.raises(GateError, match=r"never became healthy.*last answer: HTTP 404"):
        DastGate().scan(ScanRequest(tmp_path, options))


def test_a_service_that_exits_fails_with_its_status_and_output(tmp_path: Path) -> None:
    options = {"command": "echo cannot bind; exit 3", "health": "http://127.0.0.1:9/health"}
    with pytest.raises(GateError, match=r"exited \(status 3\)(.|\n)*cannot bind"):
        DastGate().scan(ScanRequest(tmp_path, options))


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"health": "http://127.0.0.1:1/"}, "command"),
        ({"command": "x", "health": "http://example.com/health"}, "health"),
        ({"command": "x", "health": "http://127.0.0.1:1/", "openapi": "api.json"}, "openapi"),
        ({"command": "x", "health": "http://127.0.0.1:1/", "max_requests": 0}, "max_requests"),
    ],
)
def test_bad_options_are_usage_errors(options: dict[str, object], key: str) -> None:
    with pytest.raises(UsageError, match=f"`{key}`"):
        DastGate().scan(ScanRequest(Path("."), options))


def test_openapi_without_schemathesis_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression (issue 18): without the fuzzer's library the gate refuses, never passes."""
    monkeypatch.setitem(sys.modules, "schemathesis", None)  # what an uninstalled module does
    monkeypatch.delitem(sys.modules, "bastion.scanners.dast.fuzz", raising=False)
    with pytest.raises(GateError, match=r"`openapi` needs schemathesis, which is not installed"):
        _scan("webapp")


def test_site_wide_flaws_are_one_finding_each(vulnerable: GateReport) -> None:
    """Every missing header in one finding; the stack traces of one error handler in one."""
    (headers,) = [f for f in vulnerable.findings if f.rule_id == "missing-security-header"]
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"):
        assert name in headers.message
    (traces,) = [f for f in vulnerable.findings if f.rule_id == "verbose-error"]
    assert "/item" in traces.message
    assert "/file" in traces.message
