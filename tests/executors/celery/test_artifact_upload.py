"""Artifact chunks from a worker: written where they belong on the server, or refused."""

from __future__ import annotations

import base64
import hashlib
import queue
import tempfile
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.executors import (
    JobEvent,
    JobEventKind,
    JobOutcome,
    JobSpec,
    JobState,
    StepSpec,
    WorkspaceSource,
)
from bastion.executors.celery.artifact_upload import (
    ARTIFACT_CAP,
    ARTIFACT_FILE_CAP,
    CHUNK,
    ArtifactRefused,
    artifact_messages,
    check_artifact_total,
    receive_chunk,
)
from bastion.executors.celery.executor import CeleryExecutor, CeleryJobHandle, _checked
from bastion.executors.celery.mailboxes import Mailbox, WorkerChannels
from bastion.executors.celery.wire import event_from_json
from bastion.executors.celery.worker import _Lease


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
    stored = 0
    for message in messages:
        stored = receive_chunk(server, message, stored)
    assert (server / "dist" / "app.bin").read_bytes() == data
    assert stored == len(data)


def test_an_empty_artifact_is_one_message(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    messages = list(artifact_messages(tmp_path, "empty", "7.ab.1", "w"))
    server = tmp_path / "server"
    server.mkdir()
    assert receive_chunk(server, messages[0], 0) == 0
    assert len(messages) == 1
    assert (server / "empty").read_bytes() == b""


@pytest.mark.parametrize("path", ["../outside", "/tmp/outside", "dist/../../outside", "", "a//b"])
def test_a_chunk_outside_the_artifact_folder_is_refused(tmp_path: Path, path: str) -> None:
    server = tmp_path / "run" / "artifacts"
    server.mkdir(parents=True)
    with pytest.raises(ArtifactRefused) as refused:
        receive_chunk(server, _chunk(path), 0)
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
            receive_chunk(server, _chunk(path), 0)
    assert list(elsewhere.iterdir()) == []


def test_a_chunk_out_of_order_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactRefused) as refused:
        receive_chunk(tmp_path, _chunk("app.bin", offset=CHUNK), 0)
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


# -- the cap on a job's artifact bytes -------------------------------------------------------


