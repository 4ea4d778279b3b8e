"""Benchmark of the image gate on a generated 500 MB OCI layout with 300 packages (issue 17).

Target: the gate judges the image in at most 5 s and at most 300 MB peak RSS.

The layout is written by this script: a Debian 12 base layer (os-release, a dpkg status of
300 packages), then layers of incompressible files (random bytes: no compression shortcut)
until the layers total ``--megabytes``: ELF executables of 1 MB (spooled and read for Go
build info, as real binaries are), data files of 4 MB (skipped by size and kind) and small
configuration files (read for secrets). Layers are gzip-compressed at level 1 (``--plain``:
uncompressed tar), as ``docker build`` and buildkit write them.

The gate runs in a fresh child process (the registry's gate: OSV matching over an empty
index in this run's temporary directory, so every Debian package is looked up, and the
secrets engine). Wall time is the child's own measure around ``gate.scan``; peak RSS is
that child's own ``ru_maxrss`` (``os.wait4``: a ``resource.struct_rusage`` of that child
alone, not of the child that wrote the layout), interpreter included.

Usage: ``.venv/bin/python benchmarks/image.py [--megabytes 500] [--packages 300] [--plain]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

_CHILD = """
import json, sys, time
from pathlib import Path
from bastion.scanners.composed import EngineSecrets, OsvMatcher
from bastion.scanners.image import ImageGate
from bastion.scanners.interface import ScanRequest
root = Path(sys.argv[1])
gate = ImageGate(OsvMatcher(root / "osv"), EngineSecrets())
started = time.perf_counter()
report = gate.scan(ScanRequest(root=root, options={"image": "layout"}))
seconds = time.perf_counter() - started
import resource
self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
facts = report.facts
print(json.dumps({"seconds": seconds, "self_rss_mb": self_kb / 1024, "packages": facts["packages"],
                  "layer_bytes": facts["layer_bytes"], "findings": len(report.findings)}))
"""


def _status(count: int) -> bytes:
    paragraphs = [
        f"Package: pkg{n:03d}\nStatus: install ok installed\nArchitecture: amd64\n"
        f"Source: src{n:03d}\nVersion: 1.{n}.0-1\nDescription: package {n}\n"
        for n in range(count)
    ]
    return "\n".join(paragraphs).encode()


def _members(megabytes: int) -> Iterator[tuple[str, bytes, int]]:
    """(path, content, mode) for the big layers, about ``megabytes`` in total."""
    total, n = 0, 0
    while total < megabytes * 1024 * 1024:
        if n % 5 == 0:
            data = b"\x7fELF" + os.urandom(1024 * 1024 - 4)
            yield f"opt/app/bin/tool{n}", data, 0o755
        else:
            data = os.urandom(4 * 1024 * 1024)
            yield f"opt/app/data/blob{n}.bin", data, 0o644
        yield f"opt/app/etc/conf{n}.ini", f"[main]\nname = tool{n}\nlevel = 3\n".encode(), 0o644
        total += len(data)
        n += 1


def _tar(members: Iterator[tuple[str, bytes, int]] | list[tuple[str, bytes, int]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _blob(root: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layers(megabytes: int, packages: int) -> Iterator[bytes]:
    release = b'ID=debian\nVERSION_ID="12"\n'
    yield _tar(
        [("etc/os-release", release, 0o644), ("var/lib/dpkg/status", _status(packages), 0o644)]
    )
    batch: list[tuple[str, bytes, int]] = []
    for member in _members(megabytes):
        batch.append(member)
        if sum(len(d) for _, d, _ in batch) >= 100 * 1024 * 1024:
            yield _tar(batch)
            batch = []
    if batch:
        yield _tar(batch)


def build(root: Path, megabytes: int, packages: int, compress: bool) -> int:
    """Write the layout at ``root``; the layers' total size on disk."""
    (root / "blobs" / "sha256").mkdir(parents=True)
    descriptors, diff_ids, size = [], [], 0
    media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
    for raw in _layers(megabytes, packages):
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        data = gzip.compress(raw, compresslevel=1, mtime=0) if compress else raw
        descriptors.append({"mediaType": media, **_blob(root, data)})
        size += len(data)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"User": "1000", "Env": ["PATH=/usr/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config_desc = {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        **_blob(root, json.dumps(config).encode()),
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": descriptors,
    }
    manifest_desc = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **_blob(root, json.dumps(manifest).encode()),
    }
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return size


def measure(root: Path) -> tuple[dict[str, float], float, float]:
    """The child's report, the parent-side wall seconds and the child's peak RSS in MB."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(root)], stdout=out)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own resource.struct_rusage
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if child.returncode != 0:
            raise SystemExit(f"the gate's child failed with status {child.returncode}")
        out.seek(0)
        text = out.read().decode()
    return json.loads(text), wall, usage.ru_maxrss / 1024


def _build_in_child(layout: Path, args: argparse.Namespace) -> int:
    """Write the layout in a child process; its size on disk."""
    command = [sys.executable, __file__, "--build-only", str(layout)]
    command += ["--megabytes", str(args.megabytes), "--packages", str(args.packages)]
    command += ["--plain"] if args.plain else []
    return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    """Generate the layout, run the gate once in a child, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=500)
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--plain", action="store_true", help="uncompressed layers")
    parser.add_argument("--build-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:  # in a child, so the measuring parent stays small
        print(build(args.build_only, args.megabytes, args.packages, not args.plain))
        return
    with tempfile.TemporaryDirectory(prefix="bastion-image-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        size = _build_in_child(root / "layout", args)
        print(
            f"layout: {size / 1e6:.0f} MB on disk, written in {time.perf_counter() - started:.1f} s"
        )
        report, wall, rss = measure(root)
    print(
        f"image gate: {report['seconds']:.2f} s in the gate ({wall:.2f} s with interpreter "
        f"start), peak RSS {rss:.0f} MB (child's own view {report['self_rss_mb']:.0f} MB); "
        f"{report['packages']} packages, "
        f"{report['layer_bytes'] / 1e6:.0f} MB of layers read, {report['findings']} findings"
    )
    ok = report["seconds"] <= 5 and rss <= 300
    print(f"target (<= 5 s, <= 300 MB): {'met' if ok else 'NOT met'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
