"""Drift on a schedule (issue 18): ``bastion serve --drift-interval`` checks each deployed
environment periodically and a difference becomes an alert (audit event -> deploy-drift)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bastion.audit import AuditLog, audit_verifiers
from bastion.deploy import DRIFT_ACTOR, DriftWatch, Strategy, environment_dir
from bastion.deploy.process import free_port
from bastion.errors import UsageError
from bastion.monitor import AlertStore
from bastion.store import open_database

from .conftest import World

pytestmark = pytest.mark.integration


def _deployed(world: World) -> Path:
    """v1 deployed to staging, whose config file is written as an operator would."""
    directory = environment_dir(world.home, "staging")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "environment.json"
    path.write_text(json.dumps(world.config.to_dict()), encoding="utf-8")
    world.deployer().deploy(world.versions["v1"], Strategy.DIRECT)
    return path


def test_a_pass_checks_every_environment_and_audits_each(world: World) -> None:
    _deployed(world)
    watch = DriftWatch(world.home, world.sink, interval=60.0)
    assert watch.environments() == ["staging"]
    [report] = watch.run_once()
    assert not report.drifted
    assert world.actions()[-1][:2] == ("deploy.drift_checked", "success")


def test_an_environment_file_that_no_longer_parses_is_drift(world: World) -> None:
    """Fail closed: a watch that skipped a tampered file would be silent when it matters."""
    _deployed(world).write_text("{not json")
    [report] = DriftWatch(world.home, world.sink, interval=60.0).run_once()
    assert report.drifted
    assert report.differences[0][0] == "environment.json"
    event = list(world.log.entries())[-1].event
    assert (event.actor, event.action, event.subject) == (
        DRIFT_ACTOR,
        "deploy.drift_detected",
        "deploy/staging",
    )


def test_the_interval_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="positive"):
        DriftWatch(tmp_path, lambda event: None, interval=0)


def _serve(world: World, root: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """``bastion serve`` over ``world``'s home, monitor and drift every half second."""
    (world.home / "monitor.yml").write_text("version: 1\ninterval_seconds: 0.5\n")
    url = f"sqlite:///{root / 'server.db'}"
    env = dict(os.environ, HOME=str(root), BASTION_HOME=str(world.home))
    env.pop("BASTION_DATABASE_URL", None)
    log = root / "serve.log"
    bastion = str(Path(sys.executable).with_name("bastion"))
    port = free_port()
    argv = [bastion, "serve", "--bind", f"127.0.0.1:{port}", "--db", url]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*argv, "--drift-interval", "0.5"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    # Until it serves: its start migrates the database, which the test then reads (under CI
    # load a start took over 3 s, and reading the tables before they existed broke it).
    deadline = time.monotonic() + 90
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                break
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    return process, url, log


def _drift_alerts(url: str) -> list[dict[str, object]]:
    db = open_database(url)
    try:
        return [a.to_dict() for a in AlertStore(db).list() if a.rule == "deploy-drift"]
    finally:
        db.dispose()


def test_serve_raises_the_drift_alert_when_the_config_changes(world: World, tmp_path: Path) -> None:
    path = _deployed(world)
    process, url, log = _serve(world, tmp_path)
    try:
        time.sleep(3.0)  # several passes over the deployed environment: no drift yet
        assert process.poll() is None, log.read_text()
        assert _drift_alerts(url) == []
        # Out of band, someone edits the environment's config on the host.
        config = json.loads(path.read_text())
        path.write_text(json.dumps({**config, "max_error_rate": 0.9}))
        deadline = time.monotonic() + 30
        while not (alerts := _drift_alerts(url)) and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        process.terminate()
        process.wait(30)
    assert len(alerts) == 1, log.read_text()
    assert alerts[0]["severity"] == "high"
    assert "staging" in str(alerts[0]), alerts
    # Every drift check the server audited is sealed by a checkpoint, the last pass too.
    db = open_database(url)
    try:
        report = AuditLog(db, verifiers=audit_verifiers(world.home), witness=None).inspect()
    finally:
        db.dispose()
    assert report.ok, report.problems
    assert report.unsealed == 0
