"""Secret-leak incidents per month, and security test coverage per gate."""

from __future__ import annotations

from datetime import timedelta

from bastion.monitor.kpi import compute_kpis
from bastion.store import JobRecord, open_database
from tests.monitor.seed import DAY0, add_run


def test_secret_leaks_count_each_secret_once_in_its_first_month() -> None:
    db = open_database("sqlite://")
    add_run(db, "acme", "blocked", findings=(("secrets", "s1", "high"),))
    add_run(db, "acme", "blocked", day=31, findings=(("secrets", "s1", "high"),))  # again
    add_run(db, "acme", "blocked", day=32, findings=(("secrets", "s2", "high"),))
    add_run(db, "web", "blocked", day=33, findings=(("secrets", "s1", "high"),))
    add_run(db, "web", "blocked", day=33, findings=(("sca", "v1", "high"),))  # not a secret
    assert compute_kpis(db).secret_leaks == {"2026-03": 1, "2026-04": 2}
    assert compute_kpis(db, repo="web").secret_leaks == {"2026-04": 1}
    assert compute_kpis(db, since=DAY0 + timedelta(days=1)).secret_leaks == {"2026-04": 2}


def test_coverage_reads_each_repositorys_latest_run() -> None:
    db = open_database("sqlite://")
    add_run(db, "acme", "passed", gates=("sast", "sca", "iac", "image"))  # older: ignored
    add_run(db, "acme", "passed", day=1, gates=("sast", "sca", "iac"))
    web = add_run(db, "web", "passed", day=1, gates=("secrets", "sca"))
    with db.session() as session:  # a skipped gate scanned nothing
        session.add(JobRecord(run_id=web, name="image", kind="gate", status="skipped"))
        session.add(JobRecord(run_id=web, name="sast", kind="build", status="passed"))
    coverage = compute_kpis(db).to_dict()["security_coverage"]
    assert coverage == {
        "repositories": 2,
        "percent": {"sast": 50.0, "sca": 100.0, "iac": 50.0, "image": 0.0},
    }
    old = compute_kpis(db, since=DAY0 - timedelta(days=1), repo="acme").coverage
    assert (old.repositories, old.covered["image"]) == (1, 0)


def test_empty_database_has_no_leaks_and_no_coverage() -> None:
    report = compute_kpis(open_database("sqlite://")).to_dict()
    assert report["secret_leaks_by_month"] == {}
    assert report["security_coverage"] == {
        "repositories": 0,
        "percent": {"sast": 0.0, "sca": 0.0, "iac": 0.0, "image": 0.0},
    }
