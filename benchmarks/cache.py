"""Restoring a 200 MB job cache against copying the same data with ``cp -a`` and ``tar -x``.

    .venv/bin/python benchmarks/cache.py [--runs 5] [--mb 200]

Builds a cache of ``--mb`` MB (about a quarter in 4,000 small files of 1-24 KiB across 80
folders, the rest in three large files, like a pip or npm cache), saves it once with
:class:`~bastion.executors.job_cache.CacheStore`, then times, median of ``--runs``:

* Bastion: ``CacheStore.restore`` into an empty workspace (unpacking while it hashes every
  byte, then checking the digest: one read);
* peers: ``cp -a`` of the same folder, and ``tar -x`` of an uncompressed tar of it. Neither
  checks anything.

The destination is removed between runs (not timed); the page cache is warm for every side.
Goal: Bastion's restore under 1 s.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bastion.executors.job_cache import CacheStore

_PATH = ".cache/data"


def _make_tree(root: Path, megabytes: int) -> int:
    """A pip-like cache under ``root/.cache/data``; returns its size in bytes."""
    rng = random.Random(7)  # fixed: the same tree on every machine
    base = root / _PATH
    total = 0
    small_budget = megabytes * (1 << 20) // 4
    index = 0
    while total < small_budget:
        folder = base / f"pkg{index % 80:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(1024, 24 * 1024))
        (folder / f"f{index:05d}.py").write_bytes(data)
        total += len(data)
        index += 1
    large = (megabytes * (1 << 20) - total) // 3
    for n in range(3):
        (base / f"wheel{n}.whl").write_bytes(os.urandom(large))
        total += large
    return total


def _median(runs: int, prepare: Callable[[], None], action: Callable[[], object]) -> float:
    times: list[float] = []
    for _ in range(runs):
        prepare()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bastion-cache-bench-") as scratch:
        work = Path(scratch)
        source = work / "source"
        size = _make_tree(source, args.mb)
        store = CacheStore(work / "store")
        saved = store.save("bench", source, (_PATH,))
        assert saved is not None
        digest, entries, _ = saved
        tar = work / "cache.tar"
        subprocess.run(["tar", "-cf", str(tar), "-C", str(source), _PATH], check=True)
        target = work / "target"

        def fresh() -> None:
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()

        bastion = _median(
            args.runs, fresh, lambda: store.restore("bench", digest, target, (_PATH,))
        )
        cp = _median(
            args.runs,
            fresh,
            lambda: subprocess.run(["cp", "-a", str(source / ".cache"), str(target)], check=True),
        )
        untar = _median(
            args.runs,
            fresh,
            lambda: subprocess.run(["tar", "-xf", str(tar), "-C", str(target)], check=True),
        )
    print(
        f"cache: {size / (1 << 20):.0f} MiB in {entries} files and folders, median of {args.runs}"
    )
    print(f"  bastion restore (hash while unpacking): {bastion:6.3f} s")
    print(f"  cp -a (no check):                       {cp:6.3f} s  ratio {bastion / cp:.2f}")
    print(f"  tar -x (no check):                      {untar:6.3f} s  ratio {bastion / untar:.2f}")
    print(f"  goal < 1 s: {'met' if bastion < 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
