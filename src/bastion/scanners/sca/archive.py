"""Reading OSV records from a zip archive or a directory, with limits against hostile input.

    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> record = {"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": []}
    >>> _ = (d / "X-1.json").write_text(json.dumps(record))
    >>> _ = (d / "README.md").write_text("not a record")
    >>> plan, records = open_records(d)
    >>> plan.layout.name, plan.skipped, [name for name, _ in records]
    ('folder of OSV records', ('README.md',), ['X-1.json'])

Which files are records follows the tree's layout (:mod:`~bastion.scanners.sca.layouts`);
the rest are skipped and counted. Members are read into memory, never extracted; a member
whose name climbs out (``../``, an absolute path) makes the whole archive hostile. Declared
sizes are checked against the caps before anything is read, and each member is read only up
to its cap (a declared size can lie): a zip bomb stops with
:class:`~bastion.scanners.sca.errors.ArchiveError`, never fills the disk or memory. A
malformed record fails the whole import: a half-imported database would be silently wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bastion.scanners.sca.errors import ArchiveError
from bastion.scanners.sca.layouts import Layout, detect
from bastion.scanners.sca.osv import check_record

__all__ = ["Limits", "Plan", "iter_records", "load_record", "open_records"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on what one import may read."""

    member_bytes: int = 16 * 1024 * 1024
    total_bytes: int = 4 * 1024 * 1024 * 1024
    members: int = 2_000_000


def load_record(name: str, data: bytes) -> Mapping[str, Any]:
    """Parse one JSON or YAML record and check its shape; :class:`ArchiveError` names it."""
    try:
        if name.endswith(".json"):
            record: object = json.loads(data)
        else:
            record = _plain(yaml.load(data, Loader=_Loader))  # noqa: S506 - a safe loader
        return check_record(record)
    except (ValueError, yaml.YAMLError) as exc:
        # json.JSONDecodeError and RecordError are ValueErrors.
        line = getattr(exc, "lineno", None) or _yaml_line(exc)
        where = f"{name}:{line}" if line else name
        raise ArchiveError(
            f"malformed OSV record {where}: {exc}",
            hint="the source is corrupt or not an OSV archive; nothing was imported",
        ) from exc


def _plain(value: object) -> object:
    """YAML turns unquoted timestamps into datetimes; OSV fields are RFC 3339 strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _yaml_line(exc: Exception) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return int(mark.line) + 1 if mark is not None else None


def _refuse_name(source: Path, name: str) -> None:
    """Members are never extracted, but a name that climbs out is a hostile archive."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or "\0" in name or ":" in parts[0]:
        raise ArchiveError(
            f"{source}: member {name!r} has an unsafe path",
            hint="the archive is hostile or corrupt; nothing was imported",
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """What an import will read: the tree's layout, its record files and what it skips.

    Made before any record is read, from names and sizes alone, so a hostile archive (a
    climbing member name, declared sizes past the caps) is refused before it is opened.
    """

    source: Path
    layout: Layout
    prefix: str
    records: tuple[str, ...]
    skipped: tuple[str, ...]

    @classmethod
    def of(
        cls,
        source: Path,
        names: dict[str, int],
        limits: Limits,
        never: frozenset[str] = frozenset(),
    ) -> Plan:
        """Partition ``names`` (relative path -> size) by the layout; ``never`` is skipped."""
        layout, prefix = detect(list(names))
        records = tuple(
            n
            for n in sorted(names)
            if n not in never and n.startswith(prefix) and layout.holds_record(n[len(prefix) :])
        )
        chosen = set(records)
        skipped = tuple(n for n in sorted(names) if n not in chosen)
        if len(records) > limits.members:
            raise ArchiveError(f"{source}: more than {limits.members} records")
        for name in records:
            if names[name] > limits.member_bytes:
                raise ArchiveError(
                    f"{source}: member {name} is larger than {limits.member_bytes} bytes",
                    hint="a zip bomb or the wrong file; nothing was imported",
                )
        if sum(names[n] for n in records) > limits.total_bytes:
            raise ArchiveError(
                f"{source}: more than {limits.total_bytes} bytes uncompressed",
                hint="a zip bomb or the wrong file; check the source",
            )
        return cls(source, layout, prefix, records, skipped)


def _zip_names(path: Path, archive: zipfile.ZipFile) -> dict[str, int]:
    names: dict[str, int] = {}
    for info in archive.infolist():
        _refuse_name(path, info.filename)
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{path}: member {info.filename} is encrypted")
        if not info.is_dir():
            names[info.filename] = info.file_size
    return names


def _iter_zip(path: Path, limits: Limits) -> tuple[Plan, Iterator[tuple[str, Mapping[str, Any]]]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise ArchiveError(f"{path} is not a readable zip archive: {exc}") from exc
    try:
        plan = Plan.of(path, _zip_names(path, archive), limits)
    except BaseException:
        archive.close()
        raise

    def read() -> Iterator[tuple[str, Mapping[str, Any]]]:
        total = 0
        try:
            with archive:
                for name in plan.records:
                    # Read one byte past the cap: the declared file_size may lie.
                    with archive.open(name) as member:
                        data = member.read(limits.member_bytes + 1)
                    total += len(data)
                    if len(data) > limits.member_bytes or total > limits.total_bytes:
                        raise ArchiveError(
                            f"{path}: member {name} inflates past its declared size or the caps",
                            hint="a zip bomb or a corrupt archive; nothing was imported",
                        )
                    yield name, load_record(name, data)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            raise ArchiveError(f"{path} is not a readable zip archive: {exc}") from exc

    return plan, read()


def _directory_names(path: Path) -> tuple[dict[str, int], frozenset[str]]:
    """Every file's relative path and size, and which of them are symlinks."""
    names: dict[str, int] = {}
    links: set[str] = set()
    for directory, dirnames, filenames in os.walk(path):
        # A clone's git objects are not part of the tree a user means; never walk them.
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in filenames:
            file = Path(directory) / name
            relative = file.relative_to(path).as_posix()
            # A symlink could point anywhere on the machine: count it, never follow it.
            if file.is_symlink():
                links.add(relative)
            names[relative] = 0 if file.is_symlink() else file.stat().st_size
    return names, frozenset(links)


def _iter_directory(
    path: Path, limits: Limits
) -> tuple[Plan, Iterator[tuple[str, Mapping[str, Any]]]]:
    names, links = _directory_names(path)
    plan = Plan.of(path, names, limits, never=links)

    def read() -> Iterator[tuple[str, Mapping[str, Any]]]:
        total = 0
        for name in plan.records:
            data = (path / name).read_bytes()
            total += len(data)
            if len(data) > limits.member_bytes or total > limits.total_bytes:
                raise ArchiveError(f"{path}: {name} grew past the caps while being read")
            yield name, load_record(name, data)

    return plan, read()


def open_records(
    path: Path, limits: Limits | None = None
) -> tuple[Plan, Iterator[tuple[str, Mapping[str, Any]]]]:
    """The plan for a zip file or a directory tree, and an iterator over its records."""
    caps = limits or Limits()
    if path.is_dir():
        return _iter_directory(path, caps)
    if path.is_file():
        return _iter_zip(path, caps)
    raise ArchiveError(f"{path} does not exist", hint="give a zip file or a directory")


def iter_records(
    path: Path, limits: Limits | None = None
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield ``(member name, record)`` from a zip file or a directory tree of records."""
    _, records = open_records(path, limits)
    yield from records
