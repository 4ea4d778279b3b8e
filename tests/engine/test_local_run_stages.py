"""A local run's four stages (issue 21 §4): prepare → execute → attest → record.

Whole runs on a small git repository with real bubblewrap: the run is finished only after
its attestations (the audit log holds a signed checkpoint over every artifact event when
``RunFinished`` is told), and everything a person is told comes as events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bastion.engine.events import Event, Notice, RunFinished, RunPrepared, RunStarted
from bastion.engine.local_run import LocalRunOptions, prepare_run, run_local
from bastion.engine.model import RunState
from bastion.engine.services import local_services
from bastion.home import ensure_bastion_home
from bastion.store import RunRecord
from tests.support import git

pytestmark = pytest.mark.integration

_PIPELINE = """\
jobs:
  build:
    steps:
      - run: mkdir -p dist && echo built > dist/app.txt
    artifacts: ["dist/*"]
"""


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion" / "pipeline.yml").write_text(_PIPELINE)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    return repo


def test_the_run_is_finished_after_its_attestations_are_checkpointed(tmp_path: Path) -> None:
    options = LocalRunOptions(project=_repo(tmp_path))
    prepared = prepare_run(options)
    services = local_services(prepared, options, home=ensure_bastion_home())
    events: list[Event] = []
    at_finish: dict[str, object] = {}

    def observe(event: Event) -> None:
        events.append(event)
        if isinstance(event, RunFinished):
            log = services.audit()[0]
            actions = [entry.event.action for entry in log.entries()]
            checkpoint = log.latest_checkpoint()
            at_finish["covered"] = actions[: checkpoint.size] if checkpoint else []
            at_finish["actions"] = actions

    try:
        result = run_local(options, observers=[observe], prepared=prepared, services=services)
        with services.store.session() as session:
            record = session.get(RunRecord, result.run_id)
            assert record is not None
            assert record.status == "passed"
    finally:
        services.store.dispose()

    assert result.state is RunState.PASSED
    assert result.attestations
    assert isinstance(events[0], RunPrepared)
    assert events[0].run_id == result.run_id
    assert isinstance(events[-1], RunFinished)
    assert sum(isinstance(e, RunStarted) for e in events) == 1
    # The attest stage's checkpoint covers the artifact; run.finished comes after it.
    assert "artifact.stored" in at_finish["covered"]  # type: ignore[operator]
    assert "run.finished" not in at_finish["covered"]  # type: ignore[operator]
    assert at_finish["actions"][-1] == "run.finished"  # type: ignore[index]


def test_interrupted_runs_are_told_as_notices_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path)
    options = LocalRunOptions(project=repo)
    prepared = prepare_run(options)
    with prepared.db.session() as session:
        # Long ago, with no lock held: its process is gone.
        long_ago = datetime.now(UTC) - timedelta(days=1)
        session.add(
            RunRecord(
                repo="r",
                event="local",
                trust="local",
                pipeline_path="p",
                pipeline_digest="d",
                status="running",
                created_at=long_ago,
            )
        )
    prepared.db.dispose()
    events: list[Event] = []

    run_local(options, observers=[events.append])

    notices = [e.text for e in events if isinstance(e, Notice)]
    assert any("was interrupted" in text for text in notices)
    assert capsys.readouterr() == ("", "")
