"""The runnable examples in the SCA modules' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

MODULES = [
    "bastion.scanners.sca",
    "bastion.scanners.sca.archive",
    "bastion.scanners.sca.cvss",
    "bastion.scanners.sca.database",
    "bastion.scanners.sca.gate",
    "bastion.scanners.sca.index",
    "bastion.scanners.sca.inventory",
    "bastion.scanners.sca.matcher",
    "bastion.scanners.sca.osv",
    "bastion.scanners.sca.parsers",
    "bastion.scanners.sca.parsers.requirements",
    "bastion.scanners.sca.ranges",
    "bastion.scanners.sca.versions",
    "bastion.scanners.sca.versions.alpine",
    "bastion.scanners.sca.versions.debian",
    "bastion.scanners.sca.versions.gomod",
    "bastion.scanners.sca.versions.maven",
    "bastion.scanners.sca.versions.pep440",
    "bastion.scanners.sca.versions.rubygems",
    "bastion.scanners.sca.versions.semver",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
