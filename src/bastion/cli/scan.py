"""``bastion scan``: run the security gates over a directory, outside a pipeline.

Same gates, same sandbox, same policy and exit codes as a run: 0 pass, 1 blocked (or a gate
could not decide), 2 usage or policy-file error, 3 Bastion could not operate.

On stderr, one line per gate as it ends (what it found, not a verdict: the policy has not
decided yet), then the decision and one summary line whose mark is the decision's, with
every severity counted. Reports are written as they are made (:func:`write_report`), not
built whole and indented: thousands of findings took seconds that way.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bastion import __version__
from bastion.cli.console import err_console, out_console
from bastion.cli.osv_data import fetch_vulnerability_data
from bastion.cli.scan_options import parse_gate_options, unused_option_gates
from bastion.engine.gate_priority import GateCpuHistory
from bastion.engine.gate_scan import PathScan, scan_path
from bastion.engine.gates import AssessedFinding, GateDecision, GateOutcome, GateSpec
from bastion.errors import UsageError
from bastion.home import bastion_home
from bastion.policy import Suppression
from bastion.sandbox import BubblewrapSandbox, Limits, Sandbox, UnsafeHostRunner
from bastion.scanners import load_gate
from bastion.scanners.finding import Severity
from bastion.scanners.sarif import INLINE_JUSTIFICATION, ToolInfo, write_sarif

if TYPE_CHECKING:
    from bastion.scanners.secrets import ScanMode

__all__ = [
    "JSON_FORMAT",
    "OutputFormat",
    "parse_gate_options",
    "register",
    "render_decision",
    "render_summary",
    "render_table",
    "scan_command",
    "severity_counts",
    "write_report",
]

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.UNKNOWN: "bold magenta",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_DETAIL_LIMIT = 10
# Counted in the summary, listed in the table only with --all (issue 23).
_QUIET = frozenset({Severity.LOW, Severity.INFO})
# The JSON report's format and version; the number changes when a reader would misread it.
JSON_FORMAT = "bastion-scan/1"
_SUPPRESS_HINT = (
    "to suppress a finding: add `- fingerprint: <fp>` with owner, reason and expires "
    "(YYYY-MM-DD) under `suppressions:` in .bastion/suppressions.yml"
)


class OutputFormat(enum.StrEnum):
    """What ``bastion scan`` writes."""

    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"


def _status(item: AssessedFinding) -> Text:
    if item.suppression is not None:
        return Text(f"suppressed {item.suppression.describe()}", "green")
    text = Text("new" if item.new else "in baseline", "bold" if item.new else "dim")
    if item.expired_suppression is not None:
        text.append(f"\nsuppression expired {item.expired_suppression.expires}", "red")
    return text


def _message(item: AssessedFinding) -> Text:
    finding = item.finding
    text = Text(finding.message)
    if finding.fix:
        text.append(f"\nfix: {finding.fix}", "green")
    text.append(f"\nsuppress: fingerprint {finding.fingerprint}", "dim")
    return text


def render_table(console: Console, result: GateDecision, *, show_all: bool = False) -> None:
    """The findings, one table per severity, worst first; low and info are counted and
    listed only with ``show_all`` (``--all``): a real project has hundreds (issue 23)."""
    if not result.findings:
        console.print("no findings", style="green")
    hidden: dict[Severity, int] = {}
    for severity in Severity:
        items = [a for a in result.findings if a.finding.severity is severity]
        if not items:
            continue
        if severity in _QUIET and not show_all:
            hidden[severity] = len(items)
            continue
        table = Table(
            title=Text(f"{severity.value.upper()} ({len(items)})", _STYLE[severity]),
            title_justify="left",
            expand=False,
        )
        table.add_column("where", overflow="fold")
        table.add_column("gate/rule", overflow="fold")
        table.add_column("status")
        table.add_column("finding / how to fix / how to suppress", overflow="fold")
        for item in sorted(
            items, key=lambda a: (a.finding.location.path, a.finding.location.line or 0)
        ):
            where = str(item.finding.location) or "(no file)"
            rule = f"{item.finding.gate}/{item.finding.rule_id}"
            table.add_row(Text(where), Text(rule), _status(item), _message(item))
        console.print(table)
    if hidden:
        counted = ", ".join(f"{n} {severity.value}" for severity, n in hidden.items())
        console.print(
            Text(f"{counted} finding(s) not listed: --all lists them (json and sarif hold all)"),
            style="dim",
        )


def render_decision(console: Console, result: GateDecision, *, brief: bool = False) -> None:
    """PASS or BLOCKED with the reasons (and, unless ``brief``, the findings they name)."""
    # Findings may share a fingerprint (one vulnerable pin in several manifests, one secret
    # on several lines): a reason names the fingerprint once, and each place is listed.
    by_fp: dict[str, list[AssessedFinding]] = {}
    for item in result.findings:
        by_fp.setdefault(item.finding.fingerprint, []).append(item)
    decision = result.decision
    verdict = Text("PASS", "bold green") if decision.allowed else Text("BLOCKED", "bold red")
    console.print(Text.assemble("policy decision: ", verdict))
    for reason in decision.reasons:
        console.print(Text(f"  ✗ {reason.message}", "red"))
        if not brief:
            _reason_places(
                console, [by_fp.get(fp, []) for fp in dict.fromkeys(reason.fingerprints)]
            )
    for warning in decision.warnings:
        console.print(Text(f"  ! {warning.message}", "yellow"))
    for note in decision.notes:
        console.print(Text(f"  note: {note}", "yellow"))
    if not decision.allowed and not brief:
        console.print(Text(_SUPPRESS_HINT, "dim"))


def _reason_places(console: Console, groups: list[list[AssessedFinding]]) -> None:
    """Each finding a reason names, with its place: all of them, or ending '…and N more'."""
    lines = [
        f"{a.finding.severity.value.upper()} {a.finding.gate}/{a.finding.rule_id} "
        f"at {a.finding.location or '(no file)'}"
        for group in groups
        for a in sorted(
            group, key=lambda a: (a.finding.location.path, a.finding.location.line or 0)
        )
    ]
    for line in lines[:_DETAIL_LIMIT]:
        console.print(Text(f"      {line}"))
    if len(lines) > _DETAIL_LIMIT:
        console.print(Text(f"      …and {len(lines) - _DETAIL_LIMIT} more"))


def severity_counts(findings: Iterable[AssessedFinding]) -> dict[Severity, int]:
    """How many findings of each severity, every severity listed (worst first), zeros too."""
    counts = dict.fromkeys(Severity, 0)
    for item in findings:
        counts[item.finding.severity] += 1
    return counts


def render_summary(console: Console, result: GateDecision) -> None:
    """One line: the decision's mark and word, the findings by severity, new and suppressed."""
    findings = result.findings
    # Unknown is named only when present: most gates always know their severities.
    breakdown = ", ".join(
        f"{n} {s.value}"
        for s, n in severity_counts(findings).items()
        if n or s is not Severity.UNKNOWN
    )
    new = sum(1 for a in findings if a.new)
    suppressed = sum(1 for a in findings if a.suppressed)
    mark, word, style = ("✓", "PASS", "green") if result.allowed else ("✗", "BLOCKED", "red")
    console.print(
        Text(
            f"{mark} {word}: {len(findings)} finding(s) ({breakdown}); "
            f"{new} new, {suppressed} suppressed",
            style,
        )
    )


