"""Continuous re-scan (issue 16): after `bastion db import`, what an environment runs is
matched again; a newly published advisory against a deployed package becomes a
post-deployment finding and an alert naming the environment and the digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from bastion.cli.db import register
from bastion.monitor import POST_DEPLOYMENT_RULE, AlertStore
from bastion.monitor.models import DeliveryRecord, DeployedFindingRecord
from bastion.store import open_database, sqlite_url
from bastion.supplychain import (
    CYCLONEDX_PREDICATE,
    AttestationKind,
    Digest,
    LocalBlobStore,
    sign_payload,
)

ADVISORY = {
    "id": "PYSEC-2031-7",
    "modified": "2031-01-02T00:00:00Z",
    "published": "2031-01-02T00:00:00Z",
    "aliases": ["CVE-2031-0007"],
    "summary": "remote code execution in deployedlib",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "deployedlib"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
        }
    ],
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("BASTION_HOME", str(path))
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test root."""

    return app


def _statement(digest: Digest, components: list[dict[str, str]]) -> bytes:
    """An unsigned DSSE envelope over an in-toto statement with a CycloneDX predicate."""
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.whl", "digest": {"sha256": digest.split(":", 1)[1]}}],
        "predicateType": CYCLONEDX_PREDICATE,
        "predicate": {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components},
    }
    return sign_payload(json.dumps(statement).encode(), None).to_json()


def _promote(home: Path, environment: str) -> Digest:
    store = LocalBlobStore(home / "artifacts")
    record = store.put_bytes(b"the app, built", name="app.whl", media_type="application/zip")
    components = [
        {"type": "library", "name": "deployedlib", "version": "1.4",
         "purl": "pkg:pypi/deployedlib@1.4"},
        {"type": "library", "name": "safe", "version": "3.0", "purl": "pkg:pypi/safe@3.0"},
        {"type": "file", "name": "README"},
    ]  # fmt: skip
    envelope = _statement(record.digest, components)
    store.put_attestation(
        record.digest, "20310101T000000Z-0123456789abcdef", AttestationKind.CYCLONEDX, envelope
    )
    store.promote(environment, record.digest)
    return record.digest


def _import(tmp_path: Path, alerts_db: str) -> str:
    osv = tmp_path / "osv-records"
    osv.mkdir(exist_ok=True)
    (osv / "PYSEC-2031-7.json").write_text(json.dumps(ADVISORY), encoding="utf-8")
    result = CliRunner().invoke(
        _app(), ["db", "import", str(osv), "--date", "2031-01-02", "--alerts-db", alerts_db]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_new_advisory_against_a_deployed_package_is_a_finding_and_an_alert(
    tmp_path: Path, home: Path
) -> None:
    digest = _promote(home, "production")
    home.joinpath("monitor.yml").write_text(
        "sinks:\n  webhook: {url: 'https://hooks.example/b', secret: '0123456789abcdef'}\n",
        encoding="utf-8",
    )
    url = sqlite_url(tmp_path / "server.db")
    output = _import(tmp_path, url)
    assert "1 new post-deployment findings" in output
    db = open_database(url)
    try:
        with db.session() as session:
            (finding,) = session.scalars(select(DeployedFindingRecord)).all()
            assert (finding.environment, finding.digest) == ("production", digest)
            assert (finding.package, finding.version) == ("deployedlib", "1.4")
            assert (finding.vulnerability, finding.fixed_in) == ("CVE-2031-0007", "2.0")
            (delivery,) = session.scalars(select(DeliveryRecord)).all()
            assert (delivery.sink, delivery.state) == ("webhook", "pending")
        (alert,) = AlertStore(db).list()
        assert alert.rule == POST_DEPLOYMENT_RULE
        assert finding.alert_id == alert.id
        assert "production" in alert.title
        assert f"environment production, artifact {digest}" in alert.detail
        # The same database imported again: nothing new, the alert is not repeated.
        assert "0 new post-deployment findings" in _import(tmp_path, url)
        assert len(AlertStore(db).list()) == 1
    finally:
        db.dispose()


def test_nothing_promoted_nothing_found(tmp_path: Path, home: Path) -> None:
    output = _import(tmp_path, sqlite_url(tmp_path / "server.db"))
    assert "re-scanned 0 deployed artifacts" in output
