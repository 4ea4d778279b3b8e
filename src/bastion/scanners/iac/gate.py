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
from bastion.scanners.interface import GateReport, ScanRequest
from bastion.scanners.tools.catalog import Tool
from bastion.scanners.tools.environment import ToolEnvironment, bastion_home
from bastion.scanners.tools.installer import InstallSource, ensure_installed
from bastion.scanners.tools.options import ToolGateOptions, string_list
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


_GRAMMAR_FILES = ".lark_cache_*.tmp"
# Lark names its cache after getpass.getuser(), which reads LOGNAME/USER first: one fixed
# name makes the host-made cache match inside the sandbox (whose uid has no passwd entry).
_CACHE_USER = {"LOGNAME": "bastion", "USER": "bastion"}
_WARM_SAMPLE = 'resource "aws_s3_bucket" "sample" {\n  bucket = "sample"\n}\n'


def _warm_grammar_cache(executable: Path, cache: Path) -> None:
    """Run Checkov once on a built-in sample so Lark writes its compiled HCL grammar.

    Why: Checkov's HCL parser compiles its Lark grammar on every start unless a cache file
    sits in the temp directory; a sandbox's temp directory is always fresh, which cost every
    IaC scan about 0.35 s. The cache is made here, on the host, from our own sample (never a
    scanned repository: Lark's cache is a pickle), kept root-owned and bound read-only.
    """
    if any(cache.glob(_GRAMMAR_FILES)):
        return
    with tempfile.TemporaryDirectory(prefix="bastion-iac-warm-") as tmp:
        work = Path(tmp)
        (work / "tree").mkdir()
        (work / "tree" / "main.tf").write_text(_WARM_SAMPLE)
        run_tool(
            checkov_argv(executable, ("terraform",), ()),
            cwd=work / "tree",
            timeout=300,
            label="Checkov (grammar cache)",
            home=work,
            env={**OFFLINE_ENV, **_CACHE_USER, "TMPDIR": tmp},
        )
        made = list(work.glob(_GRAMMAR_FILES))
        if not made:
            return  # a Checkov that caches nothing: scans still work, only slower
        cache.mkdir(parents=True, exist_ok=True)
        cache.chmod(0o755)
        for path in made:
            target = cache / path.name
            shutil.copyfile(path, target)
            target.chmod(0o644)


def _seed_grammar_cache(cache: Path, scratch: Path) -> None:
    """Copy the host-made grammar cache into this run's private temp directory."""
    for path in cache.glob(_GRAMMAR_FILES):
        if path.is_file() and not path.is_symlink():
            shutil.copyfile(path, scratch / path.name)


class IacGate:
    """Infrastructure-as-code checks: Terraform, Kubernetes, Dockerfiles, Helm, Kustomize, CFN."""

    name = "iac"

    def __init__(self, home: Path | None = None) -> None:
        self._home = home

    def _env(self) -> ToolEnvironment:
        return ToolEnvironment.for_tool(Tool.CHECKOV, self._home if self._home else bastion_home())

    def _grammar_cache(self) -> Path:
        return (self._home if self._home else bastion_home()) / "cache" / "checkov"

    def prepare(self, source: InstallSource | None = None) -> None:
        """On the host: create the Checkov environment on first use, and warm its grammar
        cache once (see :func:`_warm_grammar_cache`)."""
        env = self._env()
        ensure_installed(env, source)
        _warm_grammar_cache(env.executable(), self._grammar_cache())

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
        options = ToolGateOptions.parse("iac", request.options, frozenset({"frameworks"}))
        frameworks = _frameworks(request.options)
        executable = self._env().executable()
        _check_renderers(root, frameworks, options.exclude)
        with tempfile.TemporaryDirectory(prefix="bastion-iac-") as scratch:
            _seed_grammar_cache(self._grammar_cache(), Path(scratch))
            run = run_tool(
                checkov_argv(executable, frameworks, options.exclude),
                cwd=root,
                timeout=options.timeout,
                label="Checkov",
                home=Path(scratch),
                env={**OFFLINE_ENV, **_CACHE_USER, "TMPDIR": scratch},
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
