"""The local vulnerability index: one SQLite file per ecosystem, rows keyed by package.

Why SQLite: a scan looks up a few thousand packages out of hundreds of thousands of records,
so the index must load per package, not whole; an indexed ``(ecosystem, name)`` lookup costs
microseconds and the file opens in a read-only bind mount (``immutable=1``, no lock files).
Each ecosystem is its own file so updating one replaces it atomically (write, then rename)
while scans that already opened the old file keep reading it.

A record with no severity of its own (most PYSEC and Go records) borrows one at import time
from a record it aliases, when the same import holds one that has it (a GHSA, RUSTSEC or
PYSEC twin with a CVSS vector or a ``database_specific.severity``); the row then says whose
(``severity_from``). Why at import: only then are all the tree's records in view.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> builder = IndexBuilder(d, source="example")
    >>> builder.add({"id": "X-1", "modified": "2024-05-01T00:00:00Z",
    ...     "affected": [{"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"}}]})
    >>> [meta] = builder.commit()
    >>> index = EcosystemIndex.open(d, "PyPI")
    >>> meta.records, meta.snapshot_date, [a.id for a in index.lookup("PyPI", "demo-pkg")]
    (1, '2024-05-01', ['X-1'])
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.atomic import fsync_directory
from bastion.scanners.sca.errors import DatabaseError
from bastion.scanners.sca.osv import Advisory, compact_record, severity_evidence
from bastion.scanners.sca.versions import base_ecosystem, normalize_name

__all__ = ["EcosystemIndex", "IndexBuilder", "IndexMeta", "index_path"]

SCHEMA_VERSION = "1"
_SAFE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9.]*$")
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE advisory (ecosystem TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL,
                       data TEXT NOT NULL, PRIMARY KEY (ecosystem, name, id)) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class IndexMeta:
    """What an ecosystem's index says about itself."""

    ecosystem: str
    source: str
    snapshot_date: str
    imported_at: str
    records: int
    withdrawn: int
    packages: int

    def age_days(self, today: dt.date | None = None) -> int:
        """Days between the data's date and ``today`` (UTC today by default)."""
        now = today or dt.datetime.now(dt.UTC).date()
        return (now - dt.date.fromisoformat(self.snapshot_date)).days

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ecosystem": self.ecosystem,
            "source": self.source,
            "snapshot_date": self.snapshot_date,
            "imported_at": self.imported_at,
            "records": self.records,
            "withdrawn": self.withdrawn,
            "packages": self.packages,
            "age_days": self.age_days(),
        }


def index_path(directory: Path, ecosystem: str) -> Path:
    """``<directory>/<Ecosystem>.sqlite``; refuses names that are not plain words."""
    if not _SAFE_NAME.match(ecosystem):
        raise DatabaseError(f"not an ecosystem name: {ecosystem!r}")
    return directory / f"{ecosystem}.sqlite"


