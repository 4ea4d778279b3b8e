"""Paths to the SCA test data and small helpers shared by the SCA tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bastion.scanners.sca.archive import load_record
from bastion.scanners.sca.osv import Advisory, compact_record

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data" / "sca"
OSV = DATA / "osv"
MANIFESTS = DATA / "manifests"
SHARED_OSV = REPO.parent / "shared" / "data" / "osv"
EXAMPLE = REPO / "examples" / "vulnerable-service"


def record(relative: str) -> Mapping[str, Any]:
    """A real record from tests/data/sca/osv, checked as the importer checks it."""
    path = OSV / relative
    return load_record(path.name, path.read_bytes())


def advisory(relative: str) -> Advisory:
    """The index's view of a real record for its first affected package."""
    raw = record(relative)
    package = raw["affected"][0]["package"]
    data = json.loads(json.dumps(compact_record(raw, package["ecosystem"], package["name"])))
    return Advisory.from_index(data)
