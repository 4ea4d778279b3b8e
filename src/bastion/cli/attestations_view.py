"""What ``bastion runs show`` says about a run's attested artifacts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console

__all__ = ["render_attestations"]


def render_attestations(console: Console, attestations: Sequence[Mapping[str, Any]]) -> None:
    """Each artifact's digest, SBOMs, provenance and signature (or why it is unsigned), as
    the run record holds them (``ArtifactAttestation.to_dict``); nothing when there are none.
    """
    if not attestations:
        return
    console.print("attestations (paths under BASTION_HOME/artifacts):", highlight=False)
    for item in attestations:
        signature = (
            f"signed by {item['signed_by']}"
            if item["signed_by"]
            else f"UNSIGNED: {item['unsigned_reason']}"
        )
        lines = (
            f"  {item['digest']} {item['name']} ({item['size']} bytes, {item['media_type']}),"
            f" job {item['job']}",
            f"    SBOM CycloneDX {item['sbom']['cyclonedx']}",
            f"    SBOM SPDX      {item['sbom']['spdx']}",
            f"    provenance     {item['provenance']} (reproducible: {item['reproducible']})",
            f"    signature      {signature}",
        )
        for line in lines:
            # Names come from the built tree: never read as Rich markup.
            console.print(line, markup=False, highlight=False)
