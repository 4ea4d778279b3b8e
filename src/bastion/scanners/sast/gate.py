"""``uses: bastion/sast``: Bandit and Semgrep (with Bastion's own rules) over the tree.

    >>> from bastion.scanners.sast import SastGate
    >>> gate = SastGate()
    >>> gate.prepare()  # on the host: install tool envs on first use  # doctest: +SKIP
    >>> binds = gate.required_binds()  # bound read-only in the sandbox  # doctest: +SKIP
    >>> report = gate.scan(ScanRequest(Path("examples/vulnerable-service")))  # doctest: +SKIP

Options (``with:``): ``timeout`` (seconds per tool run, default 600), ``exclude`` (extra
directory or glob names to skip), ``tools`` (subset of ``[bandit, semgrep]``), ``rules``
(extra local Semgrep rule files or folders inside the repository).

Bandit and Semgrep run concurrently. One flaw reported by both is one finding: a Bandit
result on the same file and line as a Semgrep result whose rule lists that Bandit test in
``metadata.bandit`` is merged into the Semgrep finding (Bastion's rule carries the better
message and fix); the finding keeps the worse severity and records the Bandit test id under
``properties["corroborated_by"]``. Bandit's bare import notices (B401-B412: the risky *use*
is reported separately) and B101 (``assert``, idiomatic in tests) are not reported.

Inline markers (``# nosec``, ``# nosemgrep``) never drop a finding inside the tools: the gate
records the marker on the finding (:mod:`bastion.scanners.sast.inline`) and the suppressions
decide, visibly, whether it is honoured.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bastion.errors import GateError, UsageError
from bastion.scanners.finding import Finding, Severity
from bastion.scanners.interface import Gate, GateReport, ScanRequest
from bastion.scanners.sast.bandit import bandit_argv, parse_bandit_report
from bastion.scanners.sast.inline import mark_inline_suppressions
from bastion.scanners.sast.ruleset import bandit_fixes, rules_dir, shipped_rules
from bastion.scanners.sast.semgrep import parse_semgrep_output, repository_rules, semgrep_argv
from bastion.scanners.tools.catalog import Tool, spec_for
from bastion.scanners.tools.environment import ToolEnvironment
from bastion.scanners.tools.installer import InstallSource, ensure_installed
from bastion.scanners.tools.options import COMMON_OPTIONS, ToolGateOptions, string_list
from bastion.scanners.tools.process import run_tool

__all__ = ["SEMGREP_MIN_ADDRESS_SPACE", "SastGate", "check_address_space", "merge_findings"]

_TOOLS = (Tool.BANDIT, Tool.SEMGREP)
_SKIPPED_BANDIT = frozenset({"B101", *(f"B4{n:02d}" for n in range(1, 13))})
_Outcome = tuple[list[Finding], list[str], int]
# semgrep-core reserves address space far beyond what it touches; below this it is killed.
SEMGREP_MIN_ADDRESS_SPACE = 4 * 1024**3


def check_address_space() -> None:
    """Fail closed up front when ``RLIMIT_AS`` is too small for Semgrep to start."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and soft < SEMGREP_MIN_ADDRESS_SPACE:
        raise GateError(
            f"bastion/sast: the job's address-space limit ({soft // 1024**2} MiB) is below "
            f"the {SEMGREP_MIN_ADDRESS_SPACE // 1024**3} GiB Semgrep needs; the gate fails closed",
            hint="give the sast job `limits: {memory: 4G}` or more",
        )


def merge_findings(semgrep: Sequence[Finding], bandit: Sequence[Finding]) -> list[Finding]:
    """Semgrep findings plus the Bandit findings that are not the same flaw (module doc)."""
    merged = list(semgrep)
    index: dict[tuple[str, int | None, str], int] = {}
    for position, finding in enumerate(merged):
        for test_id in finding.properties.get("bandit_equivalents", ()):
            index.setdefault((finding.location.path, finding.location.line, test_id), position)
    extra: list[Finding] = []
    for finding in bandit:
        key = (finding.location.path, finding.location.line, finding.rule_id)
        match = index.get(key)
        if match is None:
            extra.append(finding)
            continue
        kept = merged[match]
        worse = max(kept.severity, finding.severity, key=lambda s: s.rank)
        corroborated = [*kept.properties.get("corroborated_by", ()), f"bandit:{finding.rule_id}"]
        merged[match] = dataclasses.replace(
            kept,
            severity=Severity(worse),
            properties={**kept.properties, "corroborated_by": corroborated},
        )
    return sorted(merged + extra, key=lambda f: (f.location.path, f.location.line or 0, f.rule_id))


def _selected_tools(options: Mapping[str, Any]) -> tuple[Tool, ...]:
    if "tools" not in options:
        return _TOOLS
    names = string_list("sast", "tools", options["tools"])
    chosen = tuple(tool for tool in _TOOLS if tool.value in names)
    unknown = sorted(set(names) - {tool.value for tool in _TOOLS})
    if unknown or not chosen:
        raise UsageError(
            f"bastion/sast: option `tools` names {unknown or 'nothing'}",
            hint="choose from: bandit, semgrep",
        )
    return chosen


