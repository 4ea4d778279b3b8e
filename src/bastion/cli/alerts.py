"""``bastion alerts list|ack|resolve|evaluate`` and ``bastion kpi``."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.audit import AuditLog
from bastion.cli.console import err_console, out_console
from bastion.cli.durations import duration_seconds
from bastion.engine.audit_trail import user_actor
from bastion.errors import UsageError
from bastion.home import bastion_home, ensure_bastion_home
from bastion.monitor import (
    AlertState,
    AlertStore,
    Evaluator,
    KpiReport,
    RuleSettings,
    Severity,
    VaultMasker,
    builtin_rules,
    compute_kpis,
    load_rule_file,
)
from bastion.store import Database, default_database_url, find_repo_root, open_database
from bastion.supplychain import LocalBlobStore
from bastion.vault import open_default_vault

__all__ = ["parse_since", "register"]

alerts_app = typer.Typer(help="Security alerts raised by the monitor.", no_args_is_help=True)
ProjectOption = Annotated[Path, typer.Option("-C", "--project", help="Project directory.")]
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default the project's).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _db(project: Path, url: str | None) -> Database:
    return open_database(url or default_database_url(find_repo_root(project)))


@alerts_app.command("list")
def list_command(
    state: Annotated[AlertState | None, typer.Option("--state")] = None,
    severity: Annotated[Severity | None, typer.Option("--severity")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    project: ProjectOption = Path(),
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Alerts, newest first."""
    alerts = AlertStore(_db(project, db)).list(state=state, severity=severity, limit=limit)
    if as_json:
        out_console.print_json(json.dumps([a.to_dict() for a in alerts]))
        return
    if not alerts:
        err_console.print("no alerts")
        return
    table = Table(show_edge=False)
    for column in ("id", "severity", "state", "rule", "title", "seen"):
        table.add_column(column)
    for a in alerts:
        table.add_row(
            str(a.id), a.severity.value, a.state.value, a.rule, a.title, str(a.occurrences)
        )
    out_console.print(table)


