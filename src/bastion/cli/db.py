"""``bastion db update|import|status``: the OSV vulnerability database the SCA gate judges by.

After an update or import, what every environment runs (its latest promotion's CycloneDX
SBOM) is matched again: a newly published advisory against a deployed package becomes a
post-deployment finding and a ``post-deployment-vulnerability`` alert in the server's
database (``--alerts-db``), queued for the sinks of ``$BASTION_HOME/monitor.yml``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.cli.console import err_console, out_console
from bastion.errors import UsageError
from bastion.home import ensure_bastion_home
from bastion.monitor import (
    MONITOR_FILE,
    RescanReport,
    VaultMasker,
    load_monitor_config,
    rescan_deployed,
)
from bastion.scanners.sca import (
    Database,
    ImportSummary,
    UpdateError,
    ecosystems_in_tree,
    import_path,
    status,
    update,
)
from bastion.scanners.sca.index import IndexMeta
from bastion.scanners.sca.paths import osv_dir
from bastion.scanners.sca.update import DEFAULT_ECOSYSTEMS, UpdateResult
from bastion.scanners.sca.versions import SUPPORTED_ECOSYSTEMS
from bastion.server import default_server_database_url
from bastion.store import open_database
from bastion.supplychain import LocalBlobStore
from bastion.vault import open_default_vault

__all__ = ["register"]

db_app = typer.Typer(
    help="The OSV vulnerability database used by the SCA gate.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
EcosystemOption = Annotated[
    list[str] | None,
    typer.Option("--ecosystem", "-e", help="An OSV ecosystem (repeatable), e.g. PyPI, npm, Go."),
]
AlertsDbOption = Annotated[
    str | None,
    typer.Option(
        "--alerts-db",
        help="Database of post-deployment findings and alerts (default: the server's).",
    ),
]


def rescan(alerts_db: str | None) -> RescanReport:
    """Match what every environment runs against the database just updated; record new
    post-deployment findings and alert (masked with the vault, queued for monitor.yml's
    sinks; a monitor.yml that does not parse fails with its file and line)."""
    home = ensure_bastion_home()
    sinks = [sink.name for sink in load_monitor_config(home / MONITOR_FILE).sinks()]
    masker = VaultMasker(open_default_vault(home, os.environ))
    database = open_database(alerts_db or default_server_database_url())
    vulns = Database.open()
    try:
        store = LocalBlobStore(home / "artifacts")
        return rescan_deployed(database, store, vulns, masker, sinks)
    finally:
        vulns.close()
        database.dispose()


def _print_rescan(report: RescanReport) -> None:
    text = (
        f"re-scanned {report.artifacts} deployed artifacts ({report.packages} packages): "
        f"{report.new_findings} new post-deployment findings"
    )
    if report.opened:
        text += f", alerts {', '.join(f'#{i}' for i in report.opened)}"
    if report.unjudged_ecosystems:
        text += f"; no data for {', '.join(report.unjudged_ecosystems)}"
    err_console.print(text, highlight=False)


def _check_ecosystems(ecosystems: list[str] | None) -> list[str] | None:
    for name in ecosystems or []:
        if name not in SUPPORTED_ECOSYSTEMS:
            raise UsageError(
                f"unknown ecosystem {name!r}",
                hint=f"use one of: {', '.join(SUPPORTED_ECOSYSTEMS)} (OSV spelling)",
            )
    return ecosystems


def _table(metas: list[IndexMeta]) -> Table:
    table = Table(show_edge=False)
    for column in ("ecosystem", "records", "packages", "withdrawn", "date", "age (days)", "source"):
        table.add_column(column)
    for meta in metas:
        table.add_row(
            meta.ecosystem,
            str(meta.records),
            str(meta.packages),
            str(meta.withdrawn),
            meta.snapshot_date,
            str(meta.age_days()),
            meta.source,
        )
    return table


def _chosen(path: Path | None, ecosystems: list[str] | None) -> list[str]:
    """``--ecosystem`` values plus what PATH's manifests name; the defaults when neither."""
    named = _check_ecosystems(ecosystems) or []
    found = ecosystems_in_tree(path) if path is not None else []
    return sorted({*named, *found}) or list(DEFAULT_ECOSYSTEMS)


