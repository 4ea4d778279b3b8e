"""Where state lives.

- A repository's local-run state (database, logs, artifacts): ``<repo>/.bastion/state/``,
  kept git-ignored by Bastion itself and excluded from every workspace.
- What belongs to the user (keys, vault, tool environments, vulnerability database):
  ``$BASTION_HOME`` (default ``~/.local/share/bastion``), which no job can see.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bastion.errors import UsageError
from bastion.home import ensure_bastion_home

__all__ = [
    "STATE_DIR_NAME",
    "bastion_home",
    "default_database_url",
    "find_repo_root",
    "state_dir",
]

STATE_DIR_NAME = ".bastion/state"


# Not a second definition: the name the store's callers used before bastion.home had
# ensure_bastion_home (engine/local_run.py and cli/runs.py still do, in edits under way). It
# always created the folder, so it is that function; new code imports it from bastion.home.
bastion_home = ensure_bastion_home


def find_repo_root(start: Path | None = None) -> Path:
    """The git top-level directory containing ``start``, or ``start`` itself outside git.

    A directory that has its own ``.bastion/`` counts as a project root even inside a larger
    git repository (the bundled examples are such projects).
    """
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".bastion").is_dir() or (candidate / ".git").exists():
            return candidate
    return here


def state_dir(repo_root: Path) -> Path:
    """``<repo>/.bastion/state``, created and git-ignored."""
    path = repo_root / STATE_DIR_NAME
    for part in (repo_root / ".bastion", path):
        # The repository is untrusted: a `.bastion` or `.bastion/state` that is a link (or a
        # file) would make Bastion, often root, write its database and logs wherever it points.
        if part.is_symlink() or (part.exists() and not part.is_dir()):
            raise UsageError(
                f"{part} is a symbolic link or not a directory; Bastion keeps its state there",
                hint=f"remove {part} (it is created by Bastion and git-ignored)",
            )
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Bastion's local state: never commit it.\n*\n")
    return path


def default_database_url(repo_root: Path | None = None) -> str:
    """``$BASTION_DATABASE_URL`` or the SQLite file in the repository's state directory."""
    configured = os.environ.get("BASTION_DATABASE_URL")
    if configured:
        return configured
    root = repo_root or find_repo_root()
    return f"sqlite:///{state_dir(root) / 'bastion.db'}"


def git_toplevel(path: Path) -> Path | None:
    """The enclosing git work tree, if any."""
    result = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    return Path(result.stdout.strip()) if result.returncode == 0 else None
