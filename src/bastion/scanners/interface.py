"""What a gate is, to the engine and the CLI.

A gate takes a directory tree and options and returns findings; it knows nothing of runs.
It never decides pass or block: the policy package does, from the findings.

Every hook the engine calls is declared on :class:`Gate` with its default, so the engine
calls them directly (never probing with ``getattr``) and a gate overrides only what it needs:

- :meth:`Gate.scan` (abstract): inside the sandbox, the findings.
- :meth:`Gate.required_binds`: host directories the sandbox binds read-only (default none).
- :meth:`Gate.prepare`: host-side installs and warm-ups, done in a run's or scan's
  preparation phase before any gate runs (default nothing).
- :meth:`Gate.prepare_workspace`: host-side data the sandboxed workspace cannot have, such
  as git history, staged as files (default: options unchanged, nothing staged).
- :meth:`Gate.check_options`: on the host, before anything runs, the ``with:`` or
  ``--option`` keys against :attr:`Gate.option_keys` (an unknown key is a usage error).
- :meth:`Gate.tool_versions`: the external tools behind the gate and their pinned versions,
  for SARIF's ``tool.extensions`` (default none: the gate is Bastion's own code).
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bastion.scanners.finding import Finding
from bastion.scanners.gate_options import check_option_keys

__all__ = ["Gate", "GateName", "GateReport", "ScanRequest"]


class GateName(enum.StrEnum):
    """The built-in gates, as named in ``uses: bastion/<name>``."""

    SECRETS = "secrets"
    SAST = "sast"
    SCA = "sca"
    IAC = "iac"
    CICONFIG = "ciconfig"
    SARIF = "sarif"
    IMAGE = "image"
    DAST = "dast"


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """What to scan: a tree on disk, the gate's ``with:`` options, the commit if known."""

    root: Path
    options: Mapping[str, Any] = field(default_factory=dict)
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class GateReport:
    """A gate's output: its findings and facts the policy may use (e.g. database age)."""

    gate: str
    findings: tuple[Finding, ...]
    facts: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # Lines people must see beside the verdict though they block nothing (which data judged,
    # a manifest not judged): ``bastion scan`` prints them under the gate's line and the
    # sandboxed runner writes them to its output, which is a run's job log. Also in ``notes``.
    notices: tuple[str, ...] = ()
    # CPU seconds the sandboxed run used (runner and tools), when known. Not a fact: it
    # steers scheduling only, and facts (the policy's input, a baseline file) stay the same
    # from one scan of the same tree to the next.
    cpu_seconds: float | None = None


class Gate(abc.ABC):
    """A security gate. Raise ``bastion.errors.GateError`` when no decision is possible."""

    name: str
    # Every ``with:`` key the gate understands; any other is refused before the gate runs.
    option_keys: ClassVar[frozenset[str]] = frozenset()
    # The keys whose value is a list: ``--option`` repeated (or given a comma list) adds to it.
    list_option_keys: ClassVar[frozenset[str]] = frozenset()

    @abc.abstractmethod
    def scan(self, request: ScanRequest) -> GateReport:
        """Scan ``request.root`` and report every finding (runs inside the sandbox)."""

    def required_binds(self) -> list[Path]:
        """Host directories the sandbox must bind read-only; installs nothing."""
        return []

    def prepare(self) -> None:  # noqa: B027 (a deliberate no-op default, not abstract)
        """On the host, before any gate runs: install tool environments, warm caches.

        The default does nothing: a gate that needs only Bastion's own runtime.
        """

    def prepare_workspace(
        self, source: Path, staging: Path, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        """On the host, before a sandboxed run: stage what the workspace cannot hold.

        ``source`` is the real tree (with ``.git``); files written into ``staging`` are
        injected into the job's workspace. Returns the options the sandboxed gate runs with.
        """
        return dict(options)

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Refuse a key outside :attr:`option_keys` (``UnknownOptionError``, did-you-mean).

        Only the keys: each gate checks the values itself when it parses them.
        """
        check_option_keys(self.name, options, self.option_keys)

    def tool_versions(self) -> dict[str, str]:
        """External tool name to pinned version, for the tools this gate drives."""
        return {}
