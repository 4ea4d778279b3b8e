"""The vulnerability database as the gate and ``bastion db`` see it: import, status, open.

    >>> import tempfile, pathlib
    >>> db = Database.open(pathlib.Path(tempfile.mkdtemp()))  # nothing imported there yet
    >>> db.bundled, "PyPI" in db.ecosystems()
    (True, True)

When no ecosystem has been imported or updated into the directory, the bundled snapshot
(:mod:`.bundled`: a small, dated sample of real records, one file per ecosystem, each read
only when needed) is used, and :attr:`notes` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.scanners.sca.archive import Limits, open_records
from bastion.scanners.sca.bundled import Snapshot
from bastion.scanners.sca.errors import ArchiveError, DatabaseError
from bastion.scanners.sca.index import EcosystemIndex, IndexBuilder, IndexMeta
from bastion.scanners.sca.paths import osv_dir
from bastion.scanners.sca.versions import base_ecosystem

__all__ = ["IMPORT_LAYOUTS", "Database", "ImportSummary", "import_path", "status"]

# What `bastion db import PATH` reads (``bastion.scanners.sca.layouts``), for messages.
IMPORT_LAYOUTS = (
    "a zip or directory of OSV .json/.yaml records (such as OSV's <Ecosystem>/all.zip), or a "
    "clone of pypa/advisory-database, golang/vulndb, github/advisory-database or the osv "
    "branch of rustsec/advisory-db"
)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import read: the tree's layout, the indexes it replaced, what it skipped."""

    source: str
    layout: str
    records: int
    skipped: int
    skipped_examples: tuple[str, ...]
    metas: tuple[IndexMeta, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "layout": self.layout,
            "records": self.records,
            "skipped": self.skipped,
            "skipped_examples": list(self.skipped_examples),
            "ecosystems": [m.to_dict() for m in self.metas],
        }


def _check_ecosystem(name: str, record: Mapping[str, Any], ecosystem: str) -> None:
    """An ecosystem's archive holds that ecosystem's records (or withdrawn ones), nothing else."""
    named = {
        base_ecosystem(str(a.get("package", {}).get("ecosystem", "")))
        for a in record.get("affected", [])
    }
    if ecosystem not in named and not record.get("withdrawn"):
        raise ArchiveError(
            f"record {record['id']} ({name}) in the {ecosystem} archive names no {ecosystem} "
            f"package (it names: {', '.join(sorted(named - {''})) or 'none'})",
            hint="the archive is not the one asked for; nothing was imported",
        )


def import_path(
    path: Path,
    directory: Path | None = None,
    *,
    source: str | None = None,
    snapshot_date: str | None = None,
    ecosystems: list[str] | None = None,
    limits: Limits | None = None,
    archive_of: str | None = None,
) -> ImportSummary:
    """Import a zip or directory of OSV records; replaces the ecosystems it contains.

    ``archive_of`` names the one ecosystem an update's archive must hold: a record of any
    other ecosystem fails it. Nothing is replaced unless every record read is well-formed.
    """
    target = directory or osv_dir()
    origin = source or f"import:{path.resolve()}"
    builder = IndexBuilder(
        target, source=origin, snapshot_date=snapshot_date, ecosystems=ecosystems
    )
    try:
        plan, records = open_records(path, limits)
        for name, record in records:
            if archive_of is not None:
                _check_ecosystem(name, record, archive_of)
            builder.add(record)
    except BaseException:
        builder.abort()
        raise
    if not builder.ecosystems():
        builder.abort()
        wanted = f" for {', '.join(ecosystems)}" if ecosystems else ""
        raise ArchiveError(
            f"{path} holds no OSV records{wanted} (read as {plan.layout.name}: "
            f"{len(plan.records)} record files, {len(plan.skipped)} other files skipped)",
            hint=f"give {IMPORT_LAYOUTS}; nothing was changed",
        )
    metas = builder.commit()
    return ImportSummary(
        source=origin,
        layout=plan.layout.name,
        records=len(plan.records),
        skipped=len(plan.skipped),
        skipped_examples=plan.skipped[:5],
        metas=tuple(metas),
    )


def status(directory: Path | None = None) -> list[IndexMeta]:
    """Metadata of every ecosystem index under ``directory`` (default ``$BASTION_HOME/osv``)."""
    target = directory or osv_dir()
    metas: list[IndexMeta] = []
    for file in sorted(target.glob("*.sqlite")):
        index = EcosystemIndex.open(target, file.stem)
        metas.append(index.meta)
        index.close()
    return metas


@dataclass
class Database:
    """Per-ecosystem indexes, opened lazily; ``bundled`` when the shipped snapshot is in use."""

    directory: Path
    bundled: bool
    _indexes: dict[str, EcosystemIndex] = field(default_factory=dict)
    _available: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    snapshot: Snapshot | None = None

    @classmethod
    def open(cls, directory: Path | None = None) -> Database:
        """Use the indexes in ``directory``; the bundled snapshot when there are none."""
        target = directory or osv_dir()
        available = tuple(sorted(p.stem for p in target.glob("*.sqlite")))
        if available:
            return cls(target, bundled=False, _available=available)
        snapshot = Snapshot.load()
        return cls(
            target,
            bundled=True,
            _available=tuple(snapshot.ecosystems),
            notes=[snapshot.note()],
            snapshot=snapshot,
        )

    def ecosystems(self) -> list[str]:
        """Ecosystems this database has data for."""
        return list(self._available)

    def index(self, ecosystem: str) -> EcosystemIndex:
        """The index for ``ecosystem`` (``Debian:12`` uses ``Debian``); fails closed if absent."""
        base = base_ecosystem(ecosystem)
        if base not in self._indexes:
            if self.snapshot is not None:
                # Read on first use: a scan pays only for the ecosystems its tree names.
                self._indexes[base] = self.snapshot.open(base)
                return self._indexes[base]
            if base not in self._available:
                raise DatabaseError(
                    f"no {base} vulnerability data in {self.directory}: {base} packages "
                    "cannot be judged",
                    hint=f"run `bastion db update --ecosystem {base}` where the network "
                    f"reaches OSV, or `bastion db import PATH` with {IMPORT_LAYOUTS}",
                )
            self._indexes[base] = EcosystemIndex.open(self.directory, base)
        return self._indexes[base]

    def describe(self, ecosystems: list[str]) -> dict[str, Any]:
        """Facts about the data the given ecosystems were judged against (for the policy)."""
        metas = [self.index(e).meta for e in sorted({base_ecosystem(e) for e in ecosystems})]
        per = {m.ecosystem: m.to_dict() for m in metas}
        oldest = max(metas, key=lambda m: m.age_days(), default=None)
        return {
            "database_bundled_snapshot": self.bundled,
            "database_source": oldest.source if oldest else None,
            "database_date": oldest.snapshot_date if oldest else None,
            "database_age_days": oldest.age_days() if oldest else None,
            "database_ecosystems": per,
        }

    def close(self) -> None:
        """Close every opened index."""
        for index in self._indexes.values():
            index.close()
        self._indexes.clear()
