"""The progress observers render every job's state, current step and elapsed time."""

from __future__ import annotations

import io

from rich.console import Console

from bastion.cli.progress import LineProgress, LiveProgress
from bastion.engine.events import (
    Event,
    JobChanged,
    Notice,
    RunFinished,
    RunPrepared,
    RunStarted,
    StepChanged,
)
from bastion.engine.model import JobState, RunContext, RunId, RunState, Trust

RUN = RunId(1)
CONTEXT = RunContext("repo", "abc", "refs/heads/main", "local", Trust.LOCAL)


def _events() -> list[Event]:
    return [
        RunStarted(
            RUN,
            CONTEXT,
            "p.yml",
            "sha256:x",
            ("test", "build"),
            {"test": (), "build": ("test",)},
            {"test": "steps", "build": "steps"},
            100.0,
        ),
        JobChanged(RUN, "test", JobState.RUNNING, 100.0),
        StepChanged(RUN, "test", 0, "unit tests", JobState.RUNNING, 100.0),
        JobChanged(RUN, "test", JobState.FAILED, 102.5, "step 'unit tests' exited with 1"),
        JobChanged(RUN, "build", JobState.SKIPPED, 102.5, "needs 'test', which failed"),
        RunFinished(RUN, RunState.FAILED, 102.6),
    ]


def test_line_progress_prints_each_final_state_with_time_and_reason() -> None:
    out = io.StringIO()
    progress = LineProgress(Console(file=out, width=200))
    for event in _events():
        progress(event)
    text = out.getvalue()
    assert "[test] running" in text
    assert "[test] failed in 2.5s: step 'unit tests' exited with 1" in text
    assert "[build] skipped: needs 'test', which failed" in text


def test_live_table_shows_state_step_and_elapsed() -> None:
    out = io.StringIO()
    progress = LiveProgress(Console(file=out, width=120, force_terminal=True))
    events = _events()
    for event in events[:3]:
        progress(event)
    table = progress.board.table()
    rendered = io.StringIO()
    Console(file=rendered, width=120).print(table)
    text = rendered.getvalue()
    assert "unit tests" in text
    assert "running" in text
    assert "queued" in text
    for event in events[3:]:
        progress(event)
    assert progress.board.jobs["test"].elapsed() == "2.5s"
    progress.stop()


def test_both_observers_say_the_engines_notices_and_the_runs_opening_line() -> None:
    told: list[Event] = [
        Notice(None, "run 7 was interrupted [not markup]", 99.0),
        RunPrepared(RUN, CONTEXT, "p.yml", 99.5),
        Notice(RUN, "created the local signing key", 100.0),
    ]
    for make in (LineProgress, LiveProgress):
        buffer = io.StringIO()
        observer = make(Console(file=buffer, width=100))
        for event in told:
            observer(event)
        observer.stop()
        assert buffer.getvalue().splitlines() == [
            "run 7 was interrupted [not markup]",
            "run 1: p.yml on abc (trust local)",
            "created the local signing key",
        ]
