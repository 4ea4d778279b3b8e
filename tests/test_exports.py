"""Each package's public names are its ``__all__``, and other packages use only those.

Modelled on httpx's ``test_exported_members``: every name a package exports exists, and a
cross-package ``from bastion.<pkg>.<module> import X`` (or ``from bastion.<pkg> import X``)
names something that package re-exports. Nothing is allow-listed: a new violation is fixed
by importing through the package or by adding the name to its ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import bastion

SRC = Path(bastion.__file__).resolve().parent.parent
PACKAGES = sorted(
    ".".join(init.parent.relative_to(SRC).parts)
    for init in (SRC / "bastion").rglob("__init__.py")
    if "__pycache__" not in init.parts
)


def _package_of(module: str) -> str:
    """The nearest package containing ``module`` (``module`` itself if it is one)."""
    parts = module.split(".")
    while not (SRC.joinpath(*parts) / "__init__.py").is_file():
        parts.pop()
    return ".".join(parts)


def _cross_package_imports() -> Iterator[tuple[str, int, str, str]]:
    """(file, line, module, name) for each import of another top-level package's name."""
    for path in sorted((SRC / "bastion").rglob("*.py")):
        importer = path.relative_to(SRC).parts
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            target = node.module.split(".")
            if target[0] != "bastion" or len(target) < 2:
                continue
            if not (SRC / "bastion" / target[1] / "__init__.py").is_file():
                continue  # a root module (errors, home, trust, ...) is its own public surface
            if len(importer) > 2 and importer[1] == target[1]:
                continue  # inside one package, modules use each other freely
            for alias in node.names:
                yield str(path.relative_to(SRC)), node.lineno, node.module, alias.name


def test_packages_are_found() -> None:
    assert {"bastion.engine", "bastion.scanners.sca", "bastion.store"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_exported_names_exist(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", [])
    assert len(exported) == len(set(exported)), f"{package}.__all__ repeats a name"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"{package}.__all__ names what it does not define: {missing}"


def test_cross_package_imports_go_through_all() -> None:
    bypasses = []
    for where, line, module, name in _cross_package_imports():
        package = _package_of(module)
        if name not in getattr(importlib.import_module(package), "__all__", ()):
            bypasses.append(f"{where}:{line}: {module}.{name} is not in {package}.__all__")
    assert bypasses == [], "\n".join(bypasses)