class EcosystemIndex:
    """A read-only view of one ecosystem's index."""

    def __init__(self, connection: sqlite3.Connection, meta: IndexMeta, location: str) -> None:
        self._connection = connection
        self.meta = meta
        self.location = location

    @classmethod
    def open(cls, directory: Path, ecosystem: str) -> EcosystemIndex:
        """Open ``ecosystem``'s index under ``directory``; :class:`DatabaseError` if unusable."""
        path = index_path(directory, ecosystem)
        if not path.is_file():
            raise DatabaseError(
                f"no {ecosystem} vulnerability index at {path}",
                hint=f"run `bastion db update --ecosystem {ecosystem}` or `bastion db import PATH`",
            )
        try:
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            return cls(connection, _read_meta(connection, ecosystem), str(path))
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(
                f"the {ecosystem} vulnerability index {path} is unreadable: {exc}",
                hint=f"rebuild it with `bastion db update --ecosystem {ecosystem}`",
            ) from exc

    @classmethod
    def from_connection(cls, connection: sqlite3.Connection, ecosystem: str) -> EcosystemIndex:
        """Wrap an already built connection (the bundled snapshot is built in memory)."""
        return cls(connection, _read_meta(connection, ecosystem), ":memory:")

    def lookup(self, ecosystem: str, name: str) -> list[Advisory]:
        """Every advisory for the package, by OSV ecosystem (``Debian:12``) and name."""
        key = normalize_name(ecosystem, name)
        try:
            rows = self._connection.execute(
                "SELECT data FROM advisory WHERE ecosystem = ? AND name = ? ORDER BY id",
                (ecosystem, key),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(
                f"vulnerability index {self.location} is unreadable: {exc}"
            ) from exc
        return [Advisory.from_index(json.loads(row[0])) for row in rows]

    def close(self) -> None:
        """Close the underlying connection."""
        self._connection.close()


def _read_meta(connection: sqlite3.Connection, ecosystem: str) -> IndexMeta:
    rows = dict(connection.execute("SELECT key, value FROM meta").fetchall())
    if rows.get("schema") != SCHEMA_VERSION or rows.get("ecosystem") != ecosystem:
        raise sqlite3.DatabaseError(
            f"schema {rows.get('schema')!r} for {rows.get('ecosystem')!r}, expected "
            f"schema {SCHEMA_VERSION} for {ecosystem!r}"
        )
    return IndexMeta(
        ecosystem=ecosystem,
        source=rows["source"],
        snapshot_date=rows["snapshot_date"],
        imported_at=rows["imported_at"],
        records=int(rows["records"]),
        withdrawn=int(rows["withdrawn"]),
        packages=int(rows["packages"]),
    )


class _Writer:
    """One ecosystem's index being built: a connection, its rows and counters."""

    def __init__(self, ecosystem: str, connection: sqlite3.Connection, temp: Path | None) -> None:
        self.ecosystem = ecosystem
        self.connection = connection
        self.temp = temp
        self.records = 0
        self.withdrawn = 0
        self.newest = ""
        self.packages: set[tuple[str, str]] = set()
        # Rows with no severity evidence, resolved against aliases at commit.
        self.unscored: list[tuple[tuple[str, str, str], dict[str, Any]]] = []
        connection.executescript(_SCHEMA)

    def add(self, record: Mapping[str, Any], entries: list[Mapping[str, Any]]) -> None:
        self.newest = max(self.newest, str(record["modified"])[:10])
        if record.get("withdrawn"):
            # Withdrawn records are counted for the status page but never matched.
            self.withdrawn += 1
            return
        self.records += 1
        rows: dict[tuple[str, str, str], str] = {}
        for package in (entry["package"] for entry in entries):
            name = normalize_name(package["ecosystem"], package["name"])
            key = (package["ecosystem"], name, str(record["id"]))
            if key not in rows:
                compact = compact_record(record, package["ecosystem"], package["name"])
                rows[key] = json.dumps(compact, separators=(",", ":"))
                self.packages.add(key[:2])
                if not compact["severity"] and not compact["db_severity"]:
                    self.unscored.append((key, compact))
        self.connection.executemany(
            "INSERT OR REPLACE INTO advisory VALUES (?, ?, ?, ?)",
            [(*key, data) for key, data in rows.items()],
        )

    def borrow_severities(self, evidence: Mapping[str, tuple[str, dict[str, Any]]]) -> None:
        """Give each unscored row the severity of the first alias (sorted) that has one."""
        updates: list[tuple[str, str, str, str]] = []
        for key, compact in self.unscored:
            for alias in compact["aliases"]:
                found = evidence.get(alias)
                if found is None or found[0] == compact["id"]:
                    continue
                compact.update(found[1], severity_from=found[0])
                updates.append((json.dumps(compact, separators=(",", ":")), *key))
                break
        self.connection.executemany(
            "UPDATE advisory SET data = ? WHERE ecosystem = ? AND name = ? AND id = ?", updates
        )
        self.unscored.clear()

    def finish(self, source: str, snapshot_date: str | None) -> IndexMeta:
        meta = IndexMeta(
            ecosystem=self.ecosystem,
            source=source,
            snapshot_date=snapshot_date
            or self.newest
            or dt.datetime.now(dt.UTC).date().isoformat(),
            imported_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            records=self.records,
            withdrawn=self.withdrawn,
            packages=len(self.packages),
        )
        values = {**meta.to_dict(), "schema": SCHEMA_VERSION}
        values.pop("age_days")
        self.connection.executemany(
            "INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in values.items()]
        )
        self.connection.commit()
        return meta


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexBuilder:
    """Builds one index per ecosystem from a stream of checked OSV records.

    With a ``directory``, each index is written to a temporary file and renamed over the old
    one by :meth:`commit`; without, the indexes stay in memory (the bundled snapshot).
    """

    def __init__(
        self,
        directory: Path | None,
        *,
        source: str,
        snapshot_date: str | None = None,
        ecosystems: Iterable[str] | None = None,
    ) -> None:
        self.directory = directory
        self.source = source
        self.snapshot_date = snapshot_date
        self.only = frozenset(ecosystems) if ecosystems is not None else None
        self._writers: dict[str, _Writer] = {}
        # Severity evidence by record id and alias, from every record read (any ecosystem).
        self._evidence: dict[str, tuple[str, dict[str, Any]]] = {}

    def _writer(self, ecosystem: str) -> _Writer:
        writer = self._writers.get(ecosystem)
        if writer is None:
            if self.directory is None:
                writer = _Writer(ecosystem, sqlite3.connect(":memory:"), None)
            else:
                index_path(self.directory, ecosystem)  # refuses unsafe names before any write
                self.directory.mkdir(parents=True, exist_ok=True)
                handle, name = tempfile.mkstemp(
                    prefix=f".{ecosystem}.", suffix=".tmp", dir=self.directory
                )
                os.close(handle)
                writer = _Writer(ecosystem, sqlite3.connect(name), Path(name))
            self._writers[ecosystem] = writer
        return writer

    def add(self, record: Mapping[str, Any]) -> None:
        """Index one record (checked by :func:`~bastion.scanners.sca.osv.check_record`)."""
        by_ecosystem: dict[str, list[Mapping[str, Any]]] = {}
        for entry in record.get("affected", []):
            package = entry.get("package", {})
            if not package.get("ecosystem") or not package.get("name"):
                continue
            base = base_ecosystem(package["ecosystem"])
            if self.only is None or base in self.only:
                by_ecosystem.setdefault(base, []).append(entry)
        self._remember_severity(record)
        try:
            for base, entries in by_ecosystem.items():
                self._writer(base).add(record, entries)
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"cannot build the vulnerability index: {exc}") from exc

    def _remember_severity(self, record: Mapping[str, Any]) -> None:
        if record.get("withdrawn"):
            return
        evidence = severity_evidence(record)
        if evidence is None:
            return
        for name in (str(record["id"]), *(str(a) for a in record.get("aliases", []))):
            self._evidence.setdefault(name, (str(record["id"]), evidence))

    def ecosystems(self) -> list[str]:
        """Ecosystems seen so far."""
        return sorted(self._writers)

    def commit(self) -> list[IndexMeta]:
        """Write metadata; on disk, atomically replace each ecosystem's index."""
        metas: list[IndexMeta] = []
        try:
            for writer in self._writers.values():
                writer.borrow_severities(self._evidence)
                metas.append(writer.finish(self.source, self.snapshot_date))
                if writer.temp is not None and self.directory is not None:
                    writer.connection.close()
                    writer.temp.chmod(0o644)
                    _sync(writer.temp)  # the new file is whole on disk before it is named
                    writer.temp.replace(index_path(self.directory, writer.ecosystem))
            if self.directory is not None and self._writers:
                fsync_directory(self.directory)  # ...and the renames survive a crash
        except (sqlite3.DatabaseError, OSError) as exc:
            self.abort()
            raise DatabaseError(f"cannot write the vulnerability index: {exc}") from exc
        return sorted(metas, key=lambda m: m.ecosystem)

    def opened(self) -> dict[str, EcosystemIndex]:
        """The in-memory indexes (after :meth:`commit`), by ecosystem."""
        return {
            name: EcosystemIndex.from_connection(writer.connection, name)
            for name, writer in self._writers.items()
            if writer.temp is None
        }

    def abort(self) -> None:
        """Drop every temporary file; the previous indexes stay as they were."""
        for writer in self._writers.values():
            writer.connection.close()
            if writer.temp is not None:
                writer.temp.unlink(missing_ok=True)
