"""Received artifacts: checked against their digest on the way in, never through a link."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

import pytest

from bastion.errors import SandboxError, VerificationError
from bastion.executors import ReceivedArtifact
from bastion.executors.artifact_delivery import deliver_artifacts

DATA = b"the bytes build made\n" * 1000


def _stored(tmp_path: Path, data: bytes = DATA) -> ReceivedArtifact:
    blob = tmp_path / "store" / "blob"
    blob.parent.mkdir(exist_ok=True)
    blob.write_bytes(data)
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    return ReceivedArtifact("dist/app.bin", str(blob), digest, "build")


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


def test_copied_to_its_path_read_only(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    assert deliver_artifacts(root, [_stored(tmp_path)]) == ("dist/app.bin",)
    copy = root / "dist" / "app.bin"
    assert copy.read_bytes() == DATA
    assert stat.S_IMODE(copy.stat().st_mode) == 0o444


def test_tampered_bytes_are_refused_and_removed(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    item = _stored(tmp_path)
    Path(item.source).write_bytes(b"evil" + DATA[4:])
    with pytest.raises(VerificationError) as caught:
        deliver_artifacts(root, [item])
    assert caught.value.reason == "artifact-digest-mismatch"
    assert "dist/app.bin" in caught.value.diagnostics()
    assert not (root / "dist" / "app.bin").exists()


def test_a_linked_folder_of_the_commit_is_not_followed(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "dist").symlink_to(outside)
    with pytest.raises(SandboxError, match="not a directory"):
        deliver_artifacts(root, [_stored(tmp_path)])
    assert list(outside.iterdir()) == []


def test_a_link_at_the_artifact_path_is_replaced_not_written_through(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    target = tmp_path / "host-file"
    target.write_bytes(b"host")
    (root / "dist").mkdir()
    (root / "dist" / "app.bin").symlink_to(target)
    deliver_artifacts(root, [_stored(tmp_path)])
    assert target.read_bytes() == b"host"
    assert not (root / "dist" / "app.bin").is_symlink()
    assert (root / "dist" / "app.bin").read_bytes() == DATA


@pytest.mark.parametrize("path", ["/etc/passwd", "../escape", "dist/../../escape", "./dist/x", ""])
def test_paths_outside_the_workspace_are_refused(tmp_path: Path, path: str) -> None:
    item = _stored(tmp_path)
    bad = ReceivedArtifact(path, item.source, item.digest, item.job)
    with pytest.raises(SandboxError, match="leaves the workspace"):
        deliver_artifacts(_workspace(tmp_path), [bad])


def test_two_artifacts_at_one_path_are_refused(tmp_path: Path) -> None:
    item = _stored(tmp_path)
    other = ReceivedArtifact(item.path, item.source, item.digest, "build-2")
    with pytest.raises(SandboxError, match="both pass an artifact"):
        deliver_artifacts(_workspace(tmp_path), [item, other])


def test_a_directory_in_the_way_is_an_error(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    (root / "dist" / "app.bin").mkdir(parents=True)
    with pytest.raises(SandboxError, match="has a directory there"):
        deliver_artifacts(root, [_stored(tmp_path)])


def test_a_fifo_in_the_store_is_an_error_not_a_hang(tmp_path: Path) -> None:
    item = _stored(tmp_path)
    Path(item.source).unlink()
    os.mkfifo(item.source)
    failures: list[BaseException] = []

    def deliver() -> None:
        try:
            deliver_artifacts(_workspace(tmp_path), [item])
        except SandboxError as exc:
            failures.append(exc)

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    (failure,) = failures
    assert "not a regular file" in str(failure)