def _progress(outcome: GateOutcome, seconds: float) -> None:
    # No ✓ here: a gate that ran may still be blocked by the policy, which decides later.
    if outcome.report is not None:
        count = len(outcome.report.findings)
        line = Text(f"· bastion/{outcome.gate}: {count} finding(s) in {seconds:.1f} s")
        date = outcome.report.facts.get("database_date")
        if date:  # which data judged the dependencies, said before the verdict
            bundled = outcome.report.facts.get("database_bundled_snapshot")
            line.append(f" (OSV data of {date}{', bundled snapshot' if bundled else ''})")
    else:
        line = Text(f"✗ bastion/{outcome.gate}: could not decide ({seconds:.1f} s)", "red")
    err_console.print(line)
    for notice in outcome.report.notices if outcome.report is not None else ():
        # What the gate says beside its findings (manifests not judged, the data's scope).
        err_console.print(Text(f"    {notice}", "yellow"))


def _say(line: str) -> None:
    # Plain text: a line naming a command in brackets must not become Rich markup.
    err_console.print(line, markup=False, highlight=False)


def _sandbox(unsafe: bool) -> Sandbox:
    if unsafe:
        err_console.print(
            "[bold red]WARNING: --unsafe-no-sandbox: scanners run on this host WITHOUT "
            "isolation; they see your files, network and credentials.[/]"
        )
        return UnsafeHostRunner()
    return BubblewrapSandbox()


def _justification(entry: Suppression) -> str:
    """Why a finding is accepted, as SARIF's ``justification`` (inline ones marked so)."""
    if entry.inline:
        return f"{INLINE_JUSTIFICATION}{entry.reason}"
    return f"{entry.reason} ({entry.owner}, until {entry.expires.isoformat()})"


