"""KPIs over the run records; an empty database gives zeros and 'no data'."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bastion.monitor.kpi import compute_kpis
from bastion.store import RunRecord, open_database
from tests.monitor.seed import DAY0, add_run


def test_empty_database_is_no_data_and_zeros() -> None:
    report = compute_kpis(open_database("sqlite://")).to_dict()
    assert report["no_data"] is True
    assert report["compliance"] == {"overall": 0.0, "by_repo": {}}
    assert report["detection"] == {"before_production": 0, "after_production": 0}


def test_kpis_over_seeded_runs() -> None:
    db = open_database("sqlite://")
    add_run(db, "acme", "blocked", trust="internal", findings=(("sca", "f1", "high"),))
    add_run(db, "acme", "passed", day=0.5, findings=(("sca", "f2", "critical"),))
    add_run(db, "acme", "passed", day=1)  # f1 and f2 gone
    add_run(db, "web", "failed", day=1, gates=("secrets",), digest="sha256:p2")
    report = compute_kpis(db)
    assert report.runs == 4
    assert (report.pipelines, report.gate_adoption) == (2, {"sca": 50.0, "secrets": 100.0})
    assert (report.found_before, report.found_after) == (1, 1)
    assert report.mttr_hours == {"critical": 12.0, "high": 12.0}
    assert report.open_findings == {}
    assert report.compliance == {"acme": 66.7, "web": 100.0}
    assert report.compliance_overall == 75.0
    assert report.failures == {"2026-03-02": {"security": 1, "other": 0},
                               "2026-03-03": {"security": 0, "other": 1}}  # fmt: skip


def test_filters_by_repo_and_since() -> None:
    db = open_database("sqlite://")
    add_run(db, "acme", "blocked", findings=(("sca", "f1", "high"),))
    add_run(db, "acme", "passed", day=2, findings=(("sca", "f1", "high"),))
    add_run(db, "web", "passed", day=2)
    report = compute_kpis(db, since=DAY0 + timedelta(days=1), repo="acme")
    assert (report.runs, report.compliance_overall, report.open_findings) == (1, 100.0, {"high": 1})


def test_mttr_waits_for_a_run_of_the_same_gate_job() -> None:
    db = open_database("sqlite://")
    add_run(db, "acme", "blocked", findings=(("sca", "f1", "high"),))
    add_run(db, "acme", "passed", day=1, gates=("secrets",))  # no sca: proves nothing
    add_run(db, "acme", "passed", day=3)  # sca without f1: fixed here
    report = compute_kpis(db)
    assert (report.mttr_hours, report.open_findings) == ({"high": 72.0}, {})


def test_a_run_finishing_after_a_newer_one_is_still_counted() -> None:
    db = open_database("sqlite://")
    slow = add_run(db, "acme", "running")
    add_run(db, "acme", "passed", day=1)
    assert compute_kpis(db).runs == 1
    with db.session() as session:
        session.execute(update(RunRecord).where(RunRecord.id == slow).values(status="blocked"))
    report = compute_kpis(db)
    assert (report.runs, report.compliance_overall) == (2, 50.0)
