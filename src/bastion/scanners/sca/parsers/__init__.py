"""Finding and reading every dependency manifest under a tree.

    >>> from pathlib import Path
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "requirements.txt").write_text("requests==2.19.1\\n")
    >>> [(d.name, d.version, d.path) for d in discover(root).dependencies]
    [('requests', '2.19.1', 'requirements.txt')]

One module per format; each returns :class:`~bastion.scanners.sca.model.Dependency` values
naming file, line and relation, and raises
:class:`~bastion.scanners.sca.errors.ManifestError` (file and line) for a malformed file,
never an empty result. A ``pyproject.toml`` is read only when no Python lock file sits beside
it: the lock's pins are what gets installed. Requirements files are found by name
(``*requirements*.txt``, ``constraints*.txt``, their ``.in`` inputs, any ``.txt`` in a
``requirements/`` folder) and by following their ``-r``/``-c`` includes. Manifests found and
not judged (no parser, no lock file) are listed with why (:mod:`.unjudged`).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bastion.scanners.sca.model import Dependency
from bastion.scanners.sca.parsers.cargo import parse_cargo_lock
from bastion.scanners.sca.parsers.composer import parse_composer_lock
from bastion.scanners.sca.parsers.golang import parse_go_mod, parse_go_sum
from bastion.scanners.sca.parsers.installed import parse_installed
from bastion.scanners.sca.parsers.npm import parse_package_lock
from bastion.scanners.sca.parsers.pnpm import parse_pnpm_lock
from bastion.scanners.sca.parsers.pylocks import parse_pipfile_lock, parse_toml_lock
from bastion.scanners.sca.parsers.pyproject import parse_pyproject
from bastion.scanners.sca.parsers.requirements import parse_requirements
from bastion.scanners.sca.parsers.ruby import parse_gemfile_lock
from bastion.scanners.sca.parsers.unjudged import unjudged_reason
from bastion.scanners.sca.parsers.yarn import parse_yarn_lock

__all__ = [
    "MANIFEST_PATHSPECS",
    "PARSED_ECOSYSTEMS",
    "Discovery",
    "discover",
    "is_manifest",
    "parse_manifest",
]

# Every ecosystem whose manifests or lock files some parser here reads.
PARSED_ECOSYSTEMS = ("PyPI", "npm", "Go", "crates.io", "RubyGems", "Packagist")

# Folders holding other people's copies or tool state, never the project's own manifests.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "vendor",
        "target",
        "dist",
        "build",
    }
)
_PY_LOCKS = ("poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock")
_REQUIREMENTS = re.compile(r"^(?:.*requirements.*|constraints.*)\.(?:txt|in)$")

_Parser = Callable[[Path, str], list[Dependency]]
_BY_NAME: dict[str, _Parser] = {
    "poetry.lock": parse_toml_lock,
    "pdm.lock": parse_toml_lock,
    "uv.lock": parse_toml_lock,
    "Pipfile.lock": parse_pipfile_lock,
    "pyproject.toml": parse_pyproject,
    "package-lock.json": parse_package_lock,
    "npm-shrinkwrap.json": parse_package_lock,
    "yarn.lock": parse_yarn_lock,
    "pnpm-lock.yaml": parse_pnpm_lock,
    "go.mod": parse_go_mod,
    "Cargo.lock": parse_cargo_lock,
    "Gemfile.lock": parse_gemfile_lock,
    "composer.lock": parse_composer_lock,
}


# Git pathspecs of every file a parser here reads, at any depth: what a diff must touch for
# the dependencies it pins to change (the webhook intake asks git for only these).
MANIFEST_PATHSPECS = tuple(
    f":(glob)**/{pattern}"
    for pattern in (
        *_BY_NAME,
        "go.sum",
        "*requirements*.txt",
        "*requirements*.in",
        "constraints*.txt",
        "constraints*.in",
        "requirements/*.txt",
    )
)


@dataclass
class Discovery:
    """Manifests found (repository-relative), the dependencies they name, and those not judged.

    ``not_judged`` pairs a manifest's path with why the gate cannot judge it.
    """

    manifests: list[str] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    not_judged: list[tuple[str, str]] = field(default_factory=list)


def _is_requirements(path: Path) -> bool:
    # requirements/base.txt, requirements/prod.txt: the folder names them, not the file.
    return bool(_REQUIREMENTS.match(path.name)) or (
        path.parent.name == "requirements" and path.suffix == ".txt"
    )


def is_manifest(rel: str) -> bool:
    """Whether a parser here reads the repository-relative file ``rel``."""
    path = Path(rel)
    return path.name in _BY_NAME or path.name == "go.sum" or _is_requirements(path)


def parse_manifest(path: Path, root: Path) -> list[Dependency]:
    """Parse one manifest by its file name; ``ValueError`` if the name is not one we read."""
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    if _is_requirements(path):
        return parse_requirements(path, root)
    if path.name == "go.sum":
        gomod = path.parent / "go.mod"
        known = (
            frozenset(d.name for d in parse_go_mod(gomod, rel)) if gomod.is_file() else frozenset()
        )
        return parse_go_sum(path, rel, known)
    parser = _BY_NAME.get(path.name)
    if parser is None:
        raise ValueError(f"{path.name} is not a manifest this gate reads")
    return parser(path, rel)


def _wanted(path: Path, names: set[str]) -> bool:
    if path.name == "pyproject.toml":
        return not any(lock in names for lock in _PY_LOCKS)
    return path.name in _BY_NAME or path.name == "go.sum" or _is_requirements(path)


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) or rel.startswith(p.rstrip("/") + "/") for p in patterns)


def discover(root: Path, installed: Path | None = None, exclude: tuple[str, ...] = ()) -> Discovery:
    """Every manifest under ``root`` (sorted, deterministic) and its dependencies.

    ``exclude`` holds repository-relative globs or folder prefixes (``tests/data``) to skip.
    """
    found = Discovery()
    seen: set[tuple[str, int | None, str, str | None]] = set()
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory).relative_to(root).as_posix()
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS and not _excluded(f"{here}/{d}".removeprefix("./"), exclude)
        )
        names = set(filenames)
        for name in sorted(names):
            path = Path(directory) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink() or _excluded(rel, exclude):
                continue
            if not _wanted(path, names):
                reason = unjudged_reason(path, root, frozenset(names))
                if reason is not None:
                    found.not_judged.append((rel, reason))
                continue
            found.manifests.append(rel)
            for dependency in parse_manifest(path, root):
                # A requirements file included by another is parsed twice; count it once.
                key = (dependency.path, dependency.line, dependency.name, dependency.version)
                if key not in seen:
                    seen.add(key)
                    found.dependencies.append(dependency)
    if installed is not None:
        label = (
            installed.resolve().relative_to(root.resolve()).as_posix()
            if installed.resolve().is_relative_to(root.resolve())
            else installed.name
        )
        found.manifests.append(label)
        found.dependencies.extend(parse_installed(installed, label))
    return found