def _write_document(handle: IO[str], result: GateDecision, fmt: OutputFormat, root: Path) -> None:
    """The JSON or SARIF report, written piece by piece to ``handle``."""
    if fmt is OutputFormat.JSON:
        _write_json(handle, result)
        return
    write_sarif(
        handle,
        [a.finding for a in result.findings],
        gates=[o.gate for o in result.outcomes],
        source_root=root,
        suppressed={
            a.finding.fingerprint: _justification(a.suppression)
            for a in result.findings
            if a.suppression is not None
        },
        new=[a.finding.fingerprint for a in result.findings if a.new] if result.baseline else None,
        failures={o.gate: _failure(o) for o in result.outcomes if o.report is None},
        tools={o.gate: _tool_info(o.gate) for o in result.outcomes},
    )


def _failure(outcome: GateOutcome) -> str:
    """Why a gate could not decide, for its SARIF run's notification."""
    if outcome.error is None:
        return "the gate gave no report"
    return outcome.error.message + (f" ({outcome.error.hint})" if outcome.error.hint else "")


def _tool_info(gate: str) -> ToolInfo:
    """The gate as SARIF's driver (Bastion's version) with the tools it drives, pinned."""
    return ToolInfo(f"bastion/{gate}", __version__, extensions=load_gate(gate).tool_versions())


def _write_json(handle: IO[str], result: GateDecision) -> None:
    """``GateDecision.to_dict()`` as JSON: the head on a line, then one line per finding."""
    # The format's name and version first, so a reader can tell what it holds before parsing.
    doc = {"format": JSON_FORMAT, **result.to_dict()}
    findings = doc.pop("findings")
    handle.write(json.dumps(doc, default=str)[:-1] + ', "findings": [')
    for number, finding in enumerate(findings):
        handle.write(("," if number else "") + "\n" + json.dumps(finding, default=str))
    handle.write("\n]}\n")


def write_report(
    result: GateDecision,
    fmt: OutputFormat,
    output: Path | None,
    root: Path = Path(),
    *,
    show_all: bool = False,
) -> None:
    """Write the report to ``output`` (or stdout), then the decision and summary to stderr.

    ``root`` is the scanned tree, which SARIF names as ``%SRCROOT%``; ``show_all`` lists
    low and info findings in a table too (JSON and SARIF always hold every finding).
    """
    if fmt is OutputFormat.TABLE:
        if output is None:
            render_table(out_console, result, show_all=show_all)
            render_decision(out_console, result)
        else:
            with output.open("w", encoding="utf-8") as handle:
                plain = Console(file=handle, width=120, no_color=True, soft_wrap=True)
                render_table(plain, result, show_all=show_all)
                render_decision(plain, result)
    elif output is None:
        _write_document(out_console.file, result, fmt, root)
        out_console.file.flush()
    else:
        with output.open("w", encoding="utf-8") as handle:
            _write_document(handle, result, fmt, root)
    render_decision(err_console, result, brief=True)
    render_summary(err_console, result)