def _on_disk(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def _send_forever(root: Path, cap: int) -> tuple[int, ArtifactRefused]:
    """A hostile worker: chunks of one file, forever; the total kept and the refusal."""
    stored = 0
    for n in range(100):
        try:
            stored = receive_chunk(root, _chunk("app.bin", b"x" * 300, 300 * n), stored, cap)
        except ArtifactRefused as exc:
            return stored, exc
    raise AssertionError("a sender going on forever was never refused")


def test_a_sender_going_past_the_cap_is_refused_before_writing_past_it(tmp_path: Path) -> None:
    stored, refused = _send_forever(tmp_path, 1000)
    assert refused.reason == "artifact-size"
    assert "past 1000 bytes" in refused.diagnostics()
    assert "fix: " in refused.diagnostics()
    assert stored == _on_disk(tmp_path) == 900  # three chunks; the fourth would pass the cap


def test_the_cap_counts_every_file_of_the_job(tmp_path: Path) -> None:
    stored = 0
    for path in ("a.bin", "dist/b.bin", "dist/c.bin"):
        stored = receive_chunk(tmp_path, _chunk(path, b"x" * 300), stored, 1000)
    with pytest.raises(ArtifactRefused) as refused:
        receive_chunk(tmp_path, _chunk("dist/d.bin", b"x" * 101), stored, 1000)
    assert refused.value.reason == "artifact-size"
    assert _on_disk(tmp_path) == 900
    # Up to the cap itself is allowed.
    assert receive_chunk(tmp_path, _chunk("dist/d.bin", b"x" * 100), stored, 1000) == 1000


def test_an_upload_started_over_is_not_counted_twice(tmp_path: Path) -> None:
    # A retried attempt sends its files again from offset 0: each truncates the first copy.
    stored = receive_chunk(tmp_path, _chunk("app.bin", b"x" * 800), 0, 1000)
    stored = receive_chunk(tmp_path, _chunk("app.bin", b"y" * 800), stored, 1000)
    assert stored == _on_disk(tmp_path) == 800
    # ... and a chunk refused for the cap leaves the first copy as it was (not truncated).
    with pytest.raises(ArtifactRefused):
        receive_chunk(tmp_path, _chunk("other.bin", b"z" * 300), stored, 1000)
    assert (tmp_path / "app.bin").read_bytes() == b"y" * 800


def test_a_sender_of_empty_files_is_refused_past_the_file_cap(tmp_path: Path) -> None:
    """Empty files count no bytes: without a count, a worker could make files forever."""
    files: set[str] = set()
    for path in ("a", "d/b", "d/c"):
        assert receive_chunk(tmp_path, _chunk(path, b""), 0, 1000, files=files, file_cap=3) == 0
    with pytest.raises(ArtifactRefused) as refused:
        receive_chunk(tmp_path, _chunk("d/e", b""), 0, 1000, files=files, file_cap=3)
    assert refused.value.reason == "artifact-count"
    assert "file 4 of the job, more than the 3" in refused.value.diagnostics()
    assert not (tmp_path / "d" / "e").exists()  # refused before the file was made
    assert files == {"a", "d/b", "d/c"}
    # A retried attempt sends its files again: the same paths are not new files.
    assert receive_chunk(tmp_path, _chunk("d/b", b"xy"), 0, 1000, files=files, file_cap=3) == 2


def test_a_worker_sends_nothing_of_more_files_than_the_file_cap(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(b"")
    assert check_artifact_total(tmp_path, ["a", "b", "c"], 1000, file_cap=3) == 0
    with pytest.raises(ArtifactRefused) as refused:
        check_artifact_total(tmp_path, ["a", "b", "c"], 1000, file_cap=2)
    assert refused.value.reason == "artifact-count"
    assert "3 artifact files, more than the 2" in refused.value.diagnostics()
    assert "archive" in refused.value.diagnostics()  # the fix


_CHUNKS = st.lists(
    st.tuples(st.sampled_from(["a", "d/b", "d/c"]), st.integers(0, 400), st.booleans()),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(_CHUNKS)
def test_the_running_total_is_what_the_folder_holds_and_never_past_the_cap(
    chunks: list[tuple[str, int, bool]],
) -> None:
    """Any mix of files, sizes, appends and starts-over: the total kept is the folder's, a
    refused chunk changes nothing, and the folder never holds more than the cap."""
    with tempfile.TemporaryDirectory() as folder:
        root, stored = Path(folder), 0
        for path, size, start_over in chunks:
            offset = 0 if start_over or not (root / path).exists() else (root / path).stat().st_size
            before = _on_disk(root)
            try:
                stored = receive_chunk(root, _chunk(path, b"x" * size, offset), stored, 1000)
                refused = None
            except ArtifactRefused as exc:
                refused = exc.reason
            assert refused in (None, "artifact-size")
            assert refused is None or _on_disk(root) == before
            assert stored == _on_disk(root) <= 1000


def test_the_executor_keeps_the_total_and_fails_the_job_past_the_cap(tmp_path: Path) -> None:
    """The server's path: ``_on_artifact`` passes the handle's running total, and a refusal
    fails the job (its ``artifact_error`` becomes the job's reason), with the real cap."""
    handle = CeleryJobHandle(_spec(tmp_path), lambda event: None)
    executor = CeleryExecutor.__new__(CeleryExecutor)  # _on_artifact uses no executor state
    executor._on_artifact(handle, _chunk("a.bin", b"x" * 10))
    executor._on_artifact(handle, _chunk("b.bin", b"x" * 20))
    assert handle.artifact_bytes == 30
    assert handle.artifact_error is None
    handle.artifact_bytes = ARTIFACT_CAP - 5  # as if the job had uploaded that much already
    executor._on_artifact(handle, _chunk("c.bin", b"x" * 10))
    assert handle.artifact_error is not None
    assert "past 2.0 GiB" in handle.artifact_error
    assert (tmp_path / "c.bin").stat().st_size == 0


def test_the_executor_counts_the_jobs_files_and_fails_it_past_the_file_cap(
    tmp_path: Path,
) -> None:
    handle = CeleryJobHandle(_spec(tmp_path), lambda event: None)
    executor = CeleryExecutor.__new__(CeleryExecutor)
    executor._on_artifact(handle, _chunk("a.bin", b""))
    executor._on_artifact(handle, _chunk("a.bin", b"", 0))  # sent again: still one file
    assert handle.artifact_files == {"a.bin"}
    handle.artifact_files |= {f"f{i}" for i in range(ARTIFACT_FILE_CAP - 1)}  # at the cap
    executor._on_artifact(handle, _chunk("one-more.bin", b""))
    assert handle.artifact_error is not None
    assert f"more than the {ARTIFACT_FILE_CAP} a job may upload" in handle.artifact_error
    assert not (tmp_path / "one-more.bin").exists()


class _Published:
    """A worker's channels as a lease sees them: what it publishes, in order."""

    control = "bastion.ctl.test"

    def __init__(self) -> None:
        self.publisher = self
        self.sent: list[dict[str, Any]] = []

    def send(self, to: str, body: dict[str, Any]) -> None:
        self.sent.append(body)

    def open(self, task_id: str) -> Mailbox:
        return queue.Queue()

    def drop(self, task_id: str, box: Mailbox) -> None:
        pass


def _finish(staging: Path, cap: int) -> list[dict[str, Any]]:
    channels = _Published()
    lease = _Lease("7.ab.1", "w", "bastion.reply", cast(WorkerChannels, channels))
    outcome = JobOutcome(JobState.PASSED, artifacts=("dist/a.bin", "dist/b.bin"))
    lease.send(JobEvent(JobEventKind.FINISHED, "build", outcome=outcome), str(staging), cap)
    return channels.sent


def test_a_worker_sends_nothing_of_artifacts_past_the_cap(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "a.bin").write_bytes(b"x" * 600)
    (tmp_path / "dist" / "b.bin").write_bytes(b"x" * 600)

    sent = _finish(tmp_path, 1199)
    assert [body["type"] for body in sent] == ["event"]  # the result alone, no chunk
    assert "digests" not in sent[0]
    refused = event_from_json(sent[0]["event"]).outcome
    assert refused is not None
    assert refused.status is JobState.FAILED
    assert "1200 bytes, more than the 1199 bytes a job may upload" in str(refused.reason)
    assert refused.artifacts == ()

    sent = _finish(tmp_path, 1200)  # exactly the cap: uploaded
    assert [body["type"] for body in sent] == ["artifact", "artifact", "event"]
    assert event_from_json(sent[-1]["event"]).outcome == JobOutcome(
        JobState.PASSED, artifacts=("dist/a.bin", "dist/b.bin")
    )
    assert set(sent[-1]["digests"]) == {"dist/a.bin", "dist/b.bin"}
