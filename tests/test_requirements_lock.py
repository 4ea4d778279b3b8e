"""The lock files hold the whole closure, and every install from them never resolves.

Regression: on 2026-12-07 a fresh `make demo` failed because pip, installing from
`requirements.lock` *with* dependency resolution, picked a coverage release newer than the
lock for pytest-cov's `coverage[toml]`. Installs now use `--no-deps`, which is only right when
every requirement of every locked distribution (extras included) is locked too: proven here
against the distributions actually installed for this Python and platform.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from bastion.scanners.tools import Tool, ToolEnvironment

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
TOOL_SETS = ROOT / "src" / "bastion" / "scanners" / "tools" / "requirements"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)

Requires = Callable[[NormalizedName], Iterable[str]]


def locked_pins(text: str) -> dict[NormalizedName, Version]:
    """``name==version`` lines of a hashed requirement file."""
    return {canonicalize_name(m[1]): Version(m[2]) for m in _PIN.finditer(text)}


def closure_gaps(
    pins: dict[NormalizedName, Version],
    roots: Iterable[tuple[str, frozenset[str]]],
    requires: Requires,
) -> list[str]:
    """Every requirement reachable from ``roots`` that the pins do not satisfy."""
    gaps: list[str] = []
    seen: set[tuple[NormalizedName, str]] = set()
    queue = [(canonicalize_name(name), extras) for name, extras in roots]
    while queue:
        name, extras = queue.pop()
        for extra in ("", *sorted(extras)):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for line in requires(name):
                req = Requirement(line)
                if req.marker is not None and not req.marker.evaluate({"extra": extra}):
                    continue
                dep = canonicalize_name(req.name)
                if dep not in pins:
                    gaps.append(f"{name}[{extra}] needs {req}: not locked")
                elif not req.specifier.contains(pins[dep], prereleases=True):
                    gaps.append(f"{name}[{extra}] needs {req}: locked {pins[dep]}")
                else:
                    queue.append((dep, frozenset(req.extras)))
    return gaps


def _installed(paths: list[str] | None) -> Requires:
    def requires(name: NormalizedName) -> Iterable[str]:
        dists = metadata.distributions() if paths is None else metadata.distributions(path=paths)
        found = [d for d in dists if canonicalize_name(d.name) == name]
        if not found:
            raise AssertionError(f"{name} is locked or required but not installed")
        return found[0].requires or []

    return requires


def test_the_checker_finds_an_unlocked_extra() -> None:
    """The check itself: pytest-cov's `coverage[toml]` with coverage missing or too old."""
    requires: dict[str, list[str]] = {
        "pytest-cov": ["coverage[toml]>=7.10.6", "pytest>=7"],
        "coverage": ['tomli; python_full_version <= "3.11.0a6" and extra == "toml"'],
        "pytest": [],
        "tomli": [],
    }
    pins = locked_pins("pytest-cov==7.1.0 \\\npytest==9.0.0\n")
    missing = closure_gaps(pins, [("pytest-cov", frozenset())], lambda n: requires[n])
    assert missing == ["pytest-cov[] needs coverage[toml]>=7.10.6: not locked"]
    old = locked_pins("pytest-cov==7.1.0\npytest==9.0.0\ncoverage==7.0\n")
    assert closure_gaps(old, [("pytest-cov", frozenset())], lambda n: requires[n]) == [
        "pytest-cov[] needs coverage[toml]>=7.10.6: locked 7.0"
    ]
    # a marker that does not apply to this Python asks for nothing
    pins = locked_pins("pytest-cov==7.1.0\npytest==9.0.0\ncoverage==7.17.3\n")
    assert closure_gaps(pins, [("pytest-cov", frozenset())], lambda n: requires[n]) == []


def test_the_project_lock_is_its_whole_closure() -> None:
    pins = locked_pins(LOCK.read_text())
    assert canonicalize_name("coverage") in pins
    roots = [("bastion-ci", frozenset({"dev"}))]
    assert closure_gaps(pins, roots, _installed(None)) == []
    # and what is installed is exactly what is locked
    for name, version in pins.items():
        assert Version(metadata.version(name)) == version, name


@pytest.mark.parametrize("tool", list(Tool))
def test_each_tool_set_is_its_whole_closure(tool: Tool) -> None:
    env = ToolEnvironment.for_tool(tool)
    if not env.is_installed():
        pytest.fail(f"{tool.value} is not installed at {env.path}: run `make tools`")
    site = [str(p) for p in env.path.glob("lib/python3*/site-packages")]
    pins = locked_pins(env.spec.requirements.decode())
    roots = [(name, frozenset[str]()) for name in _roots(TOOL_SETS / f"{tool.value}.in")]
    assert closure_gaps(pins, roots, _installed(site)) == []


def _roots(source: Path) -> list[str]:
    lines = (line.split("#")[0].strip() for line in source.read_text().splitlines())
    return [Requirement(line).name for line in lines if line]


def test_every_install_from_a_lock_never_resolves() -> None:
    """`--no-deps` on every `pip install -r <lock>`, then `pip check`."""
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line and " -r " in line]
    assert installs
    for line in installs:
        assert "--no-deps" in line, line
        assert "--require-hashes" in line, line
    assert "pip check" in makefile
    installer = (ROOT / "src" / "bastion" / "scanners" / "tools" / "installer.py").read_text()
    assert '"--no-deps"' in installer
    assert '"check"' in installer


def test_lock_targets_this_python() -> None:
    assert sys.version_info[:2] == (3, 11), "the lock is compiled for Python 3.11"
