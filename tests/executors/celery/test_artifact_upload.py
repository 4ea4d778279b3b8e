"""Artifact chunks from a worker: written where they belong on the server, or refused."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from bastion.executors import JobOutcome, JobSpec, JobState, StepSpec, WorkspaceSource
from bastion.executors.celery.artifact_upload import (
    CHUNK,
    ArtifactRefused,
    artifact_messages,
    receive_chunk,
)
from bastion.executors.celery.executor import _checked


def _chunk(path: str, data: bytes = b"evil", offset: int = 0) -> dict[str, Any]:
    return {"type": "artifact", "path": path, "offset": offset,
            "data": base64.b64encode(data).decode()}  # fmt: skip


def _staged(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    staging = tmp_path / "worker"
    (staging / "dist").mkdir(parents=True)
    data = bytes(i % 251 for i in range(size))
    (staging / "dist" / "app.bin").write_bytes(data)
    return staging, data


def test_a_multi_chunk_artifact_arrives_whole(tmp_path: Path) -> None:
    staging, data = _staged(tmp_path, 2 * CHUNK + 17)
    server = tmp_path / "server"
    server.mkdir()
    messages = list(artifact_messages(staging, "dist/app.bin", "7.ab.1", "w"))
    assert len(messages) == 3
    for message in messages:
        receive_chunk(server, message)
    assert (server / "dist" / "app.bin").read_bytes() == data


def test_an_empty_artifact_is_one_message(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    messages = list(artifact_messages(tmp_path, "empty", "7.ab.1", "w"))
    server = tmp_path / "server"
    server.mkdir()
    receive_chunk(server, messages[0])
    assert len(messages) == 1
    assert (server / "empty").read_bytes() == b""


@pytest.mark.parametrize("path", ["../outside", "/tmp/outside", "dist/../../outside", "", "a//b"])
def test_a_chunk_outside_the_artifact_folder_is_refused(tmp_path: Path, path: str) -> None:
    server = tmp_path / "run" / "artifacts"
    server.mkdir(parents=True)
    with pytest.raises(ArtifactRefused) as refused:
        receive_chunk(server, _chunk(path))
    assert refused.value.reason == "artifact-path"
    assert not (tmp_path / "run" / "outside").exists()
    assert not Path("/tmp/outside").exists()


def test_a_chunk_through_a_link_is_refused(tmp_path: Path) -> None:
    server, elsewhere = tmp_path / "server", tmp_path / "elsewhere"
    server.mkdir()
    elsewhere.mkdir()
    (server / "dist").symlink_to(elsewhere)
    (server / "app.bin").symlink_to(elsewhere / "target")
    for path in ("dist/app.bin", "app.bin"):
        with pytest.raises(ArtifactRefused):
            receive_chunk(server, _chunk(path))
    assert list(elsewhere.iterdir()) == []


def test_a_chunk_out_of_order_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactRefused) as refused:
        receive_chunk(tmp_path, _chunk("app.bin", offset=CHUNK))
    assert refused.value.reason == "artifact-order"


def _spec(artifact_dir: Path) -> JobSpec:
    step = StepSpec("s", ("true",))
    return JobSpec(1, "build", (step,), WorkspaceSource("/src"), artifact_dir=str(artifact_dir))


def test_what_arrived_is_checked_against_the_workers_digest(tmp_path: Path) -> None:
    (tmp_path / "app.bin").write_bytes(b"what the worker built")
    digest = "sha256:" + hashlib.sha256(b"what the worker built").hexdigest()
    passed = JobOutcome(JobState.PASSED, artifacts=("app.bin",))
    assert _checked(_spec(tmp_path), passed, {"app.bin": digest}) is passed

    (tmp_path / "app.bin").write_bytes(b"altered on the way")
    altered = _checked(_spec(tmp_path), passed, {"app.bin": digest})
    assert altered.status is JobState.ERROR
    assert "does not match" in str(altered.reason)

    (tmp_path / "app.bin").unlink()
    lost = _checked(_spec(tmp_path), passed, {"app.bin": digest})
    assert lost.status is JobState.ERROR
    assert "did not arrive" in str(lost.reason)
