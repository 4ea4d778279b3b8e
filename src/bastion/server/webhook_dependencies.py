"""The packages a forge delivery's commit adds to its lock files, for ``dependencies.changed``.

The monitor's ``new-dependency`` rule alerts on a package a repository never depended on: a
typo-squatted or hijacked name slipped into a lock file in a pull request is seen before the
merge. The comparison is against the protected ref the delivery is judged by (a pull
request's base, else the default branch; for a push to the default branch, its tip before
this delivery's fetch), from their merge base, as :mod:`.webhook_changes` does for CI files.

Cheap on the hot path: one ``git diff`` limited to the files the SCA parsers read
(:data:`~bastion.scanners.sca.MANIFEST_PATHSPECS`); only when one changed are the manifests
of both sides read (an ``ls-tree`` and a ``cat-file`` each, one more ``cat-file`` per level
of requirements includes outside those directories) and parsed by the SCA gate's own
parsers. A package is added when its name is absent from the same manifest on the base
side: a version bump is not new. A manifest the parsers refuse on the new side is reported as
unreadable (its dependencies are unknown, which the rule alerts on); one refused on the base
side counts as empty, so everything the new side pins is new (fail closed).
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bastion.scanners.sca import (
    MANIFEST_PATHSPECS,
    InventoryItem,
    ManifestError,
    is_manifest,
    manifest_inventory,
)

__all__ = ["ManifestChange", "dependency_changes", "protected_tip"]

_MAX_MANIFESTS = 50  # a delivery touching more lists the first 50 (sorted): plenty to alert on
_MAX_BYTES = 20 * 1024 * 1024  # a lock file larger than this is not parsed on the hot path
_TIMEOUT = 30
_INCLUDABLE = (".txt", ".in")  # what a requirements file may include under any name
# A requirements file's -r/-c include: read from git too, wherever it lives (pip's syntax).
_INCLUDE = re.compile(rb"^\s*(?:-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+)(\S+)\s*$", re.M)
_MAX_INCLUDE_DEPTH = 5


@dataclass(frozen=True)
class ManifestChange:
    """One manifest the commit changed: the packages it adds, or why it could not be read."""

    lockfile: str
    added: tuple[InventoryItem, ...]
    unreadable: str | None = None

    def to_details(self) -> dict[str, object]:
        """The event's ``lockfile``, ``added`` (and ``unreadable``) fields."""
        details: dict[str, object] = {
            "lockfile": self.lockfile,
            "added": [
                {"ecosystem": i.ecosystem, "name": i.name, "version": i.version} for i in self.added
            ],
        }
        if self.unreadable is not None:
            details["unreadable"] = self.unreadable
        return details


