"""A job's ``cache:``: restored into the fresh workspace before its first step, saved after it
passed, in the one namespace directory the engine chose for the run's trust level.

It lives with the executors because restore and save happen where the workspace is (a local
thread or, later, a worker), on the host side, before and after the sandbox; the executor is
given a directory and never learns about trust, so it cannot pick another level's entries.

A namespace holds ``objects/<sha256>`` (one :mod:`~bastion.executors.cache_bundle` each) and
``keys/<key>`` (the digest the key stands for). Entries are immutable: a key is linked in
once (``os.link`` fails if it exists) and never rewritten. A restore hashes the entry while
it unpacks it; bytes that do not match the digest (a poisoned or torn entry) are removed
from the workspace, the entry is deleted, the job log says so and a ``cache_poisoned``
event reaches the audit log; the job goes on cold. Objects are not fsynced: an entry lost
or torn by a crash is caught by that same check.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bastion.executors.cache_bundle import (
    BundleReader,
    BundleSink,
    CacheBlocked,
    CacheError,
    write_bundle,
)
from bastion.executors.interface import CacheSpec, JobEvent, JobEventKind, JobEventSink, JobSpec
from bastion.executors.secret_guard import SecretScan, refusal
from bastion.regular_file import Refused, open_regular_file

__all__ = ["CacheStore", "hash_files", "render_key", "restore_caches", "save_caches"]

_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}")
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")


def hash_files(root: Path, globs: tuple[str, ...]) -> str:
    """sha256 over each matching regular file (sorted path, NUL, content sha256)."""
    matched = sorted({p.relative_to(root).as_posix() for g in globs for p in root.glob(g)})
    total = hashlib.sha256()
    for relative in matched:
        fd = open_regular_file(root, relative)
        if isinstance(fd, Refused):
            continue  # folders, links and special files are not files of the tree
        with os.fdopen(fd, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").digest()
        total.update(relative.encode() + b"\0" + digest)
    return total.hexdigest()


def render_key(root: Path, spec: CacheSpec) -> str:
    """The key of ``spec`` over the workspace ``root``; CacheError if it is not a valid name."""
    key = "".join(p if isinstance(p, str) else hash_files(root, p) for p in spec.key)
    if not _KEY.fullmatch(key):
        raise CacheError(f"cache key {key[:80]!r} is not 1-200 letters, digits, . _ + -")
    return key


@dataclass(frozen=True, slots=True)
class CacheStore:
    """One namespace: ``keys/`` and ``objects/`` under ``directory``."""

    directory: Path

    def _key_path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):  # a key is a file name: never '/', '..' or hidden
            raise CacheError(f"invalid cache key {key!r}")
        return self.directory / "keys" / key

    def lookup(self, key: str) -> str | None:
        """The hex digest ``key`` stands for, or None (a malformed index entry is dropped)."""
        try:
            text = self._key_path(key).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise CacheError(f"cannot read the index entry of {key!r}: {exc}") from exc
        match = _DIGEST.fullmatch(text)
        if match is None:
            raise CacheError(f"index entry of {key!r} does not name a sha256 digest")
        return match.group(1)

    def object_path(self, digest: str) -> Path:
        return self.directory / "objects" / digest

    def discard(self, key: str, digest: str | None) -> None:
        """Delete ``key`` and its object, e.g. after they failed their check."""
        self._key_path(key).unlink(missing_ok=True)
        if digest is not None:
            self.object_path(digest).unlink(missing_ok=True)

    def restore(self, key: str, digest: str, root: Path, paths: tuple[str, ...]) -> BundleReader:
        """Unpack the object into ``root``, hashing as it goes; on a mismatch undo it."""
        reader = BundleReader(root, paths)
        try:
            raw = io.FileIO(self.object_path(digest), "rb")
            with io.BufferedReader(raw, buffer_size=1 << 20) as source:
                actual = reader.read(source)
            if actual != digest:
                raise CacheError(f"content hashes to sha256:{actual[:16]}…, not the entry's")
        except BaseException:
            reader.undo()
            raise
        return reader

    def save(
        self, key: str, root: Path, paths: tuple[str, ...], scan: SecretScan | None = None
    ) -> tuple[str, int, int] | None:
        """Store ``paths`` of ``root`` under ``key``; None if the key already has an entry.

        ``scan`` sees every byte of the entry (names and contents) before it is written;
        if it finds a secret, :class:`~bastion.executors.secret_guard.SecretRefused` is
        raised and neither the object nor the key is kept.
        """
        index = self._key_path(key)
        if index.exists():
            return None  # immutable: the first passing job's entry stays
        for sub in ("keys", "objects"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, name = tempfile.mkstemp(dir=self.directory / "objects", prefix=".new-")
        try:
            with os.fdopen(handle, "wb", buffering=1 << 20) as out:
                sink = out if scan is None else _Scanned(out, scan, key, paths)
                digest, entries, size = write_bundle(root, paths, sink)
            os.replace(name, self.object_path(digest))
            self._link_index(index, digest)
        finally:
            Path(name).unlink(missing_ok=True)
        return digest, entries, size

    def _link_index(self, index: Path, digest: str) -> None:
        handle, name = tempfile.mkstemp(dir=index.parent, prefix=".new-")
        try:
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(f"sha256:{digest}\n")
            os.link(name, index)  # fails if another job linked this key first: keep that
        except FileExistsError:
            pass
        finally:
            os.unlink(name)


class _Scanned:
    """A bundle sink that refuses a secret before its bytes reach the file."""

    def __init__(self, out: BundleSink, scan: SecretScan, key: str, paths: tuple[str, ...]) -> None:
        self._out = out
        self._scan = scan
        self._what = f"cache entry {key} ({', '.join(paths)})"

    def write(self, data: bytes | memoryview, /) -> object:
        found = self._scan.feed(bytes(data))
        if found is not None:
            raise refusal(self._what, found, "saved")
        return self._out.write(data)


def _say(spec: JobSpec, on_event: JobEventSink, text: str) -> None:
    on_event(JobEvent(JobEventKind.OUTPUT, spec.job, data=f"bastion: cache: {text}\n".encode()))


def restore_caches(spec: JobSpec, root: Path, on_event: JobEventSink) -> tuple[str | None, ...]:
    """Restore each ``cache:`` entry of ``spec``; the keys as rendered (None if unusable)."""
    if not spec.cache or spec.cache_dir is None:
        return ()
    store = CacheStore(Path(spec.cache_dir))
    keys: list[str | None] = []
    for entry in spec.cache:
        try:
            key = render_key(root, entry)
        except CacheError as exc:
            _say(spec, on_event, f"not used: {exc.message}")
            keys.append(None)
            continue
        keys.append(key)
        _restore_one(spec, store, key, entry, root, on_event)
    return tuple(keys)


def _restore_one(
    spec: JobSpec,
    store: CacheStore,
    key: str,
    entry: CacheSpec,
    root: Path,
    on_event: JobEventSink,
) -> None:
    started = time.monotonic()
    digest: str | None = None
    try:
        digest = store.lookup(key)
        if digest is None:
            _say(spec, on_event, f"miss for {key}")
            return
        reader = store.restore(key, digest, root, entry.paths)
    except CacheBlocked as exc:
        _say(spec, on_event, f"WARNING: {key} not restored: {exc.message}")
        return
    except (CacheError, OSError) as exc:
        why = exc.message if isinstance(exc, CacheError) else str(exc)
        store.discard(key, digest)
        _say(spec, on_event, f"WARNING: entry {key} discarded, restored nothing: {why}")
        details = {"key": key, "digest": f"sha256:{digest}" if digest else "", "reason": why}
        on_event(JobEvent(JobEventKind.CACHE_POISONED, spec.job, details=details, at=time.time()))
        return
    took = time.monotonic() - started
    size = reader.bytes / 1e6
    _say(spec, on_event, f"restored {key} ({reader.files} files, {size:.1f} MB, {took:.2f} s)")


def save_caches(
    spec: JobSpec,
    root: Path,
    keys: tuple[str | None, ...],
    on_event: JobEventSink,
    scan: Callable[[], SecretScan] | None = None,
) -> None:
    """Save each entry whose key has none yet; a refused or failed save only warns.

    With ``scan`` (the job holds secrets), an entry holding one raises
    :class:`~bastion.executors.secret_guard.SecretRefused`: the job fails, nothing is saved.
    """
    if spec.cache_dir is None:
        return
    store = CacheStore(Path(spec.cache_dir))
    for entry, key in zip(spec.cache, keys, strict=True):
        if key is None:
            continue
        try:
            saved = store.save(key, root, entry.paths, scan() if scan else None)
        except (CacheError, OSError) as exc:
            why = exc.message if isinstance(exc, CacheError) else str(exc)
            _say(spec, on_event, f"WARNING: not saved {key}: {why}")
            continue
        if saved is None:
            _say(spec, on_event, f"kept {key} (an entry is never replaced)")
        else:
            _say(spec, on_event, f"saved {key} ({saved[1]} entries, {saved[2] / 1e6:.1f} MB)")
