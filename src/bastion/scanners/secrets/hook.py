"""The git pre-commit hook that runs the secrets gate on staged changes.

``install_hook`` writes ``pre-commit`` into the repository's hooks directory (honouring
``core.hooksPath``). A hook that is already there and is not Bastion's is renamed to
``pre-commit.bastion-chained`` and run first; if it fails, the commit stops there. The hook
calls the ``bastion`` executable by the absolute path recorded at install time, so it does not
depend on the committer's ``PATH``. Installing twice rewrites Bastion's hook in place;
``uninstall_hook`` removes it and puts the chained hook back.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bastion.errors import ToolMissingError, UsageError

__all__ = ["HookResult", "find_bastion", "hooks_dir", "install_hook", "uninstall_hook"]

MARKER = "# bastion-managed pre-commit hook"
CHAINED = "pre-commit.bastion-chained"
_TEMPLATE = """#!/bin/sh
{marker} (written by `bastion hook install`; remove with `bastion hook uninstall`)
# Runs Bastion's secrets gate on the staged changes; a finding stops the commit.
hook_dir=$(dirname "$0")
if [ -x "$hook_dir/{chained}" ]; then
    "$hook_dir/{chained}" "$@" || exit $?
fi
exec {bastion} scan --gate secrets --staged
"""


@dataclass(frozen=True, slots=True)
class HookResult:
    """Where the hook is, and the existing hook it chains to, if any."""

    hook: Path
    chained: Path | None
    updated: bool


def hooks_dir(repo: Path) -> Path:
    """The hooks directory git uses for ``repo`` (``core.hooksPath`` included)."""
    git = shutil.which("git")
    if git is None:
        raise ToolMissingError("git is not installed", hint="install git to use commit hooks")
    proc = subprocess.run(
        [git, "-C", str(repo), "rev-parse", "--path-format=absolute", "--git-path", "hooks"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise UsageError(
            f"{repo} is not a git repository", hint="pass --repo with a repository's path"
        )
    return Path(proc.stdout.strip())


def find_bastion() -> Path:
    """The absolute path of the ``bastion`` executable of this installation."""
    import sys

    candidates = [Path(sys.executable).parent / "bastion", Path(shutil.which("bastion") or "")]
    for candidate in candidates:
        if candidate.name == "bastion" and os.access(candidate, os.X_OK) and candidate.is_file():
            return candidate.resolve()
    raise ToolMissingError(
        "cannot find the bastion executable to call from the hook",
        hint="install Bastion (pip install bastion-ci) or pass --bastion PATH",
    )


def _is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def install_hook(repo: Path, bastion: Path | None = None) -> HookResult:
    """Install (or refresh) the pre-commit hook in ``repo``; chain an existing hook."""
    exe = bastion or find_bastion()
    if not exe.is_absolute():
        raise UsageError(f"the bastion path {exe} must be absolute")
    directory = hooks_dir(repo)
    directory.mkdir(parents=True, exist_ok=True)
    hook, chained = directory / "pre-commit", directory / CHAINED
    updated = hook.exists() and _is_ours(hook)
    if (hook.exists() or hook.is_symlink()) and not updated:
        if chained.exists() or chained.is_symlink():
            raise UsageError(
                f"{hook} is not Bastion's and {chained} already exists",
                hint="merge the two hooks by hand, then run `bastion hook install` again",
            )
        hook.rename(chained)
    hook.write_text(
        _TEMPLATE.format(marker=MARKER, chained=CHAINED, bastion=shlex.quote(str(exe))),
        encoding="utf-8",
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return HookResult(hook, chained if chained.exists() else None, updated)


def uninstall_hook(repo: Path) -> HookResult:
    """Remove Bastion's hook from ``repo`` and restore the hook it chained, if any."""
    directory = hooks_dir(repo)
    hook, chained = directory / "pre-commit", directory / CHAINED
    if not _is_ours(hook):
        raise UsageError(f"no Bastion pre-commit hook in {directory}", hint="nothing to remove")
    hook.unlink()
    restored = None
    if chained.exists() or chained.is_symlink():
        chained.rename(hook)
        restored = hook
    return HookResult(hook, restored, updated=False)
