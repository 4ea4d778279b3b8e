"""Manifests the gate finds and cannot judge, and why: said, never silently skipped.

    >>> unjudged_reason(Path("pom.xml"), Path("."), frozenset({"pom.xml"}))
    'no Maven parser yet'

A manifest without a parser (Maven, Gradle, NuGet...), or one that names ranges whose
installed versions only a lock file beside it would give (``package.json`` without
``package-lock.json``, ``Gemfile`` without ``Gemfile.lock``), is listed in the gate's report
as not judged. It is a notice, not a finding: blocking on it would block every repository
that keeps a ``pom.xml`` for a tool, and saying nothing would let people believe it judged.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["unjudged_reason"]

# File names with no parser here, and the ecosystem they belong to.
_NO_PARSER: dict[str, str] = {
    "pom.xml": "Maven",
    "build.gradle": "Gradle",
    "build.gradle.kts": "Gradle",
    "gradle.lockfile": "Gradle",
    "packages.config": "NuGet",
    "packages.lock.json": "NuGet",
    "Directory.Packages.props": "NuGet",
    "mix.lock": "Hex (Elixir)",
    "pubspec.lock": "Pub (Dart)",
    "Podfile.lock": "CocoaPods",
    "Package.resolved": "SwiftPM",
    "bun.lock": "Bun",
    "bun.lockb": "Bun",
    "conan.lock": "Conan",
}
_NO_PARSER_SUFFIXES: dict[str, str] = {".csproj": "NuGet", ".fsproj": "NuGet", ".vbproj": "NuGet"}
# Manifests naming ranges, and the lock files (beside them or in a parent folder, for
# workspaces) that say what gets installed.
_NEEDS_LOCK: dict[str, tuple[str, ...]] = {
    "package.json": ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml"),
    "Cargo.toml": ("Cargo.lock",),
    "Gemfile": ("Gemfile.lock",),
    "composer.json": ("composer.lock",),
    "Pipfile": ("Pipfile.lock",),
}
_PYTHON_CODE = {
    "setup.py": "dependencies declared in Python code are not read",
    "setup.cfg": "install_requires in setup.cfg is not read",
}


def _lock_above(directory: Path, root: Path, locks: tuple[str, ...]) -> bool:
    here = directory
    while True:
        if any((here / lock).is_file() for lock in locks):
            return True
        if here in (root, here.parent):
            return False
        here = here.parent


def unjudged_reason(path: Path, root: Path, names: frozenset[str]) -> str | None:
    """Why the file at ``path`` (beside ``names``) is a manifest the gate cannot judge, if it is."""
    name = path.name
    ecosystem = _NO_PARSER.get(name) or _NO_PARSER_SUFFIXES.get(path.suffix)
    if ecosystem is not None:
        return f"no {ecosystem} parser yet"
    locks = _NEEDS_LOCK.get(name)
    if locks is not None:
        if any(lock in names for lock in locks) or _lock_above(path.parent, root, locks):
            return None
        return (
            f"no lock file ({' or '.join(locks)}) beside it or above it: "
            "the versions installed are not known"
        )
    reason = _PYTHON_CODE.get(name)
    if reason is not None and "pyproject.toml" not in names:
        return f"{reason}; pin them in a requirements file or a lock file"
    return None
