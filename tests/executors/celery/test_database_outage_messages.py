"""Worker messages that arrive while the leases' database is away are all handled, in order,
once it answers (issue 15, fault 3): none is dropped.

Regression: the executor took its messages in batches acked on arrival, and a StoreError on
one (a job's result, whose lease could not be ended) dropped the rest of the batch; a
worker sends its result again, but not its step events, so a passed job kept a step
``running`` after a PostgreSQL restart (seen on RabbitMQ, which delivers in larger batches).
Here a stand-in worker sends signed messages straight to the executor's reply queue and
sends nothing twice, so any message dropped is a job that never finishes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bastion.errors import StoreError
from bastion.executors import (
    JobEvent,
    JobEventKind,
    JobOutcome,
    JobSpec,
    JobState,
    StepSpec,
    WorkspaceSource,
)
from bastion.executors.celery import (
    CeleryConfig,
    CeleryExecutor,
    LeaseStore,
    Pool,
    PoolKey,
    make_app,
)
from bastion.executors.celery.channel import Publisher, Subscription
from bastion.executors.celery.leases import LeaseState
from bastion.executors.celery.wire import event_to_json
from bastion.store import open_database
from tests.executors.celery.brokers import TOKENS

pytestmark = pytest.mark.integration

KEY = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())
CONTROL = "bastion.reply.standin"
WORKER = "standin.1"


class AwayWhenAsked(LeaseStore):
    """The real lease store; ending a lease fails while ``away`` is set, as a stopped
    database would."""

    away = False
    tries = 0

    def end(
        self, task_id: str, state: LeaseState, *, now: float, worker: str | None = None
    ) -> bool:
        if self.away:
            self.tries += 1
            raise StoreError("state database error: the database is away")
        return super().end(task_id, state, now=now, worker=worker)


@pytest.fixture
def standin(broker_url: str) -> Iterator[tuple[Publisher, Subscription]]:
    app = make_app(broker_url, Pool.TRUSTED)
    control = Subscription(app.connection_for_read(), KEY, CONTROL, "grant", "deny", "done")
    publisher = Publisher(app.connection_for_write(), KEY)
    yield publisher, control
    control.close()
    publisher.close()


def _spec(tmp_path: Path, job: str) -> JobSpec:
    step = StepSpec("s", ("true",), timeout_seconds=30)
    return JobSpec(run_id=5, job=job, steps=(step,), source=WorkspaceSource(str(tmp_path)))


def _event(task_id: str, event: JobEvent) -> dict[str, Any]:
    return {"type": "event", "task_id": task_id, "worker": WORKER, "event": event_to_json(event)}


def _replies(control: Subscription, kind: str, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(got) < count and time.monotonic() < deadline:
        got += [m for m in control.poll(0.2) if m["type"] == kind]
    assert len(got) == count, got
    return got


def test_messages_sent_while_the_database_is_away_are_handled_once_it_answers(
    broker_url: str, standin: tuple[Publisher, Subscription], tmp_path: Path
) -> None:
    publisher, control = standin
    leases = AwayWhenAsked(open_database(f"sqlite:///{tmp_path / 'leases.db'}"))
    # Long leases: the stand-in sends no heartbeats, and the outage is what is tested.
    config = CeleryConfig(broker_url, KEY, leases=leases, lease_seconds=120)
    executor = CeleryExecutor(config, secrets_for={})
    events: dict[str, list[JobEvent]] = {"x": [], "y": []}
    try:
        handles = {job: executor.submit(_spec(tmp_path, job), events[job].append) for job in events}
        reply_to = executor._reply  # what the job message names; read here, not consumed
        for handle in handles.values():
            claim = {"type": "claim", "task_id": handle.task_id, "worker": WORKER}
            publisher.send(reply_to, {**claim, "control": CONTROL})
        _replies(control, "grant", 2)
        leases.away = True
        passed = JobOutcome(JobState.PASSED)
        x, y = handles["x"].task_id, handles["y"].task_id
        for task_id, event in [
            (x, JobEvent(JobEventKind.FINISHED, "x", outcome=passed)),
            (y, JobEvent(JobEventKind.STEP_STARTED, "y", step_index=0, step_name="s")),
            (y, JobEvent(JobEventKind.STEP_FINISHED, "y", step_index=0, exit_code=0)),
            (y, JobEvent(JobEventKind.FINISHED, "y", outcome=passed)),
        ]:
            publisher.send(reply_to, _event(task_id, event))
        deadline = time.monotonic() + 30
        while leases.tries < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # the executor has tried, and failed, at least twice
        leases.away = False
        outcomes = {job: handle.wait(30) for job, handle in handles.items()}
        _replies(control, "done", 2)
    finally:
        executor.shutdown()
    assert leases.tries >= 2
    assert outcomes == {"x": passed, "y": passed}
    assert [e.kind for e in events["y"]] == [
        JobEventKind.STEP_STARTED,
        JobEventKind.STEP_FINISHED,
        JobEventKind.FINISHED,
    ]


def test_a_result_sent_again_after_the_job_finished_is_answered_done(
    broker_url: str, standin: tuple[Publisher, Subscription], tmp_path: Path
) -> None:
    """A finished job's task id is still known (for RETAIN_SECONDS) after the executor
    stopped following the job: a worker whose ``done`` was lost, sending its result again,
    is told ``done`` again instead of sending it for a minute."""
    publisher, control = standin
    leases = AwayWhenAsked(open_database(f"sqlite:///{tmp_path / 'leases.db'}"))
    executor = CeleryExecutor(CeleryConfig(broker_url, KEY, leases=leases), secrets_for={})
    try:
        handle = executor.submit(_spec(tmp_path, "x"), lambda event: None)
        reply_to = executor._reply
        claim = {"type": "claim", "task_id": handle.task_id, "worker": WORKER}
        publisher.send(reply_to, {**claim, "control": CONTROL})
        _replies(control, "grant", 1)
        result = JobEvent(JobEventKind.FINISHED, "x", outcome=JobOutcome(JobState.PASSED))
        publisher.send(reply_to, _event(handle.task_id, result))
        assert handle.wait(30) == JobOutcome(JobState.PASSED)
        _replies(control, "done", 1)
        publisher.send(reply_to, _event(handle.task_id, result))  # its `done` was lost
        _replies(control, "done", 1)
    finally:
        executor.shutdown()
