"""The drift watch fails closed environment by environment (issue 18 review): an environment
whose check cannot complete (its deploy state unreadable) is reported as drift instead of
ending the pass, so the environments after it are still checked; an environment that was
deployed but whose ``environment.json`` was removed is still watched, and drifts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.audit import AuditEvent
from bastion.deploy import DRIFT_ACTOR, DriftWatch, environment_dir
from bastion.deploy.process import free_port
from bastion.errors import UsageError

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


@pytest.mark.parametrize("interval", [float("nan"), float("inf"), 1e300, -1.0, 0.0])
def test_an_interval_that_is_not_a_finite_positive_time_is_refused(
    tmp_path: Path, interval: float
) -> None:
    # NaN: Event.wait(nan) returns at once, a pass after pass; inf: it raises in the thread.
    with pytest.raises(UsageError, match="must be a positive number of seconds") as refused:
        DriftWatch(tmp_path, Sink(), interval=interval)
    assert refused.value.hint == "e.g. --drift-interval 300, or 0 for no drift checks"


def test_serve_refuses_an_infinite_drift_interval_naming_the_fix(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "BASTION_HOME": str(tmp_path / "home")}
    env.pop("BASTION_DATABASE_URL", None)
    bastion = str(Path(sys.executable).with_name("bastion"))
    database, bind = f"sqlite:///{tmp_path / 'server.db'}", f"127.0.0.1:{free_port()}"
    done = subprocess.run(
        [bastion, "serve", "--bind", bind, "--db", database, "--drift-interval", "inf"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "drift interval inf must be a positive number of seconds" in done.stderr
    assert "Traceback" not in done.stderr
