"""``bastion runs show`` lists each attested artifact's digest, SBOMs, provenance, signature."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from bastion.cli.attestations_view import render_attestations


def _item(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "job": "build",
        "digest": "sha256:" + "ab" * 32,
        "name": "app[bold].whl",
        "size": 12,
        "media_type": "application/zip",
        "sbom": {"cyclonedx": "a/cyclonedx.dsse.json", "spdx": "a/spdx.dsse.json"},
        "provenance": "a/provenance.dsse.json",
        "signed_by": "key-1",
        "unsigned_reason": None,
        "reproducible": "verified",
    }
    item.update(overrides)
    return item


def _render(*items: dict[str, object]) -> str:
    out = StringIO()
    render_attestations(Console(file=out, width=200), items)
    return out.getvalue()


def test_each_artifact_has_its_sboms_provenance_and_signature() -> None:
    text = _render(_item())
    assert "app[bold].whl (12 bytes, application/zip), job build" in text
    assert "SBOM CycloneDX a/cyclonedx.dsse.json" in text
    assert "SBOM SPDX      a/spdx.dsse.json" in text
    assert "a/provenance.dsse.json (reproducible: verified)" in text
    assert "signed by key-1" in text


def test_unsigned_says_why_and_nothing_is_said_without_artifacts() -> None:
    text = _render(_item(signed_by=None, unsigned_reason="trust 'dirty' does not sign"))
    assert "UNSIGNED: trust 'dirty' does not sign" in text
    assert _render() == ""
