"""The SCA gate: which dependency versions carry known vulnerabilities, and what fixes them.

    >>> from pathlib import Path
    >>> import tempfile
    >>> from bastion.scanners.interface import ScanRequest
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "requirements.txt").write_text("pyyaml==5.3\\n")
    >>> report = ScaGate(database_dir=root / "empty").scan(ScanRequest(root=root))
    >>> report.facts["summary"][0]["package"], report.facts["summary"][0]["upgrade_to"]
    ('pyyaml', '5.4')

Vulnerability data is OSV records (``bastion db update`` / ``bastion db import``) indexed per
ecosystem under ``$BASTION_HOME/osv``; with none there, a bundled dated snapshot is used and
the report's notes say so. :func:`dependency_inventory` lists what a tree's lock files pin,
for SBOMs and provenance. Inside the sandbox the gate needs :meth:`ScaGate.required_binds`
bound read-only.
"""

from bastion.scanners.sca.database import Database, ImportSummary, import_path, status
from bastion.scanners.sca.errors import ArchiveError, DatabaseError, ManifestError
from bastion.scanners.sca.fetch import OFFLINE_ENV, FetchOutcome, ensure_data
from bastion.scanners.sca.gate import ScaGate, create_gate
from bastion.scanners.sca.index import IndexMeta
from bastion.scanners.sca.inventory import (
    InventoryItem,
    dependency_inventory,
    manifest_inventory,
)
from bastion.scanners.sca.matcher import Match, match_dependency
from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers import MANIFEST_PATHSPECS, is_manifest
from bastion.scanners.sca.paths import osv_dir
from bastion.scanners.sca.update import (
    DEFAULT_ECOSYSTEMS,
    UpdateError,
    UpdateResult,
    ecosystems_in_tree,
    update,
)

__all__ = [
    "DEFAULT_ECOSYSTEMS",
    "MANIFEST_PATHSPECS",
    "OFFLINE_ENV",
    "ArchiveError",
    "Database",
    "DatabaseError",
    "Dependency",
    "FetchOutcome",
    "ImportSummary",
    "IndexMeta",
    "InventoryItem",
    "ManifestError",
    "Match",
    "Relation",
    "ScaGate",
    "UpdateError",
    "UpdateResult",
    "create_gate",
    "dependency_inventory",
    "ecosystems_in_tree",
    "ensure_data",
    "import_path",
    "is_manifest",
    "manifest_inventory",
    "match_dependency",
    "osv_dir",
    "status",
    "update",
]
