"""Drift: the running process's artifact, HAProxy's weights and the config are compared."""

from __future__ import annotations

from dataclasses import replace

from bastion.deploy import DriftReport, Strategy, check_drift, watch_drift
from bastion.deploy.process import start_service, stop_service, wait_healthy

from .conftest import World


def test_no_drift_right_after_a_deploy(world: World) -> None:
    world.deployer().deploy(world.versions["v1"], Strategy.DIRECT)
    report = check_drift(world.home, world.config, world.sink, "monitor")
    assert not report.drifted
    assert world.actions()[-1][:2] == ("deploy.drift_checked", "success")


def test_drift_detected_when_the_running_digest_differs(world: World) -> None:
    world.deployer().deploy(world.versions["v1"], Strategy.DIRECT)
    running = world.state().running()
    assert running is not None
    # Out of band, someone replaces the running service with another build on its port.
    stop_service(running.pid)
    other = world.home / "deploy" / "staging" / "releases"
    v2 = other / f"{world.versions['v2'].removeprefix('sha256:')}.pyz"
    v2.write_bytes(world.store.read(world.versions["v2"]))
    pid = start_service(v2, running.port, world.home / "intruder.log")
    try:
        assert wait_healthy(pid, running.port, "/health")
        report = check_drift(world.home, world.config, world.sink, "monitor")
    finally:
        stop_service(pid)
    assert report.drifted
    assert ("digest", world.versions["v1"], world.versions["v2"]) in report.differences
    assert world.actions()[-1][:2] == ("deploy.drift_detected", "failure")


def test_drift_detected_when_config_or_weights_change(world: World) -> None:
    deployer = world.deployer()
    deployer.deploy(world.versions["v1"], Strategy.DIRECT)
    deployer.haproxy.weigh({slot: 0 for slot in world.state().slots})
    changed = replace(world.config, max_error_rate=0.5)
    report = check_drift(world.home, changed, world.sink, "monitor")
    assert {d[0] for d in report.differences} == {"config", "weights"}


def test_watch_stops_at_the_first_drift() -> None:
    reports = iter([DriftReport("e", ()), DriftReport("e", (("digest", "a", "b"),))])
    naps: list[float] = []
    result = watch_drift(lambda: next(reports), 5.0, 10, naps.append)
    assert result.drifted
    assert naps == [5.0]


def test_stopped_service_is_drift(world: World) -> None:
    world.deployer().deploy(world.versions["v1"], Strategy.DIRECT)
    running = world.state().running()
    assert running is not None
    stop_service(running.pid)
    report = check_drift(world.home, world.config, world.sink, "monitor")
    assert ("process", f"listening on {running.port}", "nothing") in report.differences
