"""Artifacts passed along ``needs:``: whole local runs on a small git repository, real bwrap.

``build`` writes random bytes, so a rebuild could never match its digest: ``publish``
publishing build's digest proves it received build's own bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.engine.events import Event, JobChanged, JobOutput, StepChanged
from bastion.engine.local_run import LocalRunOptions, run_local
from bastion.engine.model import JobState, RunResult
from bastion.home import bastion_home
from bastion.supplychain import AttestationKind, LocalBlobStore, parse_digest
from tests.support import git

pytestmark = pytest.mark.integration

_PIPELINE = """\
jobs:
  build:
    steps:
      - run: mkdir -p dist && head -c 4096 /dev/urandom > dist/app.bin
    artifacts: ["dist/*.bin"]
  publish:
    needs: [{job: build, artifacts: true}]
    steps:
      - run: %s
    artifacts: ["out/*"]
"""

_PUBLISH = "mkdir out && cp dist/app.bin out/app.bin && sha256sum dist/app.bin"


def _repo(tmp_path: Path, publish: str = _PUBLISH) -> Path:
    repo = tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion" / "pipeline.yml").write_text(_PIPELINE % publish)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    return repo


def _run(repo: Path, *observers: Callable[[Event], None]) -> RunResult:
    return run_local(LocalRunOptions(project=repo), observers=observers)


def _store() -> LocalBlobStore:
    return LocalBlobStore(bastion_home() / "artifacts")


def _digests(result: RunResult, name: str) -> list[str]:
    return [str(a["digest"]) for a in result.attestations if a["name"] == name]


def _output(events: list[Event], job: str) -> str:
    data = b"".join(e.data for e in events if isinstance(e, JobOutput) and e.job == job)
    return data.decode()


def test_publish_gets_exactly_the_bytes_build_attested_before_it_started(
    tmp_path: Path,
) -> None:
    events: list[Event] = []
    seen_at_start: list[bool] = []

    def observe(event: Event) -> None:
        events.append(event)
        if isinstance(event, JobChanged) and (event.job, event.state) == (
            "publish",
            JobState.RUNNING,
        ):
            # Attested at build's end: provenance is in the store before publish runs.
            built = [e for e in events if isinstance(e, JobChanged) and e.job == "build"]
            store = _store()
            seen_at_start.append(
                built[-1].state is JobState.PASSED
                and any(
                    store.get_attestation(d, b, AttestationKind.PROVENANCE) is not None
                    for d in map(parse_digest, _store_digests(store))
                    for b in store.bundles(d)
                )
            )

    result = _run(_repo(tmp_path), observe)
    assert result.jobs == {"build": JobState.PASSED, "publish": JobState.PASSED}, result.reasons
    assert seen_at_start == [True]
    built, published = _digests(result, "app.bin")  # build's, then publish's copy in out/
    assert published == built
    assert f"{built.removeprefix('sha256:')}  dist/app.bin" in _output(events, "publish")
    # both signed (a clean committed tree runs with trust `local`)
    assert all(a["signed"] for a in result.attestations)


def _store_digests(store: LocalBlobStore) -> list[str]:
    folder = store.root / "blobs" / "sha256"
    return [f"sha256:{p.name}" for p in folder.iterdir()] if folder.is_dir() else []


@pytest.mark.skipif(os.geteuid() != 0, reason="per-job uids (and so ownership) need root")
def test_a_dependent_cannot_modify_the_artifact_it_received(tmp_path: Path) -> None:
    attack = (
        "stat -c 'mode %a' dist/app.bin; "
        "if echo tampered >> dist/app.bin; then echo WROTE; fi; "
        "if chmod 644 dist/app.bin; then echo CHMODDED; fi; "
        "sha256sum dist/app.bin"
    )
    events: list[Event] = []
    result = _run(_repo(tmp_path, attack), events.append)
    assert result.jobs["publish"] is JobState.PASSED, result.reasons
    output = _output(events, "publish")
    assert "mode 444" in output
    assert "WROTE" not in output
    assert "CHMODDED" not in output
    (digest,) = _digests(result, "app.bin")
    assert f"{digest.removeprefix('sha256:')}  dist/app.bin" in output


def test_a_tampered_store_fails_the_dependent_without_running_it(tmp_path: Path) -> None:
    events: list[Event] = []

    def tamper(event: Event) -> None:
        events.append(event)
        if isinstance(event, JobChanged) and (event.job, event.state) == (
            "build",
            JobState.PASSED,
        ):
            # Between the jobs: the blob build stored is changed behind Bastion's back.
            store = _store()
            (digest,) = _store_digests(store)
            blob = store.blob_path(parse_digest(digest))
            blob.chmod(0o600)
            blob.write_bytes(b"evil" + blob.read_bytes()[4:])

    result = _run(_repo(tmp_path), tamper)
    assert result.jobs["build"] is JobState.PASSED
    assert result.jobs["publish"] is JobState.ERROR
    reason = result.reasons["publish"]
    assert "dist/app.bin" in reason
    assert "does not match its stored digest" in reason
    assert "Traceback" not in reason
    assert not [e for e in events if isinstance(e, StepChanged) and e.job == "publish"]
    assert len(_digests(result, "app.bin")) == 1  # build's own, stored before the tampering


def test_the_stored_blob_is_what_build_made(tmp_path: Path) -> None:
    result = _run(_repo(tmp_path))
    (digest,) = set(_digests(result, "app.bin"))
    data = _store().read(parse_digest(digest))
    assert f"sha256:{hashlib.sha256(data).hexdigest()}" == digest
