"""SBOM completeness: artifacts with an SBOM; components with a version and a package URL."""

from __future__ import annotations

from pathlib import Path

from bastion.monitor.kpi import compute_kpis, record_sbom_components
from bastion.store import open_database
from bastion.supplychain import LocalBlobStore
from tests.monitor.kpi.evidence import attest, store_sbom
from tests.monitor.seed import add_run


def test_sbom_completeness(tmp_path: Path) -> None:
    db, store = open_database("sqlite://"), LocalBlobStore(tmp_path / "artifacts")
    listed = store_sbom(store, [
        {"type": "library", "name": "a", "version": "1.0", "purl": "pkg:pypi/a@1.0"},
        {"type": "library", "name": "b", "version": "2.0", "purl": "pkg:pypi/b@2.0"},
        {"type": "library", "name": "c", "version": "3.0"},  # no purl
        {"type": "file", "name": "README", "purl": "pkg:generic/readme"},  # no version
    ])  # fmt: skip
    first, second = add_run(db, "acme", "passed"), add_run(db, "acme", "passed")
    attest(db, first, listed)
    attest(db, second, listed)  # the same artifact built again counts once
    attest(db, second, "sha256:" + "1" * 64, sbom=False)
    attest(db, second, "sha256:" + "2" * 64)
    attest(db, second, "sha256:" + "3" * 64, repo="web", sbom=False)
    report = compute_kpis(db, store=store).to_dict()["sbom_completeness"]
    assert report == {
        "artifacts": 4, "with_sbom": 2, "with_sbom_percent": 50.0, "sboms_read": 1,
        "components": 4, "complete_components": 2, "complete_components_percent": 50.0,
    }  # fmt: skip
    assert compute_kpis(db, repo="acme").to_dict()["sbom_completeness"]["artifacts"] == 3
    assert record_sbom_components(db, store) == 0  # each SBOM is read once


def test_no_artifacts_is_zeros() -> None:
    report = compute_kpis(open_database("sqlite://")).to_dict()["sbom_completeness"]
    assert report == {
        "artifacts": 0, "with_sbom": 0, "with_sbom_percent": 0.0, "sboms_read": 0,
        "components": 0, "complete_components": 0, "complete_components_percent": 0.0,
    }  # fmt: skip
