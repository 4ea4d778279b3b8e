"""Reading OSV records from a zip archive or a directory, with limits against hostile input.

    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> record = {"id": "X-1", "modified": "2024-01-01T00:00:00Z"}
    >>> _ = (d / "X-1.json").write_text(json.dumps(record))
    >>> [name for name, _ in iter_records(d)]
    ['X-1.json']

Members are read into memory (never extracted, so path traversal cannot happen) with caps on
each member's size, the total uncompressed size and the member count: a zip bomb stops at the
cap with :class:`~bastion.scanners.sca.errors.ArchiveError`, never fills the disk or memory.
A malformed record fails the whole import: a half-imported database would be silently wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bastion.scanners.sca.errors import ArchiveError
from bastion.scanners.sca.osv import check_record

__all__ = ["Limits", "iter_records", "load_record"]

_SUFFIXES = (".json", ".yaml", ".yml")
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


class _Budget:
    def __init__(self, limits: Limits, source: Path) -> None:
        self.limits = limits
        self.source = source
        self.total = 0
        self.count = 0

    def take(self, name: str, size: int) -> None:
        self.count += 1
        self.total += size
        if size > self.limits.member_bytes:
            raise ArchiveError(
                f"{self.source}: member {name} is larger than {self.limits.member_bytes} bytes"
            )
        if self.count > self.limits.members:
            raise ArchiveError(f"{self.source}: more than {self.limits.members} records")
        if self.total > self.limits.total_bytes:
            raise ArchiveError(
                f"{self.source}: more than {self.limits.total_bytes} bytes uncompressed",
                hint="a zip bomb or the wrong file; check the source",
            )


def _iter_zip(path: Path, limits: Limits) -> Iterator[tuple[str, Mapping[str, Any]]]:
    budget = _Budget(limits, path)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.endswith(_SUFFIXES):
                    continue
                # Read one byte past the cap: the declared file_size may lie.
                with archive.open(info) as member:
                    data = member.read(limits.member_bytes + 1)
                budget.take(info.filename, len(data))
                yield info.filename, load_record(info.filename, data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise ArchiveError(f"{path} is not a readable zip archive: {exc}") from exc


def _iter_directory(path: Path, limits: Limits) -> Iterator[tuple[str, Mapping[str, Any]]]:
    budget = _Budget(limits, path)
    for file in sorted(path.rglob("*")):
        if not file.is_file() or file.is_symlink() or not file.name.endswith(_SUFFIXES):
            continue
        if any(part.startswith(".") for part in file.relative_to(path).parts):
            continue  # a checkout's .github workflows and the like are not records
        relative = file.relative_to(path).as_posix()
        budget.take(relative, file.stat().st_size)
        yield relative, load_record(relative, file.read_bytes())


def iter_records(
    path: Path, limits: Limits | None = None
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield ``(member name, record)`` from a zip file or a directory tree of records."""
    caps = limits or Limits()
    if path.is_dir():
        yield from _iter_directory(path, caps)
    elif path.is_file():
        yield from _iter_zip(path, caps)
    else:
        raise ArchiveError(f"{path} does not exist", hint="give a zip file or a directory")
