"""Scanning a directory tree on every core: the parent lists names, workers read and scan.

The parent only walks directory entries (no ``stat``, no reads) and hands out chunks of
relative paths; each forked worker opens, reads and scans its own files and sends back
:class:`~bastion.scanners.secrets.hits.Hit` values, which hold no secret. Reading in the
parent would make it the bottleneck (one core reading for two). Workers are forked (see
:mod:`~bastion.scanners.secrets.workers`) so they share the compiled Hyperscan database.

Files are skipped by rule and every skip is counted by reason: symlinks (never followed),
non-regular files, files over the size limit, binaries (a NUL byte in the first 8 KiB),
minified files (large with a mean line length over a limit), excluded globs, VCS metadata.
A regular file that cannot be read is an error: the gate cannot vouch for it (fail closed).
"""

from __future__ import annotations

import fnmatch
import functools
import itertools
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bastion.errors import GateError
from bastion.scanners.secrets.engine import Engine
from bastion.scanners.secrets.hits import Hit, hits_in_file
from bastion.scanners.secrets.workers import run_forked

__all__ = ["TreeOptions", "TreeResult", "scan_tree"]

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr"})
_BINARY_PROBE = 8192
_SMALL = 64 * 1024  # read whole in one call; larger files are probed first
_IN_PROCESS_MAX_FILES = 200
_CHUNK = 48


@dataclass(frozen=True, slots=True)
class TreeOptions:
    """Limits and parallelism for a tree scan (``jobs=0``: one worker per core)."""

    max_file_size: int = 10 * 1024 * 1024
    minified_min_size: int = 64 * 1024
    minified_mean_line: int = 500
    exclude: tuple[str, ...] = ()
    jobs: int = 0


@dataclass(slots=True)
class TreeResult:
    """Hits plus what was scanned and what was skipped, by reason."""

    hits: list[Hit] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    def skip(self, reason: str, path: str) -> None:
        """Count one skipped path under ``reason``, keeping a few examples."""
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 3:
            shown.append(path)

    def merge(self, other: TreeResult) -> None:
        """Fold a worker's result into this one."""
        self.hits.extend(other.hits)
        self.files += other.files
        self.bytes += other.bytes
        self.unreadable.extend(other.unreadable)
        for reason, paths in other.examples.items():
            for path in paths:
                self.skip(reason, path)
            self.skipped[reason] += other.skipped[reason] - len(paths)


def _excluded(rel: str, patterns: tuple[str, ...], *, is_dir: bool) -> bool:
    probe = rel + "/" if is_dir else rel
    return any(fnmatch.fnmatch(probe, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def _walk(root: Path, options: TreeOptions, result: TreeResult) -> Iterator[str]:
    """Relative POSIX paths of the regular files to scan; skips are counted in ``result``."""
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(root, rel_dir)) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_symlink():
                    result.skip("symlink (not followed)", rel)
                elif entry.is_dir(follow_symlinks=False):
                    if entry.name in VCS_DIRS:
                        result.skip("VCS metadata directory", rel)
                    elif _excluded(rel, options.exclude, is_dir=True):
                        result.skip("excluded by pattern", rel)
                    else:
                        stack.append(rel)
                elif not entry.is_file(follow_symlinks=False):
                    result.skip("not a regular file", rel)
                elif _excluded(rel, options.exclude, is_dir=False):
                    result.skip("excluded by pattern", rel)
                else:
                    yield rel


def _read(path: str, rel: str, options: TreeOptions, result: TreeResult) -> bytes | None:
    """The file's bytes, or None (with the reason recorded) if it is not to be scanned."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        result.unreadable.append(rel)
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            result.skip("not a regular file", rel)
            return None
        if info.st_size > options.max_file_size:
            result.skip(f"larger than {options.max_file_size} bytes", rel)
            return None
        # A small file is read whole in one call (most of a tree: one read instead of three);
        # a large one is probed first so that a large binary costs one small read.
        first = os.read(fd, info.st_size + 1 if info.st_size <= _SMALL else _BINARY_PROBE)
        if first.find(b"\0", 0, _BINARY_PROBE) >= 0:
            result.skip("binary (NUL byte in the first 8 KiB)", rel)
            return None
        if len(first) == info.st_size <= _SMALL:
            return first  # asked for one byte more than fstat saw and did not get it: EOF
        parts = [first]
        while len(parts[-1]) > 0 and sum(map(len, parts)) <= options.max_file_size:
            parts.append(os.read(fd, max(info.st_size, _BINARY_PROBE)))
        return b"".join(parts)
    except OSError:
        result.unreadable.append(rel)
        return None
    finally:
        os.close(fd)


def _minified(data: bytes, options: TreeOptions) -> bool:
    """Whether the mean line of ``data`` is over ``options.minified_mean_line`` bytes.

    Counting newlines runs at about 1 GB/s, a tenth of a whole scan; source code has enough
    newlines in its first eighth to settle "not minified", so the rest is counted only when
    that prefix does not decide (the answer is the same as counting everything).
    """
    size = len(data)
    if size < options.minified_min_size:
        return False
    limit = options.minified_mean_line
    prefix = size // 8
    newlines = data.count(b"\n", 0, prefix)
    if (newlines + 1) * limit >= size:
        return False
    newlines += data.count(b"\n", prefix)
    return (newlines + 1) * limit < size


def _scan_files(root: Path, engine: Engine, options: TreeOptions, rels: list[str]) -> TreeResult:
    result = TreeResult()
    base = str(root)
    for rel in rels:
        data = _read(os.path.join(base, rel), rel, options, result)
        if data is None:
            continue
        if _minified(data, options):
            result.skip(f"minified (mean line over {options.minified_mean_line} bytes)", rel)
            continue
        result.files += 1
        result.bytes += len(data)
        result.hits.extend(hits_in_file(engine, data, rel))
    return result


def _chunks(rels: Iterator[str]) -> Iterator[list[str]]:
    while chunk := list(itertools.islice(rels, _CHUNK)):
        yield chunk


def scan_tree(root: Path, engine: Engine, options: TreeOptions | None = None) -> TreeResult:
    """Scan every file under ``root`` with ``engine``; raise GateError if any is unreadable."""
    options = options or TreeOptions()
    if not root.is_dir():
        raise GateError(f"{root} is not a directory", hint="pass the repository's root directory")
    result, walked = TreeResult(), TreeResult()
    walker = _walk(root, options, walked)
    head = list(itertools.islice(walker, _IN_PROCESS_MAX_FILES + 1))
    jobs = options.jobs or os.cpu_count() or 1
    if jobs == 1 or len(head) <= _IN_PROCESS_MAX_FILES:
        result.merge(_scan_files(root, engine, options, [*head, *walker]))
    else:
        # Workers start scanning while this process is still walking the tree.
        chunks = _chunks(itertools.chain(head, walker))
        work = functools.partial(_scan_files, root, engine, options)
        for part in run_forked(jobs, chunks, work):
            result.merge(part)
    result.merge(walked)
    if result.unreadable:
        shown = ", ".join(sorted(result.unreadable)[:5])
        raise GateError(
            f"{len(result.unreadable)} file(s) under {root} could not be read: {shown}",
            hint="fix their permissions or exclude them with the gate's 'exclude' option",
        )
    result.hits.sort(key=lambda h: (h.path, h.line, h.column, h.rule_id))
    return result
