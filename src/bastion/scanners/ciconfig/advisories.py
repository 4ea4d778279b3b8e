"""The dated list of compromised and archived actions, bundled and updatable.

    >>> db = ActionAdvisories.bundled()
    >>> db.updated, db.compromised_by("tj-actions/changed-files", "v45")[0].id
    ('2025-03-24', 'GHSA-mrrh-fwg8-r2c3')
    >>> db.compromised_by("tj-actions/changed-files", "v46.0.1")
    []

Like the OSV snapshot of ``bastion/sca``, a newer list can be installed without a release:
:func:`install_advisories` checks a file in the same format and copies it to
``$BASTION_HOME/ciconfig/actions.json``; the gate reads whichever of the two is newer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bastion.errors import GateError

__all__ = [
    "ADVISORIES_FORMAT",
    "ActionAdvisories",
    "CompromisedAction",
    "install_advisories",
    "installed_path",
]

ADVISORIES_FORMAT = "bastion-ciconfig-actions/1"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


def _version(text: str) -> tuple[int, int, int] | None:
    """A tag as (major, minor, patch); a missing part is "the latest", hence large."""
    match = _VERSION.match(text)
    if not match:
        return None
    return tuple(int(part) if part else 10**9 for part in match.groups())  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class CompromisedAction:
    """One incident: the action, its advisory, and which refs it reached."""

    action: str
    id: str
    aliases: tuple[str, ...]
    date: str
    summary: str
    shas: frozenset[str]
    tags: frozenset[str]
    tags_before: str | None

    def affects(self, ref: str) -> bool:
        """True when ``ref`` (a SHA or a tag) is one the incident reached."""
        if ref.lower() in self.shas or ref in self.tags:
            return True
        if self.tags_before is None:
            return False
        version, bound = _version(ref), _version(self.tags_before)
        return version is not None and bound is not None and version < bound


@dataclass(frozen=True, slots=True)
class ActionAdvisories:
    """The list as loaded: its date, incidents by action, archived repositories."""

    updated: str
    entries: tuple[CompromisedAction, ...]
    archived: frozenset[str]

    @classmethod
    def from_json(cls, data: Any, source: str) -> ActionAdvisories:
        """Check and read a list; :class:`GateError` naming ``source`` when it is malformed."""
        try:
            if data["format"] != ADVISORIES_FORMAT or not _DATE.match(data["updated"]):
                raise ValueError(f"not a {ADVISORIES_FORMAT} file with an 'updated' date")
            entries = tuple(_entry(item) for item in data["compromised"])
            archived = frozenset(str(name).lower() for name in data.get("archived", []))
        except (KeyError, TypeError, ValueError) as exc:
            raise GateError(
                f"bastion/ciconfig: action advisories {source} are malformed: {exc}",
                hint=f"the file must follow {ADVISORIES_FORMAT}",
            ) from None
        return cls(str(data["updated"]), entries, archived)

    @classmethod
    def bundled(cls) -> ActionAdvisories:
        """The list shipped with Bastion."""
        text = resources.files("bastion.scanners.ciconfig.data").joinpath(
            "compromised-actions.json"
        )
        return cls.from_json(json.loads(text.read_text(encoding="utf-8")), "(bundled)")

    @classmethod
    def newest(cls, home: Path | None) -> ActionAdvisories:
        """The bundled list, or the installed one under ``home`` when that one is newer."""
        bundled = cls.bundled()
        path = installed_path(home) if home else None
        if path is None or not path.is_file():
            return bundled
        try:
            installed = cls.from_json(json.loads(path.read_text(encoding="utf-8")), str(path))
        except (OSError, json.JSONDecodeError) as exc:
            raise GateError(f"bastion/ciconfig: cannot read {path}: {exc}") from None
        return installed if installed.updated > bundled.updated else bundled

    def compromised_by(self, action: str, ref: str) -> list[CompromisedAction]:
        """Incidents of ``action`` (owner/repo, any case) that reached ``ref``."""
        name = action.lower()
        return [e for e in self.entries if e.action == name and e.affects(ref)]


def _entry(item: Mapping[str, Any]) -> CompromisedAction:
    if not _DATE.match(item["date"]):
        raise ValueError(f"bad date {item['date']!r}")
    return CompromisedAction(
        action=str(item["action"]).lower(),
        id=str(item["id"]),
        aliases=tuple(str(a) for a in item.get("aliases", [])),
        date=str(item["date"]),
        summary=str(item.get("summary", "")),
        shas=frozenset(str(s).lower() for s in item.get("shas", [])),
        tags=frozenset(str(t) for t in item.get("tags", [])),
        tags_before=item.get("tags_before"),
    )


def installed_path(home: Path) -> Path:
    """Where an installed list lives under a Bastion home."""
    return home / "ciconfig" / "actions.json"


def install_advisories(source: Path, home: Path) -> ActionAdvisories:
    """Check ``source`` and install it as the list the gate reads (if newer than bundled)."""
    try:
        raw = source.read_text(encoding="utf-8")
        data = json.loads(raw)
    except (OSError, json.JSONDecodeError) as exc:
        raise GateError(f"bastion/ciconfig: cannot read {source}: {exc}") from None
    advisories = ActionAdvisories.from_json(data, str(source))
    target = installed_path(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(raw, encoding="utf-8")
    return advisories