class SastGate(Gate):
    """Static analysis of the source: Bandit for Python, Semgrep with Bastion's rules."""

    name = "sast"
    option_keys = COMMON_OPTIONS | {"tools", "rules"}
    list_option_keys = frozenset({"exclude", "tools", "rules"})

    def __init__(self, home: Path | None = None, *, jobs: int | None = None) -> None:
        self._home = home
        # Semgrep's own parallelism; two workers saturate a small CI machine.
        self._jobs = jobs or max(1, min(2, os.cpu_count() or 1))

    def _env(self, tool: Tool) -> ToolEnvironment:
        return ToolEnvironment.for_tool(tool, self._home)

    def prepare(self, source: InstallSource | None = None) -> None:
        """On the host: create the tool environments on first use (ToolMissingError if not)."""
        for tool in _TOOLS:
            ensure_installed(self._env(tool), source)

    def tool_versions(self) -> dict[str, str]:
        """Bandit's and Semgrep's pinned versions."""
        return {tool.value: spec_for(tool).version for tool in _TOOLS}

    def required_binds(self) -> list[Path]:
        """Host directories the sandbox must bind read-only (tool envs, their base Python)."""
        binds: list[Path] = []
        for tool in _TOOLS:
            binds.extend(b for b in self._env(tool).required_binds() if b not in binds)
        return binds

    def scan(self, request: ScanRequest) -> GateReport:
        """Run the selected tools concurrently over ``request.root`` and merge their results."""
        root = request.root.resolve()
        if not root.is_dir():
            raise GateError(f"bastion/sast: {root} is not a directory")
        options = ToolGateOptions.parse("sast", request.options, self.option_keys)
        tools = _selected_tools(request.options)
        extra_rules = repository_rules(
            "sast", root, string_list("sast", "rules", request.options.get("rules", []))
        )
        executables = {tool: self._env(tool).executable() for tool in tools}
        if Tool.SEMGREP in executables:
            check_address_space()
        with tempfile.TemporaryDirectory(prefix="bastion-sast-") as scratch_dir:
            scratch = Path(scratch_dir)
            with ThreadPoolExecutor(max_workers=len(tools)) as pool:
                futures: dict[Tool, Future[_Outcome]] = {}
                if Tool.BANDIT in executables:
                    futures[Tool.BANDIT] = pool.submit(
                        self._bandit, executables[Tool.BANDIT], root, scratch, options
                    )
                if Tool.SEMGREP in executables:
                    futures[Tool.SEMGREP] = pool.submit(
                        self._semgrep,
                        executables[Tool.SEMGREP],
                        root,
                        scratch,
                        options,
                        extra_rules,
                    )
                outcomes = {tool: future.result() for tool, future in futures.items()}
        return self._report(root, outcomes, tools, len(extra_rules))

    def _report(
        self,
        root: Path,
        outcomes: Mapping[Tool, _Outcome],
        tools: Sequence[Tool],
        extra_rules: int,
    ) -> GateReport:
        empty: _Outcome = ([], [], 0)
        bandit, bandit_notes, _ = outcomes.get(Tool.BANDIT, empty)
        semgrep, semgrep_notes, scanned = outcomes.get(Tool.SEMGREP, empty)
        return GateReport(
            gate=self.name,
            findings=tuple(mark_inline_suppressions(root, merge_findings(semgrep, bandit))),
            facts={
                "tools": {tool.value: self._env(tool).spec.version for tool in tools},
                "semgrep_files_scanned": scanned,
                "semgrep_rules": len(shipped_rules()),
                "semgrep_repository_rule_paths": extra_rules,
            },
            notes=tuple(bandit_notes + semgrep_notes),
        )

    def _bandit(
        self, executable: Path, root: Path, scratch: Path, options: ToolGateOptions
    ) -> _Outcome:
        report = scratch / "bandit.json"
        run = run_tool(
            bandit_argv(executable, report, options.exclude),
            cwd=root,
            timeout=options.timeout,
            label="Bandit",
            home=scratch,
        )
        findings, notes = parse_bandit_report(
            run, report, root, skip=_SKIPPED_BANDIT, fixes=bandit_fixes()
        )
        return findings, notes, 0

    def _semgrep(
        self,
        executable: Path,
        root: Path,
        scratch: Path,
        options: ToolGateOptions,
        extra_rules: Sequence[Path],
    ) -> _Outcome:
        argv = semgrep_argv(executable, [rules_dir(), *extra_rules], options.exclude, self._jobs)
        run = run_tool(
            argv,
            cwd=root,
            timeout=options.timeout,
            label="Semgrep",
            home=scratch,
            env={"SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0"},
        )
        return parse_semgrep_output(run, root)
