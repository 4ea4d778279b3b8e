"""The drift watch fails closed environment by environment (issue 18 review): an environment
whose check cannot complete (its deploy state unreadable) is reported as drift instead of
ending the pass, so the environments after it are still checked; an environment that was
deployed but whose ``environment.json`` was removed is still watched, and drifts."""

from __future__ import annotations

import json
from pathlib import Path

from bastion.audit import AuditEvent
from bastion.deploy import DRIFT_ACTOR, DriftWatch, environment_dir

CONFIG = {"builder": "https://bastion.example/builder", "repository": "acme/app", "port": 18080}


class Sink:
    """The audit sink: every event, in order."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def __call__(self, event: AuditEvent) -> None:
        self.events.append(event)

    def outcomes(self) -> dict[str, str]:
        return {e.subject: e.action for e in self.events if e.actor == DRIFT_ACTOR}


def _environment(home: Path, name: str, *, state: str | None = None) -> Path:
    directory = environment_dir(home, name)
    directory.mkdir(parents=True)
    (directory / "environment.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    if state is not None:
        (directory / "state.json").write_text(state, encoding="utf-8")
    return directory


def test_an_unreadable_deploy_state_is_drift_and_the_pass_goes_on(tmp_path: Path) -> None:
    _environment(tmp_path, "alpha", state="{tampered")
    _environment(tmp_path, "beta")  # never deployed: nothing to differ
    sink = Sink()
    reports = DriftWatch(tmp_path, sink, interval=60.0).run_once()
    assert [(r.environment, r.drifted) for r in reports] == [("alpha", True), ("beta", False)]
    [(what, expected, found)] = reports[0].differences
    assert (what, expected) == ("check", "completed")
    assert "unreadable deploy state" in found
    assert sink.outcomes() == {
        "deploy/alpha": "deploy.drift_detected",
        "deploy/beta": "deploy.drift_checked",
    }


def test_a_deployed_environment_whose_config_was_removed_still_drifts(tmp_path: Path) -> None:
    directory = _environment(tmp_path, "prod", state=json.dumps({"active": None, "slots": {}}))
    (directory / "environment.json").unlink()
    sink = Sink()
    watch = DriftWatch(tmp_path, sink, interval=60.0)
    assert watch.environments() == ["prod"]
    [report] = watch.run_once()
    assert report.drifted
    assert report.differences[0][:2] == ("environment.json", "readable")
    assert "is not configured" in report.differences[0][2]
    assert sink.outcomes() == {"deploy/prod": "deploy.drift_detected"}