def _git(
    repository: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        ["git", "-C", str(repository), *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=_TIMEOUT,
        env=env,
    )


def protected_tip(repository: Path, ref: str) -> str | None:
    """The commit ``ref`` names now (None when it names none)."""
    done = _git(repository, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    tip = done.stdout.decode().strip()
    return tip if done.returncode == 0 and tip else None


def _changed(repository: Path, reference: str | None, commit: str) -> list[str] | None:
    """Manifests ``commit`` adds or modifies since the merge base; None if git cannot tell."""
    if reference is None:
        return None
    args = ["diff", "--name-only", "--no-renames", "--diff-filter=AMT", "-z"]
    done = _git(repository, *args, f"{reference}...{commit}", "--", *MANIFEST_PATHSPECS)
    if done.returncode != 0:
        return None
    return sorted(p for p in done.stdout.decode().split("\0") if p)


def _listed(repository: Path, commit: str, directories: set[str] | None) -> list[str]:
    """Manifests at ``commit``: everywhere when ``directories`` is None; else the files of
    those directories that a parser reads or may include (``-r base.txt``, ``go.mod``)."""
    if directories is None:
        done = _git(repository, "ls-tree", "-r", "--name-only", "-z", commit)
        return sorted(p for p in _names(done) if is_manifest(p))
    found: list[str] = []
    nested = [f"{d}/" for d in sorted(directories) if d != "."]
    if nested:
        found += _names(_git(repository, "ls-tree", "--name-only", "-z", commit, "--", *nested))
    if "." in directories:  # the root: no pathspec names it alone, so list it apart
        found += _names(_git(repository, "ls-tree", "--name-only", "-z", commit))
    return sorted(p for p in found if is_manifest(p) or p.endswith(_INCLUDABLE))


def _names(done: subprocess.CompletedProcess[bytes]) -> list[str]:
    return [p for p in done.stdout.decode().split("\0") if p] if done.returncode == 0 else []


def _read_side(repository: Path, commit: str, paths: list[str], root: Path) -> None:
    """Write ``paths`` as they are at ``commit`` under ``root``, then the files their
    requirements includes name, level by level (at most 5 deep, as nested as anyone needs)."""
    for _ in range(_MAX_INCLUDE_DEPTH):
        paths = _includes(root, _materialize(repository, commit, paths, root))
        if not paths:
            return


def _includes(root: Path, written: list[str]) -> list[str]:
    """Repository paths the ``written`` requirements files include and ``root`` lacks."""
    wanted: set[str] = set()
    for rel in (p for p in written if p.endswith(_INCLUDABLE)):
        for match in _INCLUDE.finditer((root / rel).read_bytes()):
            target = match.group(1).decode(errors="replace")
            path = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
            if not path.startswith(("/", "../")) and not (root / path).exists():
                wanted.add(path)  # outside the tree: the parser refuses it, naming the line
    return sorted(wanted)


def _materialize(repository: Path, commit: str, paths: list[str], root: Path) -> list[str]:
    """Write each of ``paths`` as it is at ``commit`` under ``root`` (absent ones skipped);
    the paths written."""
    written: list[str] = []
    if not paths:
        return written
    query = "".join(f"{commit}:{p}\n" for p in paths).encode()
    out = _git(repository, "cat-file", "--batch", stdin=query).stdout
    at = 0
    for path in paths:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) != 3 or header[1] != b"blob":
            continue  # missing on this side, or not a file
        size = int(header[2])
        content, at = out[at : at + size], at + size + 1
        target = root / PurePosixPath(path)
        if ".." in PurePosixPath(path).parts or size > _MAX_BYTES:
            continue  # never written outside root; too large is read as absent
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.append(path)
    return written


def _inventory(root: Path, manifest: str) -> list[InventoryItem]:
    if not (root / manifest).is_file():
        raise ManifestError(f"absent or larger than {_MAX_BYTES} bytes", path=manifest)
    return manifest_inventory(root, manifest)


def _compare(base: Path, new: Path, manifest: str) -> ManifestChange | None:
    try:
        pinned = _inventory(new, manifest)
    except ManifestError as exc:
        return ManifestChange(manifest, (), exc.diagnostics())
    except ValueError as exc:  # a name no parser reads after all
        return ManifestChange(manifest, (), f"{manifest}: {exc}")
    try:
        before = {(i.ecosystem, i.name) for i in _inventory(base, manifest)}
    except (ManifestError, ValueError):
        before = set()  # absent or unreadable before: everything it pins now is new
    added = tuple(i for i in pinned if (i.ecosystem, i.name) not in before)
    return ManifestChange(manifest, added) if added else None


def dependency_changes(
    repository: Path, reference: str | None, commit: str
) -> tuple[list[ManifestChange], bool]:
    """The manifests ``commit`` changes against ``reference`` that add packages (or could
    not be read), and whether this is an initial inventory: with no reference (the first
    delivery of a repository) or none git can compare, every manifest at ``commit`` is
    listed with all it pins."""
    changed = _changed(repository, reference, commit)
    initial = changed is None
    if changed is None:
        changed = _listed(repository, commit, None)
    changed = changed[:_MAX_MANIFESTS]
    if not changed:
        return [], initial
    directories = {PurePosixPath(p).parent.as_posix() for p in changed}
    with tempfile.TemporaryDirectory(prefix="bastion-deps-") as scratch:
        base, new = Path(scratch, "base"), Path(scratch, "new")
        base.mkdir()
        new.mkdir()
        if reference is not None and not initial:
            _read_side(repository, reference, _listed(repository, reference, directories), base)
        _read_side(repository, commit, _listed(repository, commit, directories), new)
        found = [_compare(base, new, manifest) for manifest in changed]
    return [c for c in found if c is not None], initial
