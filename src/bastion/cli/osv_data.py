"""Before ``bastion scan`` runs the SCA gate: fetch the OSV data it needs, with a progress bar.

The gate runs sandboxed without network, so the download happens here, on the host
(:func:`bastion.scanners.sca.fetch.ensure_data`); offline, or with no route to the source,
one message says what to import instead and the gate judges with what there is (an
ecosystem with no data at all still fails it closed).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

from bastion.cli.console import err_console
from bastion.scanners.sca import FetchOutcome, ensure_data

__all__ = ["fetch_vulnerability_data"]


@contextmanager
def _bar() -> Iterator[Progress]:
    columns = (TextColumn("OSV {task.description}"), BarColumn(), DownloadColumn())
    # Rich draws a live bar only on a terminal; elsewhere only the final lines show.
    with Progress(*columns, console=err_console, transient=False) as progress:
        yield progress


def fetch_vulnerability_data(root: Path, *, offline: bool) -> FetchOutcome:
    """Fetch missing or stale data for ``root``'s ecosystems; print what happened to stderr."""
    tasks: dict[str, TaskID] = {}
    with _bar() as progress:

        def advance(ecosystem: str, done: int, total: int | None) -> None:
            if ecosystem not in tasks:
                tasks[ecosystem] = progress.add_task(ecosystem, total=total)
            progress.update(tasks[ecosystem], completed=done, total=total)

        outcome = ensure_data(
            root,
            offline=offline,
            progress=advance,
            say=lambda line: err_console.print(line, highlight=False),
        )
    for result in outcome.fetched:
        err_console.print(
            f"OSV {result.ecosystem}: {result.meta.records} records of "
            f"{result.meta.snapshot_date} ({result.verification})",
            highlight=False,
        )
    for message in outcome.messages:
        err_console.print(f"[yellow]note:[/] {message}", highlight=False)
    return outcome
