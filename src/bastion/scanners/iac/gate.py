"""``uses: bastion/iac``: Checkov, offline, over the infrastructure code in the tree.

    >>> from bastion.scanners.iac import IacGate
    >>> gate = IacGate()
    >>> gate.prepare()  # on the host: install the tool env on first use  # doctest: +SKIP
    >>> report = gate.scan(ScanRequest(Path("examples/vulnerable-service")))  # doctest: +SKIP

Options (``with:``): ``timeout`` (seconds, default 600), ``exclude`` (extra directory names
to skip), ``frameworks`` (default: terraform, kubernetes, dockerfile, helm, kustomize,
cloudformation).

Helm charts and Kustomize overlays are checked as rendered output, which Checkov produces
with the ``helm`` and ``kustomize`` (or ``kubectl``) programs. When the tree holds a chart or
an overlay and the program is missing, the gate fails closed instead of letting Checkov skip
them quietly; drop the framework from ``frameworks`` to accept that on purpose.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bastion.errors import GateError, UsageError
from bastion.scanners.iac.checkov import OFFLINE_ENV, checkov_argv, parse_checkov_output
from bastion.scanners.iac.grammar_cache import (
    CACHE_USER,
    grammar_cache_dir,
    seed_grammar_cache,
    warm_checkov,
)
from bastion.scanners.interface import Gate, GateReport, ScanRequest
from bastion.scanners.tools.catalog import Tool, spec_for
from bastion.scanners.tools.environment import ToolEnvironment
from bastion.scanners.tools.installer import InstallSource, ensure_installed
from bastion.scanners.tools.options import COMMON_OPTIONS, ToolGateOptions, string_list
from bastion.scanners.tools.process import run_tool

__all__ = ["DEFAULT_FRAMEWORKS", "KNOWN_FRAMEWORKS", "IacGate"]

DEFAULT_FRAMEWORKS = (
    "terraform",
    "kubernetes",
    "dockerfile",
    "helm",
    "kustomize",
    "cloudformation",
)
KNOWN_FRAMEWORKS = frozenset(
    {*DEFAULT_FRAMEWORKS, "arm", "bicep", "serverless", "terraform_plan", "ansible", "openapi"}
)
_RENDERERS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "helm": (frozenset({"Chart.yaml"}), ("helm",)),
    "kustomize": (
        frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"}),
        ("kustomize", "kubectl"),
    ),
}


def _frameworks(options: Mapping[str, Any]) -> tuple[str, ...]:
    if "frameworks" not in options:
        return DEFAULT_FRAMEWORKS
    chosen = string_list("iac", "frameworks", options["frameworks"])
    unknown = sorted(set(chosen) - KNOWN_FRAMEWORKS)
    if unknown or not chosen:
        raise UsageError(
            f"bastion/iac: unknown framework(s) {unknown or 'none given'}",
            hint=f"choose from: {', '.join(sorted(KNOWN_FRAMEWORKS))}",
        )
    return chosen


def _marker_files(root: Path, exclude: Sequence[str]) -> set[str]:
    """Names of renderer marker files present anywhere in the tree (excludes pruned)."""
    wanted = frozenset().union(*(names for names, _ in _RENDERERS.values()))
    skipped = set(exclude)
    found: set[str] = set()
    for _dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skipped]
        found.update(wanted.intersection(filenames))
    return found


def _check_renderers(root: Path, frameworks: Sequence[str], exclude: Sequence[str]) -> None:
    present = _marker_files(root, exclude)
    for framework, (markers, programs) in _RENDERERS.items():
        if framework not in frameworks or not markers & present:
            continue
        if not any(shutil.which(program) for program in programs):
            raise GateError(
                f"bastion/iac: the tree has {framework} sources but none of "
                f"{', '.join(programs)} is installed to render them; the gate fails closed",
                hint=f"install {programs[0]} on the host, or leave {framework} out of the "
                "gate's `frameworks` option to skip it on purpose",
            )


class IacGate(Gate):
    """Infrastructure-as-code checks: Terraform, Kubernetes, Dockerfiles, Helm, Kustomize, CFN."""

    name = "iac"
    option_keys = COMMON_OPTIONS | {"frameworks"}
    list_option_keys = frozenset({"exclude", "frameworks"})

    def __init__(self, home: Path | None = None) -> None:
        self._home = home

    def tool_versions(self) -> dict[str, str]:
        """Checkov's pinned version."""
        return {Tool.CHECKOV.value: spec_for(Tool.CHECKOV).version}

    def _env(self) -> ToolEnvironment:
        return ToolEnvironment.for_tool(Tool.CHECKOV, self._home)

    def _grammar_cache(self) -> Path:
        return grammar_cache_dir(self._env())

    def prepare(self, source: InstallSource | None = None) -> None:
        """On the host: create the Checkov environment and warm its grammar cache, unless
        ``bastion tools install`` did (see :mod:`bastion.scanners.iac.grammar_cache`)."""
        env = self._env()
        ensure_installed(env, source)
        warm_checkov(env)

    def required_binds(self) -> list[Path]:
        """Host directories the sandbox must bind read-only (Checkov's env, its base Python,
        the warmed grammar cache)."""
        cache = self._grammar_cache()
        return [*self._env().required_binds(), *([cache] if cache.is_dir() else [])]

    def scan(self, request: ScanRequest) -> GateReport:
        """Run Checkov over ``request.root`` and report every failed check."""
        root = request.root.resolve()
        if not root.is_dir():
            raise GateError(f"bastion/iac: {root} is not a directory")
        options = ToolGateOptions.parse("iac", request.options, self.option_keys)
        frameworks = _frameworks(request.options)
        executable = self._env().executable()
        _check_renderers(root, frameworks, options.exclude)
        with tempfile.TemporaryDirectory(prefix="bastion-iac-") as scratch:
            seed_grammar_cache(self._grammar_cache(), Path(scratch))
            run = run_tool(
                checkov_argv(executable, frameworks, options.exclude),
                cwd=root,
                timeout=options.timeout,
                label="Checkov",
                home=Path(scratch),
                env={**OFFLINE_ENV, **CACHE_USER, "TMPDIR": scratch},
            )
        findings, notes, resources = parse_checkov_output(run, root)
        return GateReport(
            gate=self.name,
            findings=tuple(findings),
            facts={
                "tools": {"checkov": self._env().spec.version},
                "frameworks": list(frameworks),
                "resources_checked": resources,
            },
            notes=tuple(notes),
        )
