"""Vulnerability data there when a scan needs it: fetch missing or stale ecosystems first.

Before the SCA gate runs (on the host: the sandboxed gate has no network), the ecosystems a
tree's manifests and lock files name are checked against the local database
(``$BASTION_HOME/osv``, else the bundled snapshot). One with no data, or data older than the
allowed age (``BASTION_OSV_MAX_AGE_DAYS``, default 7), is downloaded from OSV's
per-ecosystem archive (:func:`bastion.scanners.sca.update.update`, verified the same way)
from ``BASTION_OSV_URL`` (default OSV's public bucket).

Offline (``--offline``, ``BASTION_OFFLINE=1``) or with no route to the source, nothing is
downloaded and one message says so, naming ``bastion db import PATH`` and what it reads, and
which data judges instead (with its date: the bundled snapshot's on a first run); the gate
judges with what there is, and an ecosystem with no data at all still fails it closed
(``Database.index``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bastion.scanners.sca.database import IMPORT_LAYOUTS, Database
from bastion.scanners.sca.errors import DatabaseError, ManifestError
from bastion.scanners.sca.parsers import discover
from bastion.scanners.sca.paths import osv_dir
from bastion.scanners.sca.update import PUBLIC_SOURCE, Progress, UpdateError, UpdateResult, update
from bastion.scanners.sca.versions import base_ecosystem

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "MAX_AGE_ENV",
    "OFFLINE_ENV",
    "URL_ENV",
    "FetchOutcome",
    "ensure_data",
    "stale_ecosystems",
]

OFFLINE_ENV = "BASTION_OFFLINE"
URL_ENV = "BASTION_OSV_URL"
MAX_AGE_ENV = "BASTION_OSV_MAX_AGE_DAYS"
DEFAULT_MAX_AGE_DAYS = 7


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What the preparation did: archives fetched, and lines for people."""

    fetched: tuple[UpdateResult, ...] = ()
    messages: tuple[str, ...] = ()


def _offline_from_env() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _max_age(value: int | None) -> int:
    if value is not None:
        return value
    text = os.environ.get(MAX_AGE_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_AGE_DAYS
    if not text.isdigit():
        raise DatabaseError(
            f"{MAX_AGE_ENV}={text!r} is not a number of days", hint=f"e.g. {MAX_AGE_ENV}=7"
        )
    return int(text)


def _tree_ecosystems(root: Path) -> list[str]:
    try:
        found = discover(root)
    except ManifestError:
        return []  # the gate itself reports the broken manifest, closed
    return sorted({base_ecosystem(d.ecosystem) for d in found.dependencies})


def stale_ecosystems(
    ecosystems: list[str], directory: Path, max_age_days: int, today: dt.date | None = None
) -> list[str]:
    """Those of ``ecosystems`` with no data in ``directory`` (or the snapshot) or too old."""
    return sorted(_data_dates(ecosystems, directory, max_age_days, today)[0])


def _data_dates(
    ecosystems: list[str], directory: Path, max_age_days: int, today: dt.date | None = None
) -> tuple[dict[str, str | None], bool]:
    """Stale ecosystems with the date of the data they have (None: none); bundled or not."""
    database = Database.open(directory)
    try:
        known = set(database.ecosystems())
        stale: dict[str, str | None] = {}
        for ecosystem in ecosystems:
            if ecosystem not in known:
                stale[ecosystem] = None
                continue
            meta = database.index(ecosystem).meta
            if meta.age_days(today) > max_age_days:
                stale[ecosystem] = meta.snapshot_date
        return stale, database.bundled
    finally:
        database.close()


def _cannot_fetch(wanted: dict[str, str | None], why: str, bundled: bool) -> str:
    """One message: what was not downloaded, what judges instead, what cannot be judged."""
    names = sorted(wanted)
    where = "the bundled snapshot" if bundled else "the local data"
    dated = [f"{e} with {where} of {d}" for e, d in sorted(wanted.items()) if d is not None]
    none = [e for e, d in sorted(wanted.items()) if d is None]
    parts = [f"vulnerability data for {', '.join(names)} was not downloaded ({why})"]
    if dated:
        parts.append(f"judging {', '.join(dated)}")
    if none:
        parts.append(
            f"no data for {', '.join(none)}: those packages cannot be judged and fail the sca gate"
        )
    return (
        "; ".join(parts) + f". Where the network reaches OSV run `bastion db update "
        f"--ecosystem {none[0] if none else names[0]}`; offline, `bastion db import PATH` "
        f"reads {IMPORT_LAYOUTS}"
    )


def ensure_data(
    root: Path,
    *,
    directory: Path | None = None,
    offline: bool = False,
    source: str | None = None,
    max_age_days: int | None = None,
    progress: Progress | None = None,
    say: Callable[[str], None] | None = None,
    timeout: float = 60.0,
) -> FetchOutcome:
    """Download the data ``root``'s dependencies need and lack (see the module docstring)."""
    target = directory or osv_dir()
    stale, bundled = _data_dates(_tree_ecosystems(root), target, _max_age(max_age_days))
    if not stale:
        return FetchOutcome()
    wanted = sorted(stale)
    if offline or _offline_from_env():
        why = f"offline: --offline or {OFFLINE_ENV}=1"
        return FetchOutcome(messages=(_cannot_fetch(stale, why, bundled),))
    url = source or os.environ.get(URL_ENV) or PUBLIC_SOURCE
    if say is not None:
        say(f"downloading OSV vulnerability data for {', '.join(wanted)} from {url}")
    try:
        results = update(wanted, mirror=url, directory=target, timeout=timeout, progress=progress)
    except UpdateError as exc:
        failed = {f.ecosystem: stale.get(f.ecosystem) for f in exc.failures}
        why = "; ".join(f"{f.ecosystem}: {f.error.message}" for f in exc.failures)
        return FetchOutcome(exc.results, (_cannot_fetch(failed, why, bundled),))
    except DatabaseError as exc:  # a malformed source URL: nothing was tried
        return FetchOutcome(messages=(_cannot_fetch(stale, exc.message, bundled),))
    return FetchOutcome(tuple(results))
