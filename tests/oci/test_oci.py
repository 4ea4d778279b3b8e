"""Hostile images are refused or bounded with the reason, never a traceback."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from bastion.oci import Handling, ImageError, RefusalReason, open_image, walk_image
from tests.oci.builder import ImageSpec, Member, build_layout, layer_tar


class Everything:
    """A collector that wants every file as a binary, and records what it was given."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def handling(self, path: str, size: int, mode: int) -> Handling:
        return Handling.BINARY

    def inspect(self, path: str, layer: int, content: object) -> object | None:
        self.seen.append(path)
        return None


def _walk(path: Path) -> tuple[object, Everything]:
    collector = Everything()
    with open_image(path) as image:
        return walk_image(image, collector), collector


def test_archive_member_climbing_out_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "evil.tar"
    with tarfile.open(target, "w") as tar:
        for name in ("index.json", "../../etc/cron.d/x"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(ImageError) as caught:
        open_image(target)
    assert caught.value.reason is RefusalReason.UNSAFE_PATH
    assert "climbs out" in caught.value.message


@pytest.mark.parametrize("name", ["/etc/passwd", "usr/../../etc/passwd"])
def test_layer_member_absolute_or_dotdot_is_refused(tmp_path: Path, name: str) -> None:
    build_layout(tmp_path / "l", ImageSpec(layers=[[Member(name, b"root:x:0:0")]]))
    with pytest.raises(ImageError) as caught:
        _walk(tmp_path / "l")
    assert caught.value.reason is RefusalReason.UNSAFE_PATH


def test_layer_digest_mismatch_is_refused(tmp_path: Path) -> None:
    layout = build_layout(
        tmp_path / "l", ImageSpec(layers=[[Member("a", b"A" * 4096)]], gzip_layers=False)
    )
    manifest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    layer = json.loads((layout / "blobs/sha256" / manifest.split(":")[1]).read_text())["layers"][0]
    blob = layout / "blobs/sha256" / layer["digest"].split(":")[1]
    data = bytearray(blob.read_bytes())
    data[600] ^= 1  # inside the file's content: the tar still parses
    blob.write_bytes(bytes(data))
    with pytest.raises(ImageError) as caught:
        _walk(layout)
    assert caught.value.reason is RefusalReason.DIGEST_MISMATCH


def test_ten_gigabyte_sparse_file_is_skipped_not_read(tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    big = work / "big"
    with big.open("wb") as handle:
        handle.truncate(10 * 1024**3)
    big.chmod(0o755)
    raw = subprocess.run(
        ["tar", "--sparse", "--format=gnu", "-cf", "-", "-C", str(work), "big"],
        check=True,
        capture_output=True,
    ).stdout
    build_layout(tmp_path / "l", ImageSpec(layers=[], raw_layers=[raw], gzip_layers=False))
    started = time.monotonic()
    walk, collector = _walk(tmp_path / "l")
    assert time.monotonic() - started < 5
    assert collector.seen == []
    assert any("read limit" in s for s in walk.skipped)  # type: ignore[attr-defined]


def test_escaping_symlink_is_listed_not_followed(tmp_path: Path) -> None:
    members = [Member("etc/evil", kind=tarfile.SYMTYPE, link="../../../../host/etc/shadow")]
    build_layout(tmp_path / "l", ImageSpec(layers=[members]))
    walk, _ = _walk(tmp_path / "l")
    assert walk.escaping_links == ["etc/evil -> ../../../../host/etc/shadow"]  # type: ignore[attr-defined]


def test_not_an_image_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.tar").write_bytes(layer_tar([Member("hello", b"hi")]))
    with pytest.raises(ImageError) as caught:
        open_image(tmp_path / "x.tar")
    assert caught.value.reason is RefusalReason.UNSUPPORTED
