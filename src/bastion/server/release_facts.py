"""What a deploy ships, beyond its artifacts: the people behind the commits since the last
deploy (four-eyes), pipeline-file changes in that range, and the SBOM diff against what is
deployed now. Pure functions over git and CycloneDX data; nothing here decides."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

__all__ = ["SbomDiff", "commit_people", "components_of", "config_changes", "sbom_diff"]

_CONFIG = (".bastion", ".bastion.yml", "bastion.yml")
_MAX_COMMITS = 5000


def _range(commit: str, since: str | None) -> list[str]:
    return [f"{since}..{commit}"] if since else [commit]


def _git(path: Path, *args: str) -> str | None:
    result = subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=False, timeout=60
    )
    return result.stdout if result.returncode == 0 else None


def commit_people(path: Path, commit: str, since: str | None) -> frozenset[str] | None:
    """Names and e-mail addresses (and their local parts), lower-case, of every author and
    committer of the commits in ``since..commit`` (all of ``commit``'s history without a
    deploy yet); None when git cannot tell (the caller refuses: fails closed)."""
    out = _git(
        path,
        "log",
        f"--max-count={_MAX_COMMITS}",
        "--format=%an%x00%ae%x00%cn%x00%ce",
        *_range(commit, since),
        "--",
    )
    if out is None:
        return None
    people: set[str] = set()
    for line in out.splitlines():
        for field in line.split("\0"):
            value = field.strip().lower()
            if value:
                people.add(value)
                if "@" in value:
                    people.add(value.split("@", 1)[0])
    return frozenset(people)


def config_changes(path: Path, commit: str, since: str | None) -> list[str] | None:
    """Pipeline and policy files changed in ``since..commit`` (None: git could not tell)."""
    if since is None:
        return []
    out = _git(path, "diff", "--name-only", f"{since}..{commit}", "--", *_CONFIG)
    return None if out is None else sorted(line for line in out.splitlines() if line)


def components_of(envelope: bytes) -> dict[str, str]:
    """``name -> version`` of the CycloneDX SBOM inside a DSSE envelope (in-toto statement);
    ValueError for anything else."""
    try:
        outer = json.loads(envelope)
        statement = json.loads(base64.b64decode(outer["payload"], validate=True))
        components = statement["predicate"].get("components", [])
        return {str(c["name"]): str(c.get("version", "")) for c in components}
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a CycloneDX attestation: {exc}") from exc


@dataclass(frozen=True)
class SbomDiff:
    """Packages added, removed, upgraded (old, new) and otherwise changed versions."""

    added: tuple[tuple[str, str], ...]
    removed: tuple[tuple[str, str], ...]
    upgraded: tuple[tuple[str, str, str], ...]
    changed: tuple[tuple[str, str, str], ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.upgraded or self.changed)


def _newer(old: str, new: str) -> bool:
    try:
        return Version(new) > Version(old)
    except InvalidVersion:
        return False


def sbom_diff(deployed: Mapping[str, str], shipping: Mapping[str, str]) -> SbomDiff:
    """What ``shipping`` changes against ``deployed`` (``{}``: nothing deployed yet)."""
    both = sorted(set(deployed) & set(shipping))
    moved = [(n, deployed[n], shipping[n]) for n in both if deployed[n] != shipping[n]]
    return SbomDiff(
        tuple((n, shipping[n]) for n in sorted(set(shipping) - set(deployed))),
        tuple((n, deployed[n]) for n in sorted(set(deployed) - set(shipping))),
        tuple(m for m in moved if _newer(m[1], m[2])),
        tuple(m for m in moved if not _newer(m[1], m[2])),
    )
