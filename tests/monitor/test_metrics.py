"""/metrics text parsed with prometheus-client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bastion.audit import AuditEvent, AuditLog, Outcome
from bastion.monitor import Evaluator, PlainText, builtin_rules
from bastion.monitor.metrics import render_metrics
from bastion.store import open_database
from tests.monitor.seed import add_run


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def test_scrape_parses_and_counts() -> None:
    db = open_database("sqlite://")
    add_run(db, "acme", "passed")
    add_run(db, "acme", "blocked", day=1)
    log = AuditLog(db, witness=None)
    log.append(AuditEvent("bastion", "egress.request", "run/1/job/b", Outcome.DENIED,
                          {"repo": "acme", "job": "b", "host": "evil.example"}))  # fmt: skip
    Evaluator(db, builtin_rules(), PlainText()).run_once(log.entries)
    samples = _samples(render_metrics(db))
    assert samples[("bastion_runs", (("status", "passed"),))] == 1
    assert samples[("bastion_runs", (("status", "blocked"),))] == 1
    assert samples[("bastion_gate_results", (("gate", "sca"), ("outcome", "passed")))] == 2
    assert samples[("bastion_run_duration_seconds_bucket", (("le", "120.0"),))] == 2
    assert samples[("bastion_run_duration_seconds_bucket", (("le", "60.0"),))] == 0
    assert samples[("bastion_run_duration_seconds_sum", ())] == 180
    assert samples[("bastion_job_duration_seconds_count", ())] == 4
    assert samples[("bastion_queue_depth", ())] == 0
    assert samples[("bastion_egress_denials", ())] == 1
    key = (("rule", "egress-denied"), ("severity", "high"), ("state", "open"))
    assert samples[("bastion_alerts", key)] == 1


def test_scrape_of_an_empty_database() -> None:
    samples = _samples(render_metrics(open_database("sqlite://")))
    assert samples[("bastion_egress_denials", ())] == 0
    assert samples[("bastion_run_duration_seconds_count", ())] == 0