def scan_command(
    path: Annotated[Path, typer.Argument(help="Directory to scan (default: here).")] = Path(),
    gate: Annotated[
        list[str] | None,
        typer.Option("--gate", "-g", help="Run this gate (repeatable; default: all)."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", help="Gate option as GATE.KEY=VALUE (repeatable)."),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, json or sarif.")
    ] = OutputFormat.TABLE,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Only findings new since this git ref block.")
    ] = None,
    baseline_file: Annotated[
        Path | None,
        typer.Option("--baseline-file", help="Only findings not in this earlier report block."),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy folder (default: PATH/.bastion/policy).")
    ] = None,
    suppressions: Annotated[
        Path | None,
        typer.Option("--suppressions", help="Default: PATH/.bastion/suppressions.yml."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds each gate may take.")
    ] = 1800.0,
    unsafe_no_sandbox: Annotated[
        bool,
        typer.Option("--unsafe-no-sandbox", help="Run scanners on the host WITHOUT isolation."),
    ] = False,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Download no vulnerability data (also BASTION_OFFLINE=1)."),
    ] = False,
    # --- secrets gate git modes (owner: secrets gate) ---
    history: Annotated[
        bool, typer.Option("--history", help="Secrets gate: every commit of the repository.")
    ] = False,
    staged: Annotated[
        bool, typer.Option("--staged", help="Secrets gate: the staged changes (pre-commit).")
    ] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="Secrets gate: the commits in REF..HEAD.")
    ] = None,
    # --- end secrets gate git modes ---
    show_all: Annotated[
        bool, typer.Option("--all", "-v", help="List low and info findings in the table too.")
    ] = False,
) -> None:
    """Run the security gates over PATH and apply the policy (exit 1 when blocked)."""
    git_mode = _secrets_git_mode(history, staged, since)
    # A git mode runs the secrets gate alone unless gates are named (then checked below).
    named = gate or (["secrets"] if git_mode is not None else [])
    specs = parse_gate_options(named, option or [])
    for unused in unused_option_gates(specs, option or []):
        _say(f"note: --option {unused}.* is not used: bastion/{unused} does not run (-g {unused})")
    request = PathScan(
        root=path,
        gates=specs,
        policy_dir=policy,
        suppressions_file=suppressions,
        baseline_file=baseline_file,
        baseline_ref=baseline,
        limits=Limits(timeout_seconds=timeout),
        on_gate_done=_progress,
        say=_say,
        cpu_history=GateCpuHistory.in_home(bastion_home()),
    )
    if not request.gates or any(spec.name == "sca" for spec in request.gates):
        # On the host, before the sandboxed gate (which has no network): issue 23.
        fetch_vulnerability_data(path, offline=offline)
    # --- secrets gate git modes (owner: secrets gate) ---
    if git_mode is not None:
        result = _scan_git_mode(request, git_mode, since, _sandbox(unsafe_no_sandbox))
    else:
        result = scan_path(request, _sandbox(unsafe_no_sandbox))
    # --- end secrets gate git modes ---
    write_report(result, OutputFormat.JSON if as_json else fmt, output, path, show_all=show_all)
    raise typer.Exit(result.exit_code)


# --- secrets gate git modes (owner: secrets gate) -------------------------------------------
def _secrets_git_mode(history: bool, staged: bool, since: str | None) -> ScanMode | None:
    """The git mode asked for with --history, --staged or --since, if any (at most one)."""
    if not (history or staged or since is not None):
        return None
    # Imported only here: the secrets gate's rule catalogue is about a sixth of this
    # command's start-up, which every scan of other gates (a CI step) would pay for nothing.
    from bastion.scanners.secrets import ScanMode

    chosen = [
        mode
        for mode, wanted in (
            (ScanMode.HISTORY, history),
            (ScanMode.STAGED, staged),
            (ScanMode.SINCE, since is not None),
        )
        if wanted
    ]
    if len(chosen) > 1:
        raise UsageError("give only one of --history, --staged and --since")
    return chosen[0] if chosen else None


def _scan_git_mode(
    request: PathScan, mode: ScanMode, since: str | None, sandbox: Sandbox
) -> GateDecision:
    """The secrets gate over git data: git runs here, the sandboxed gate scans its output.

    The tree ``scan_path`` shows has no ``.git``, so the patch stream is saved to a
    temporary folder that becomes the scanned tree; policy and suppressions stay the
    repository's own.
    """
    from bastion.scanners.secrets import GATE_NAME, SecretsGate

    if any(spec.name != GATE_NAME for spec in request.gates):
        raise UsageError(
            "--history, --staged and --since apply to the secrets gate only",
            hint="run them with --gate secrets (or no --gate)",
        )
    if request.baseline_file is not None or request.baseline_ref is not None:
        raise UsageError("--history, --staged and --since do not combine with a baseline")
    root = request.root.resolve()
    options: dict[str, Any] = dict(request.gates[0].options) if request.gates else {}
    options.update({"mode": mode.value, **({"since": since} if since else {})})
    with tempfile.TemporaryDirectory(prefix="bastion-secrets-") as private:
        # The patch holds the history's secrets: only this private folder keeps other host
        # users out; the tree inside may be read by the gate's own uid, so no copy is needed.
        tree = Path(private, "tree")
        tree.mkdir()
        tree.chmod(0o755)
        options = SecretsGate().prepare_workspace(root, tree, options)
        patched = dataclasses.replace(
            request,
            root=tree,
            gates=[GateSpec(GATE_NAME, options)],
            cpu_history=None,  # a throwaway tree of git data: nothing worth remembering
            policy_dir=request.policy_dir or root / ".bastion" / "policy",
            suppressions_file=request.suppressions_file or root / ".bastion" / "suppressions.yml",
        )
        return scan_path(patched, sandbox)


# --- end secrets gate git modes -------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add ``bastion scan``."""
    app.command("scan")(scan_command)