def _print_results(results: tuple[UpdateResult, ...] | list[UpdateResult]) -> None:
    for result in results:
        err_console.print(
            f"{result.ecosystem}: {result.size} bytes from {result.url}, "
            f"verified by {result.verification}",
            highlight=False,
        )


@db_app.command("update")
def update_command(
    path: Annotated[
        Path | None,
        typer.Argument(help="A project: update the ecosystems its manifests and lock files use."),
    ] = None,
    ecosystems: EcosystemOption = None,
    mirror: Annotated[
        str | None, typer.Option("--mirror", help="Base URL serving <Ecosystem>/all.zip.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request.")] = 60.0,
    alerts_db: AlertsDbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Download, verify and index OSV archives (default: the main language ecosystems),
    then re-scan what the environments run."""
    chosen = _chosen(path, ecosystems)
    err_console.print(f"updating {', '.join(chosen)} into {osv_dir()}", highlight=False)
    try:
        results = update(chosen, mirror=mirror, timeout=timeout)
    except UpdateError as exc:
        _print_results(exc.results)  # those were swapped in; the error names the rest
        raise
    _print_rescan(rescan(alerts_db))
    if as_json:
        payload = [
            {**r.meta.to_dict(), "url": r.url, "bytes": r.size, "verification": r.verification}
            for r in results
        ]
        out_console.print_json(json.dumps(payload))
        return
    _print_results(results)
    out_console.print(_table([r.meta for r in results]))


def _summary_line(summary: ImportSummary) -> str:
    text = f"read {summary.records} records as {summary.layout}"
    if summary.skipped:
        examples = ", ".join(summary.skipped_examples)
        more = ", ..." if summary.skipped > len(summary.skipped_examples) else ""
        text += f"; skipped {summary.skipped} files that are not records ({examples}{more})"
    return text


@db_app.command("import")
def import_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A zip or folder of OSV records, or a clone of pypa/advisory-database, "
            "golang/vulndb, github/advisory-database or rustsec/advisory-db (osv branch)."
        ),
    ],
    ecosystems: EcosystemOption = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Name of the data's origin, shown in reports.")
    ] = None,
    date: Annotated[
        str | None,
        typer.Option("--date", help="The data's date (YYYY-MM-DD); default: newest record."),
    ] = None,
    alerts_db: AlertsDbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import OSV records from a local file or folder (air-gapped machines), then re-scan
    what the environments run."""
    if date is not None:
        import datetime as dt

        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise UsageError(f"--date {date!r} is not YYYY-MM-DD") from None
    summary = import_path(
        path, source=source, snapshot_date=date, ecosystems=_check_ecosystems(ecosystems)
    )
    _print_rescan(rescan(alerts_db))
    if as_json:
        out_console.print_json(json.dumps(summary.to_dict()))
        return
    err_console.print(f"imported {path} into {osv_dir()}", highlight=False)
    err_console.print(_summary_line(summary), highlight=False)
    out_console.print(_table(list(summary.metas)))


@db_app.command("status")
def status_command(as_json: JsonOption = False) -> None:
    """Source, date, age and counts of each ecosystem's index."""
    metas = status()
    if as_json:
        out_console.print_json(
            json.dumps({"directory": str(osv_dir()), "ecosystems": [m.to_dict() for m in metas]})
        )
        return
    if not metas:
        snapshot = Database.open(osv_dir())
        err_console.print(
            f"no database in {osv_dir()}: {snapshot.notes[0]} (or `bastion db import PATH`)",
            highlight=False,
        )
        snapshot.close()
        return
    out_console.print(_table(metas))


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group to ``app``."""
    app.add_typer(db_app, name="db")