@alerts_app.command("ack")
def ack_command(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
    project: ProjectOption = Path(),
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Acknowledge an alert, saying why."""
    alert = AlertStore(_db(project, db)).acknowledge(alert_id, by=user_actor(), reason=reason)
    _done(alert.to_dict(), as_json)


@alerts_app.command("resolve")
def resolve_command(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    project: ProjectOption = Path(),
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resolve an alert (a later occurrence opens a new one)."""
    alert = AlertStore(_db(project, db)).resolve(alert_id, by=user_actor(), reason=reason)
    _done(alert.to_dict(), as_json)


def _done(alert: dict[str, object], as_json: bool) -> None:
    if as_json:
        out_console.print_json(json.dumps(alert))
    else:
        err_console.print(f"alert {alert['id']} is {alert['state']}")


@alerts_app.command("evaluate")
def evaluate_command(
    rules: Annotated[Path | None, typer.Option("--rules", help="Monitor rule file (YAML).")] = None,
    project: ProjectOption = Path(),
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Judge the audit events recorded since the last evaluation."""
    settings = load_rule_file(rules) if rules else RuleSettings()
    database = _db(project, db)
    log = AuditLog(database, witness=None)
    masker = VaultMasker(open_default_vault(ensure_bastion_home(), os.environ))
    report = Evaluator(database, builtin_rules(settings), masker).run_once(log.entries)
    if as_json:
        out_console.print_json(json.dumps({"events": report.events, "opened": list(report.opened)}))
    else:
        err_console.print(f"{report.events} events judged, {len(report.opened)} alerts opened")


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``--since``: ``30d``, ``12h`` or an ISO date; UsageError otherwise."""
    if text is None:
        return None
    now = now or datetime.now(UTC)
    seconds = duration_seconds(text)
    if seconds is not None:
        try:
            return now - timedelta(seconds=seconds)
        except OverflowError:  # 999999w: before year 1, where datetime ends
            raise UsageError(
                f"--since {text!r} reaches back before year 1", hint="30d, 12h or 2026-01-31"
            ) from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a duration or a date", hint="30d, 12h or 2026-01-31"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


StoreOption = Annotated[
    Path | None,
    typer.Option("--store", help="Artifact store whose SBOMs are read (default <home>/artifacts)."),
]


def _artifact_store(path: Path | None) -> LocalBlobStore | None:
    """The store named, else the home's if there is one (SBOM completeness reads it)."""
    if path is not None:
        return LocalBlobStore(path)
    default = bastion_home() / "artifacts"
    return LocalBlobStore(default) if default.is_dir() else None


def kpi_command(
    since: Annotated[str | None, typer.Option("--since", help="30d, 12h or a date.")] = None,
    repo: Annotated[str | None, typer.Option("--repo")] = None,
    project: ProjectOption = Path(),
    db: DbOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Security KPIs over finished runs, approvals and deploys."""
    report = compute_kpis(
        _db(project, db), since=parse_since(since), repo=repo, store=_artifact_store(store)
    )
    if as_json:
        out_console.print_json(json.dumps(report.to_dict()))
        return
    _render_kpis(report)


def _render_runs(table: Table, report: KpiReport) -> None:
    table.add_row("runs", str(report.runs))
    for gate, pct in report.gate_adoption.items():
        table.add_row(f"gate {gate}", f"{pct}% of {report.pipelines} pipelines")
    table.add_row(
        "found before / after production", f"{report.found_before} / {report.found_after}"
    )
    for severity, hours in report.mttr_hours.items():
        table.add_row(f"MTTR {severity}", f"{hours} h")
    table.add_row("policy compliance", f"{report.compliance_overall}%")
    for repo, pct in report.compliance.items():
        table.add_row(f"  {repo}", f"{pct}%")
    security = sum(day["security"] for day in report.failures.values())
    other = sum(day["other"] for day in report.failures.values())
    table.add_row("failed by gates / otherwise", f"{security} / {other}")


def _render_evidence(table: Table, report: KpiReport) -> None:
    if not report.approval_latency:
        table.add_row("approval latency", "no data")
    for env, latency in report.approval_latency.items():
        table.add_row(
            f"approval latency {env}",
            f"median {latency.median_minutes} min, p90 {latency.p90_minutes} min "
            f"({latency.decided} of {latency.requests} decided)",
        )
    ready = report.readiness.to_dict()
    if not report.readiness.deploys:
        table.add_row("audit readiness", "no data")
    else:
        table.add_row("audit readiness", f"{ready['ready_percent']}% of {ready['deploys']} deploys")
        for name, pct in ready["evidence_percent"].items():
            table.add_row(f"  with {name.replace('_', ' ')}", f"{pct}%")
    sbom = report.sbom.to_dict()
    table.add_row(
        "SBOM completeness",
        f"{sbom['with_sbom_percent']}% of {sbom['artifacts']} artifacts have an SBOM; "
        f"{sbom['complete_components_percent']}% of {sbom['components']} components "
        "have version and purl"
        if sbom["artifacts"]
        else "no data",
    )
    leaks = ", ".join(f"{m}: {n}" for m, n in report.secret_leaks.items())
    table.add_row("secret-leak incidents", leaks or "none")
    coverage = report.coverage.to_dict()
    for gate, pct in coverage["percent"].items():
        table.add_row(f"coverage {gate}", f"{pct}% of {coverage['repositories']} repositories")


def _render_kpis(report: KpiReport) -> None:
    if report.no_data:
        err_console.print("no data: no finished run matches")
    table = Table(show_edge=False, show_header=False)
    _render_runs(table, report)
    _render_evidence(table, report)
    out_console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``bastion alerts`` and ``bastion kpi`` to the app."""
    app.add_typer(alerts_app, name="alerts")
    app.command("kpi")(kpi_command)
