"""The bundled OSV snapshot: a small, dated sample of real records, one file per ecosystem.

    >>> snapshot = Snapshot.load()
    >>> "PyPI" in snapshot.ecosystems, "npm" in snapshot.ecosystems
    (True, True)
    >>> snapshot.missing["RubyGems"].split(":")[0]
    'no bundled records for RubyGems'

``contents.json`` (written by ``scripts/osv_snapshot.py``) names each bundled ecosystem's
file, date, source, licence and the packages whose records it holds, and says for every
other ecosystem Bastion parses that it has no bundled records. An ecosystem's file is read
only when a scan needs it: the PyPI sample costs nothing to a Go-only repository.

Why a sample and not coverage: the snapshot exists so that the first offline run decides
instead of failing; it holds every record of a list of widely used packages (capped per
ecosystem) and nothing about any other package, which the gate's notes say.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bastion.scanners.sca.errors import DatabaseError
from bastion.scanners.sca.index import EcosystemIndex, IndexBuilder
from bastion.scanners.sca.osv import check_record

__all__ = ["CONTENTS", "SNAPSHOT_FORMAT", "BundledEcosystem", "Snapshot", "missing_message"]

SNAPSHOT_PACKAGE = "bastion.scanners.sca.snapshot"
CONTENTS = "contents.json"
SNAPSHOT_FORMAT = "bastion-osv-snapshot/1"


def missing_message(ecosystem: str) -> str:
    """What the snapshot says of an ecosystem it holds no records for."""
    return (
        f"no bundled records for {ecosystem}: run `bastion db update --ecosystem {ecosystem}` "
        "or `bastion db import PATH`"
    )


@dataclass(frozen=True, slots=True)
class BundledEcosystem:
    """One ecosystem's bundled file: where its records come from, their date and scope."""

    ecosystem: str
    file: str
    date: str
    source: str
    licence: str
    records: int
    packages: tuple[str, ...]
    # False: some records of these packages only (the source folder was hand-picked).
    complete: bool = True

    @classmethod
    def from_json(cls, ecosystem: str, data: Mapping[str, Any]) -> BundledEcosystem:
        """Read one entry of ``contents.json``; a malformed entry is a packaging bug, said so."""
        try:
            return cls(
                ecosystem=ecosystem,
                file=str(data["file"]),
                date=str(data["date"]),
                source=str(data["source"]),
                licence=str(data["licence"]),
                records=int(data["records"]),
                packages=tuple(str(p) for p in data["packages"]),
                complete=bool(data.get("complete", True)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _broken(f"entry {ecosystem!r}: {exc!r}") from exc

    def describe(self) -> str:
        """``PyPI of 2024-10-10 (294 records, 35 packages)``; ``partial`` when not complete."""
        scope = f"{len(self.packages)} packages" + ("" if self.complete else ", partial")
        return f"{self.ecosystem} of {self.date} ({self.records} records, {scope})"


def _broken(what: str) -> DatabaseError:
    return DatabaseError(
        f"the bundled OSV snapshot is damaged ({what})",
        hint="reinstall Bastion, or use `bastion db update` / `bastion db import PATH`",
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the snapshot holds (``ecosystems``) and says it lacks (``missing``)."""

    ecosystems: Mapping[str, BundledEcosystem]
    missing: Mapping[str, str]

    @classmethod
    def load(cls) -> Snapshot:
        """Read ``contents.json`` from the installed package."""
        data = _read_json(CONTENTS)
        if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
            raise _broken(f"{CONTENTS} is not {SNAPSHOT_FORMAT}")
        bundled = data.get("ecosystems", {})
        missing = data.get("without_records", {})
        if not isinstance(bundled, dict) or not isinstance(missing, dict):
            raise _broken(f"{CONTENTS} lacks its ecosystem tables")
        return cls(
            ecosystems={e: BundledEcosystem.from_json(e, v) for e, v in sorted(bundled.items())},
            missing={str(e): str(m) for e, m in sorted(missing.items())},
        )

    def open(self, ecosystem: str) -> EcosystemIndex:
        """Build ``ecosystem``'s in-memory index from its file (checked record by record)."""
        entry = self.ecosystems.get(ecosystem)
        if entry is None:
            raise DatabaseError(
                f"no {ecosystem} vulnerability data in the bundled snapshot: {ecosystem} "
                "packages cannot be judged",
                hint=self.missing.get(ecosystem, missing_message(ecosystem)),
            )
        data = _read_json(entry.file)
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise _broken(f"{entry.file} holds no record list")
        builder = IndexBuilder(None, source=entry.source, snapshot_date=entry.date)
        for record in data["records"]:
            builder.add(check_record(record))
        builder.commit()
        opened = builder.opened()
        if ecosystem not in opened:
            raise _broken(f"{entry.file} holds no {ecosystem} record")
        return opened[ecosystem]

    def note(self) -> str:
        """One line naming every bundled ecosystem with its date, and what it is not."""
        parts = "; ".join(e.describe() for e in self.ecosystems.values())
        return (
            f"using the bundled OSV snapshot ({parts}): a small dated sample of widely used "
            "packages' records, not coverage; run `bastion db update` for current data"
        )


def _read_json(name: str) -> Any:
    try:
        text = resources.files(SNAPSHOT_PACKAGE).joinpath(name).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise _broken(f"{name}: {exc}") from exc
