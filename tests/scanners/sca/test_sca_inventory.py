"""dependency_inventory: what a tree pins, as neutral items, without the parsers' types."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.scanners.sca import InventoryItem, ManifestError, dependency_inventory

_PACKAGE_LOCK = """{
  "name": "web", "version": "1.0.0", "lockfileVersion": 3,
  "packages": {
    "": {"name": "web", "version": "1.0.0"},
    "node_modules/lodash": {"version": "4.17.21"}
  }
}
"""


def test_pinned_dependencies_of_every_ecosystem_each_once_sorted(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("requests==2.31.0\nflask>=2\nrequests==2.31.0\n")
    (tmp_path / "package-lock.json").write_text(_PACKAGE_LOCK)
    assert dependency_inventory(tmp_path) == [
        InventoryItem("lodash", "4.17.21", "npm", "pkg:npm/lodash@4.17.21"),
        InventoryItem("requests", "2.31.0", "PyPI", "pkg:pypi/requests@2.31.0"),
    ]


def test_bastion_folder_is_not_the_projects_dependencies(tmp_path: Path) -> None:
    (tmp_path / ".bastion").mkdir()
    (tmp_path / ".bastion" / "requirements.txt").write_text("pyyaml==6.0.1\n")
    assert dependency_inventory(tmp_path) == []


def test_malformed_manifest_raises_instead_of_listing_nothing(tmp_path: Path) -> None:
    (tmp_path / "package-lock.json").write_text("{not json")
    with pytest.raises(ManifestError):
        dependency_inventory(tmp_path)
