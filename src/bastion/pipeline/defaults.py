"""Bastion's built-in secure default pipeline, used when a repository has no pipeline file.

The default runs every security gate that applies to the detected project type, each in its
own sandbox, in parallel. It deliberately runs no build or test commands: those need the
project's own toolchain and dependencies, which only the project can declare.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bastion.pipeline.loader import LoadedPipeline, parse_pipeline

__all__ = ["DEFAULT_PIPELINE_SOURCE", "default_pipeline", "detect_project_types"]

DEFAULT_PIPELINE_SOURCE = "<bastion default pipeline>"

_MARKERS: dict[str, tuple[str, ...]] = {
    "python": ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "Pipfile"),
    "node": ("package.json",),
    "go": ("go.mod",),
    "rust": ("Cargo.toml",),
    "ruby": ("Gemfile",),
    "php": ("composer.json",),
    "terraform": ("main.tf",),
    "container": ("Dockerfile", "Containerfile"),
}
_GATES_FOR_EVERY_PROJECT = ("secrets", "sast", "sca", "iac")
# Gates that join the default pipeline only when the tree holds what they read. The CI
# configuration gate's own discovery (bastion.scanners.ciconfig) also finds `action.yml`
# anywhere; the default looks only at the usual places so that deciding stays cheap.
_CI_CONFIG = (".github/workflows", ".gitlab-ci.yml", ".bastion/pipeline.yml", "action.yml")


def _present_gates(root: Path) -> list[str]:
    """Gates whose inputs exist in ``root`` (``ciconfig`` when CI files are there)."""
    return ["ciconfig"] if any((root / name).exists() for name in _CI_CONFIG) else []


def detect_project_types(root: Path) -> list[str]:
    """Project types found at the top of ``root`` (``generic`` when none)."""
    found = [kind for kind, files in _MARKERS.items() if any((root / f).exists() for f in files)]
    return found or ["generic"]


def default_pipeline(root: Path, available_gates: Iterable[str]) -> LoadedPipeline:
    """The default pipeline for the project at ``root``, over the gates Bastion has."""
    known = set(available_gates)
    gates = [g for g in (*_GATES_FOR_EVERY_PROJECT, *_present_gates(root)) if g in known]
    kinds = ", ".join(detect_project_types(root))
    lines = [
        f"name: default secure pipeline ({kinds})",
        "on: [push, pull_request]",
        "jobs:",
    ]
    for gate in gates:
        lines += [f"  {gate}:", f"    uses: bastion/{gate}"]
    if not gates:
        lines += ["  check:", "    steps:", "      - name: list the tree", "        run: ls -la"]
    return parse_pipeline("\n".join(lines) + "\n", source=DEFAULT_PIPELINE_SOURCE)
