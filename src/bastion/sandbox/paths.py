"""Which host paths a sandbox may see, and which it must never see.

Two rules, both fail-closed:

* A bind (``read_only_binds`` or ``rootfs``) is refused when it is ``/``, when it contains a
  denied directory (``/root``, ``/home``, ``/var``, the Bastion state directory, or a path
  the engine names), when it lies inside the state directory or a denied path, or inside
  ``/proc``, ``/sys``, ``/dev`` or ``/run`` (a container engine's socket there is root), or
  when one of its components names a key store (``.ssh``, ``.gnupg``...). A subpath of a denied
  directory (``/root/.pyenv/versions/3.11.7``) is fine: only that subtree becomes visible.
* Inside ``/etc`` (bound read-only as a whole so that tools find their configuration), every
  entry that other users may not read on the host is hidden, plus a fixed list of secrets
  (shadow files, SSH host keys, sudoers) whatever their mode. Scanning the modes catches what
  no list foresees (a database's ``pg_hba.conf``, a broker's password file) and costs a few
  milliseconds once per process.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bastion.errors import SandboxError
from bastion.host_paths import ALWAYS_DENIED, NEVER_INSIDE, SECRET_DIR_NAMES

__all__ = [
    "ALWAYS_DENIED",
    "NEVER_INSIDE",
    "SECRET_DIR_NAMES",
    "HiddenEntry",
    "check_bind",
    "hidden_etc_entries",
    "resolve_working_directory",
]

# Secrets hidden even if the host made them world-readable by mistake.
_ETC_SECRETS = (
    "shadow",
    "shadow-",
    "gshadow",
    "gshadow-",
    "sudoers",
    "sudoers.d",
    "ssl/private",
    "security/opasswd",
)


@dataclass(frozen=True, slots=True)
class HiddenEntry:
    """A path inside ``/etc`` to cover: a directory gets an empty tmpfs, a file /dev/null."""

    path: Path
    is_dir: bool


def _is_within(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def check_bind(
    path: Path, *, denied: Sequence[Path], what: str, allow_inside_denied: bool = False
) -> Path:
    """Return ``path`` resolved if a sandbox may see it, else raise :class:`SandboxError`.

    ``allow_inside_denied`` lets a path lie inside an engine-named denied path (a workspace
    under the state directory's run area) while still refusing one that contains it.
    """
    if not path.is_absolute():
        raise SandboxError(f"{what} {path} is not an absolute path", hint="give a full path")
    resolved = Path(os.path.realpath(path))
    if not resolved.exists():
        raise SandboxError(f"{what} {path} does not exist", hint="create it or drop the bind")
    if resolved == Path("/"):
        raise SandboxError(f"{what} {path} would expose the whole host filesystem")
    for deny in (*ALWAYS_DENIED, *denied):
        deny_resolved = Path(os.path.realpath(deny))
        if _is_within(deny_resolved, resolved):
            raise SandboxError(
                f"{what} {path} contains {deny}, which no job may see",
                hint=f"bind only the subdirectory the job needs, not {deny} itself",
            )
        inside = _is_within(resolved, deny_resolved)
        if deny in denied and inside and not allow_inside_denied:
            raise SandboxError(f"{what} {path} lies inside {deny}, which no job may see")
    for tree in NEVER_INSIDE:
        if _is_within(resolved, tree):
            raise SandboxError(f"{what} {path} lies in {tree}, which no job may reach into")
    secret = SECRET_DIR_NAMES.intersection(resolved.parts)
    if secret:
        raise SandboxError(f"{what} {path} goes through {sorted(secret)[0]}, a key store")
    return resolved


def resolve_working_directory(working_directory: str) -> PurePosixPath:
    """The absolute directory inside the sandbox, refusing anything outside /workspace."""
    relative = PurePosixPath(working_directory)
    if relative.is_absolute() or "\x00" in working_directory:
        raise SandboxError(
            f"working directory {working_directory!r} must be relative to the workspace"
        )
    parts: list[str] = []
    for part in relative.parts:
        if part == "..":
            if not parts:
                raise SandboxError(
                    f"working directory {working_directory!r} escapes the workspace",
                    hint="use a path inside the repository",
                )
            parts.pop()
        elif part != ".":
            parts.append(part)
    return PurePosixPath("/workspace", *parts)


def _unreadable_by_others(mode: int) -> bool:
    if stat.S_ISDIR(mode):
        return (mode & 0o005) != 0o005
    if stat.S_ISREG(mode):
        return not mode & 0o004
    return False


def _scan(directory: Path, found: list[HiddenEntry]) -> None:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError:
            continue
        if _unreadable_by_others(mode):
            found.append(HiddenEntry(Path(entry.path), stat.S_ISDIR(mode)))
        elif stat.S_ISDIR(mode):
            _scan(Path(entry.path), found)


@functools.lru_cache(maxsize=4)
def hidden_etc_entries(etc: Path = Path("/etc")) -> tuple[HiddenEntry, ...]:
    """Entries of ``etc`` a job must not see; cached per process (``/etc`` rarely changes)."""
    found: list[HiddenEntry] = []
    _scan(etc, found)
    seen = {entry.path for entry in found}
    for name in _ETC_SECRETS:
        candidate = etc / name
        if candidate in seen or candidate.is_symlink() or not candidate.exists():
            continue
        found.append(HiddenEntry(candidate, candidate.is_dir()))
    ssh = etc / "ssh"
    if ssh.is_dir():
        for key in sorted(ssh.glob("*key*")):
            if key not in seen and not key.is_symlink():
                found.append(HiddenEntry(key, key.is_dir()))
    return tuple(_drop_nested(found))


def _drop_nested(entries: Iterable[HiddenEntry]) -> list[HiddenEntry]:
    """Keep only outermost entries: a hidden directory already hides what it holds."""
    ordered = sorted(entries, key=lambda entry: entry.path.parts)
    kept: list[HiddenEntry] = []
    for entry in ordered:
        if kept and kept[-1].is_dir and _is_within(entry.path, kept[-1].path):
            continue
        kept.append(entry)
    return kept
