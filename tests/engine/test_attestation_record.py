"""Attestations on the run record: written as a job's artifacts are attested, read back by
``bastion runs show``, and compared with earlier builds of the job at the same commit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bastion.engine.attestation import AttestationInputs, JobAttester
from bastion.engine.attestation_record import Reproducibility, run_attestations
from bastion.engine.history import get_run
from bastion.engine.recorder import create_run
from bastion.store import Database, open_database, sqlite_url
from bastion.supplychain import AttestationKind, Envelope, parse_digest
from bastion.trust import RunContext, Trust

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The store migrated to head, on SQLite and on the real PostgreSQL."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_db")
        return
    database = open_database(sqlite_url(tmp_path / "state.db"))
    yield database
    database.dispose()


def _build(
    db: Database, tmp_path: Path, content: bytes, trust: Trust = Trust.LOCAL
) -> tuple[JobAttester, int]:
    """One run whose job ``build`` made ``dist/app.bin`` with ``content``, attested."""
    project = tmp_path / "project"
    (project / "dist").mkdir(parents=True, exist_ok=True)
    context = RunContext(
        repo="https://git.example/app", commit=COMMIT, ref="main", event="local", trust=trust
    )
    run_id = create_run(db, context, ".bastion/pipeline.yml", "sha256:" + "00" * 32)
    staging = tmp_path / "staging" / str(run_id)
    (staging / "build" / "dist").mkdir(parents=True)
    (staging / "build" / "dist" / "app.bin").write_bytes(content)
    inputs = AttestationInputs(
        project=project,
        home=tmp_path / "home",
        staging=staging,
        pipeline_source=".bastion/pipeline.yml",
        pipeline_digest="sha256:" + "00" * 32,
        context=context,
        started=datetime.now(UTC),
        run_id=run_id,
        db=db,
    )
    attester = JobAttester(inputs, lambda _text: None)
    attester.attest("build", ["dist/app.bin"], {})
    return attester, run_id


def _reproducibility(attester: JobAttester, run_id: int, db: Database) -> object:
    [item] = run_attestations(db, run_id)
    raw = attester.store.get_attestation(
        parse_digest(item.digest), item.bundle, AttestationKind.PROVENANCE
    )
    assert raw is not None
    statement = json.loads(Envelope.from_json(raw).payload)
    return statement["predicate"]["buildDefinition"]["internalParameters"]["reproducibility"]


def test_the_revision_creates_the_attestations_table(db: Database) -> None:
    columns = {c["name"] for c in inspect(db.engine).get_columns("attestations")}
    assert {"run_id", "digest", "cyclonedx_ref", "signed_by", "reproducible"} <= columns


def test_second_build_of_the_same_commit_is_verified(db: Database, tmp_path: Path) -> None:
    first, first_run = _build(db, tmp_path, b"the same bytes")
    second, second_run = _build(db, tmp_path, b"the same bytes")
    assert _reproducibility(first, first_run, db)["reproducible"] == "unverified"  # type: ignore[index]
    again = _reproducibility(second, second_run, db)
    assert again["reproducible"] == "verified"  # type: ignore[index]
    assert again["mtimesClamped"] is True  # type: ignore[index]
    assert isinstance(again["sourceDateEpoch"], int)  # type: ignore[index]
    [item] = run_attestations(db, second_run)
    assert item.reproducible is Reproducibility.VERIFIED


def test_a_different_build_is_unverified(db: Database, tmp_path: Path) -> None:
    _build(db, tmp_path, b"one build")
    other, other_run = _build(db, tmp_path, b"another build")
    assert _reproducibility(other, other_run, db)["reproducible"] == "unverified"  # type: ignore[index]


def test_the_run_record_lists_digest_sboms_provenance_and_signature(
    db: Database, tmp_path: Path
) -> None:
    attester, run_id = _build(db, tmp_path, b"bytes")
    [item] = get_run(db, run_id)["attestations"]
    assert item["job"] == "build"
    assert item["name"] == "app.bin"
    assert item["size"] == 5
    assert item["signed_by"]
    assert item["unsigned_reason"] is None
    for ref in (item["sbom"]["cyclonedx"], item["sbom"]["spdx"], item["provenance"]):
        assert (attester.store.root / ref).is_file()


def test_an_unsigned_run_says_why(db: Database, tmp_path: Path) -> None:
    _, run_id = _build(db, tmp_path, b"bytes", trust=Trust.DIRTY)
    [item] = run_attestations(db, run_id)
    assert item.signed_by is None
    assert item.signature == "unsigned (trust 'dirty' does not sign)"
