"""Progress observers: a live Rich table on a terminal, plain lines elsewhere.

Both also say what the engine tells people (:class:`Notice`, :class:`RunPrepared`): the
engine's one channel to a person is its events.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bastion.engine.events import (
    Event,
    JobChanged,
    Notice,
    RunFinished,
    RunPrepared,
    RunStarted,
    StepChanged,
)
from bastion.engine.model import JobState

__all__ = ["STATE_STYLE", "LineProgress", "LiveProgress", "announce"]

STATE_STYLE = {
    "queued": "dim",
    "running": "bold cyan",
    "passed": "bold green",
    "failed": "bold red",
    "blocked": "bold magenta",
    "cancelled": "yellow",
    "skipped": "dim",
    "error": "bold red",
}


def announce(console: Console, event: Event) -> None:
    """Print a notice or the run's opening line; other events are the board's."""
    if isinstance(event, RunPrepared):
        commit = event.context.commit or "working tree"
        console.print(
            f"run {event.run_id}: {event.pipeline_source} on {commit}"
            f" (trust {event.context.trust.value})",
            highlight=False,
        )
    elif isinstance(event, Notice):
        console.print(event.text, highlight=False, markup=False)


@dataclass
class _JobView:
    state: str = "queued"
    step: str = ""
    started: float | None = None
    finished: float | None = None
    reason: str | None = None

    def elapsed(self) -> str:
        if self.started is None:
            return ""
        end = self.finished or time.time()
        return f"{end - self.started:.1f}s"


@dataclass
class _Board:
    jobs: dict[str, _JobView] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def update(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.jobs = {name: _JobView() for name in event.jobs}
            self.kinds = dict(event.kinds)
        elif isinstance(event, JobChanged):
            view = self.jobs[event.job]
            view.state = event.state.value
            view.reason = event.reason
            if event.state is JobState.RUNNING:
                view.started = event.at
            elif event.state.final:
                view.finished = event.at
                view.step = ""
        elif isinstance(event, StepChanged) and event.state is JobState.RUNNING:
            self.jobs[event.job].step = event.name

    def table(self) -> Table:
        table = Table(show_edge=False, pad_edge=False, box=None)
        for column in ("job", "state", "step", "time"):
            table.add_column(column)
        for name, view in self.jobs.items():
            table.add_row(
                name,
                Text(view.state, style=STATE_STYLE.get(view.state, "")),
                Text(view.step, overflow="ellipsis", no_wrap=True),
                view.elapsed(),
            )
        return table


class LiveProgress:
    """A live table of jobs, their state, current step and elapsed time (terminals only)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.board = _Board()
        # get_renderable: the table is rebuilt at every refresh, so elapsed times keep ticking
        # between events.
        self.live = Live(
            console=console,
            refresh_per_second=8,
            transient=True,
            get_renderable=self.board.table,
        )

    def __call__(self, event: Event) -> None:
        announce(self.console, event)
        if isinstance(event, RunStarted):
            self.board.update(event)
            self.live.start()
        else:
            self.board.update(event)
        if isinstance(event, RunFinished):
            self.live.stop()

    def stop(self) -> None:
        self.live.stop()


class LineProgress:
    """One line per job state change, for logs and pipes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.board = _Board()

    def __call__(self, event: Event) -> None:
        announce(self.console, event)
        self.board.update(event)
        if isinstance(event, JobChanged) and event.state is not JobState.QUEUED:
            view = self.board.jobs[event.job]
            extra = f" in {view.elapsed()}" if event.state.final and view.started else ""
            why = f": {event.reason}" if event.reason and event.state.final else ""
            self.console.print(
                f"[{event.job}] {event.state.value}{extra}{why}", highlight=False, markup=False
            )

    def stop(self) -> None:
        """Nothing to tear down."""
