"""The ``bastion/sarif`` gate: run a command that writes SARIF, read its results as findings.

Options (``with:``):

- ``command`` (required): a shell line, run with ``/bin/sh -c`` in the scanned tree. Like
  every gate it runs inside the job's sandbox (no network unless the job allows it).
- ``sarif``: where the command writes its log, relative to a private output directory that
  is also ``$BASTION_OUT``; default ``results.sarif``. ``$BASTION_SARIF`` holds the full path,
  so ``--output "$BASTION_SARIF"`` is all most tools need. The output directory is outside the
  tree, so the SARIF file cannot be mistaken for scanned source (or planted in the repository).
- ``exit_codes``: exit statuses that mean "ran fine" (default ``[0]``); many scanners exit 1
  when they found something, so ``[0, 1]`` is common.
- ``timeout``: seconds before the command is killed (default 1800).

Fails closed: another exit status, a timeout, a missing or malformed SARIF file all raise
:class:`~bastion.errors.GateError` with the reason.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bastion.errors import GateError, UsageError
from bastion.scanners.gate_options import check_option_keys
from bastion.scanners.interface import Gate, GateReport, ScanRequest
from bastion.scanners.sarif import load_sarif

__all__ = ["GATE_NAME", "SarifGate", "SarifGateOptions"]

GATE_NAME = "sarif"
_KNOWN = frozenset({"command", "sarif", "exit_codes", "timeout"})
_DEFAULT_SARIF = PurePosixPath("results.sarif")


@dataclass(frozen=True, slots=True)
class SarifGateOptions:
    """The gate's options, checked; build with :meth:`parse`."""

    command: str
    sarif: PurePosixPath = _DEFAULT_SARIF
    exit_codes: frozenset[int] = frozenset({0})
    timeout: float = 1800.0

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> SarifGateOptions:
        """Check ``options``; UsageError naming the bad option otherwise."""
        check_option_keys(GATE_NAME, options, _KNOWN)
        command = options.get("command")
        if not isinstance(command, str) or not command.strip():
            raise UsageError(
                "bastion/sarif needs `command`: a shell line that writes SARIF",
                hint='e.g. command: mytool --sarif --output "$BASTION_SARIF" .',
            )
        sarif = PurePosixPath(str(options.get("sarif", "results.sarif")))
        if sarif.is_absolute() or ".." in sarif.parts or not sarif.parts:
            raise UsageError(
                f"bastion/sarif: `sarif` must be a relative path without '..', got {sarif}"
            )
        codes = options.get("exit_codes", [0])
        if not isinstance(codes, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in codes
        ):
            raise UsageError("bastion/sarif: `exit_codes` must be a list of integers")
        timeout = options.get("timeout", 1800)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise UsageError("bastion/sarif: `timeout` must be a positive number of seconds")
        return cls(command, sarif, frozenset(codes), float(timeout))


class SarifGate(Gate):
    """Runs the configured command and reads its SARIF (see the module docstring)."""

    name = GATE_NAME
    option_keys = _KNOWN
    list_option_keys = frozenset({"exit_codes"})

    def scan(self, request: ScanRequest) -> GateReport:
        """Run the command in ``request.root`` and turn its SARIF results into findings."""
        options = SarifGateOptions.parse(request.options)
        root = request.root.resolve()
        with tempfile.TemporaryDirectory(prefix="bastion-sarif-") as out_dir:
            sarif_path = Path(out_dir, *options.sarif.parts)
            sarif_path.parent.mkdir(parents=True, exist_ok=True)
            exit_code = _run(options, root, Path(out_dir), sarif_path)
            findings = load_sarif(sarif_path, gate=GATE_NAME, root=root)
        tools = sorted({str(f.properties.get("tool")) for f in findings if "tool" in f.properties})
        return GateReport(
            gate=GATE_NAME,
            findings=tuple(findings),
            facts={"exit_code": exit_code, "results": len(findings), "tools": tools},
        )


def _run(options: SarifGateOptions, root: Path, out_dir: Path, sarif_path: Path) -> int:
    env = {**os.environ, "BASTION_OUT": str(out_dir), "BASTION_SARIF": str(sarif_path)}
    try:
        completed = subprocess.run(
            ["/bin/sh", "-c", options.command],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=options.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GateError(
            f"bastion/sarif: command timed out after {options.timeout:g} s",
            hint="raise `timeout` or make the scan faster",
        ) from exc
    except OSError as exc:
        raise GateError(f"bastion/sarif: cannot start the command: {exc}") from exc
    if completed.returncode not in options.exit_codes:
        allowed = ", ".join(str(c) for c in sorted(options.exit_codes))
        raise GateError(
            f"bastion/sarif: command exited with status {completed.returncode}",
            hint=f"see its output above; accepted statuses: {allowed} (option `exit_codes`)",
        )
    return completed.returncode
