"""Rollouts of the local target through a real HAProxy on loopback, two real versions."""

from __future__ import annotations

import http.client
import os
import signal
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from bastion.deploy import DeployError, DeployRefusedError, StepResult, Strategy
from bastion.deploy.haproxy import HAProxy
from bastion.deploy.interface import HAProxyError
from bastion.deploy.process import free_port, listener_pid

from .conftest import World


def _get(port: int) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3.0)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _serving(world: World) -> set[str]:
    return {_get(world.config.port)[1] for _ in range(6)}


def test_unverified_artifact_is_refused_before_anything_changes(world: World) -> None:
    world.config = replace(world.config, repository="https://git.example/other/app")
    with pytest.raises(DeployRefusedError) as caught:
        world.deployer().deploy(world.versions["v1"], Strategy.DIRECT)
    assert caught.value.reason == "source-mismatch"
    assert caught.value.exit_code == 1
    assert not (world.home / "deploy").exists()  # no state, no release, no HAProxy
    assert world.actions() == [("deploy.verified", "denied", caught.value.reason)]


def test_canary_of_a_broken_version_rolls_back(world: World) -> None:
    deployer = world.deployer()
    assert deployer.deploy(world.versions["v1"], Strategy.DIRECT).ok
    assert _serving(world) == {"v1"}

    result = deployer.deploy(world.versions["v2-broken"], Strategy.CANARY, (10, 50, 100))

    assert result.outcome == "rolled_back"
    assert result.reason == "error-rate"
    [step] = result.steps
    assert step.percent == 10
    assert step.responses > 0
    assert step.error_rate == 1.0
    assert _serving(world) == {"v1"}
    assert set(world.state().slots) == {world.state().active}  # broken version stopped
    actions = world.actions()
    assert ("deploy.step", "failure", "error-rate") in actions
    assert actions[-1] == ("deploy.rolled_back", "failure", "error-rate")
    promoted = [p.digest for p in world.store.promotions("staging")]
    assert promoted == [world.versions["v1"]]


def test_canary_of_a_good_version_completes(world: World) -> None:
    deployer = world.deployer()
    deployer.deploy(world.versions["v1"], Strategy.DIRECT)
    result = deployer.deploy(world.versions["v2"], Strategy.CANARY, (10, 50, 100))
    assert result.ok
    assert [s.percent for s in result.steps] == [10, 50, 100]
    assert _serving(world) == {"v2"}
    assert len(world.state().slots) == 1  # canary keeps no standby
    assert world.actions()[-1] == ("deploy.completed", "success", "")


def test_haproxy_dying_mid_canary_rolls_back(world: World) -> None:
    def kill_proxy(step: StepResult) -> None:
        pid = world.state().haproxy_pid
        assert pid is not None
        if step.percent == 10:
            os.kill(pid, signal.SIGKILL)

    world.deployer().deploy(world.versions["v1"], Strategy.DIRECT)
    result = world.deployer(kill_proxy).deploy(world.versions["v2"], Strategy.CANARY)
    assert result.outcome == "rolled_back"
    assert result.reason.startswith("haproxy-failed")
    assert _serving(world) == {"v1"}  # HAProxy restarted with the previous version
    assert world.actions()[-1][:2] == ("deploy.rolled_back", "failure")


def test_blue_green_switch_and_switch_back(world: World) -> None:
    deployer = world.deployer()
    deployer.deploy(world.versions["v1"], Strategy.DIRECT)
    assert deployer.deploy(world.versions["v2"], Strategy.BLUE_GREEN).ok
    assert _serving(world) == {"v2"}
    assert len(world.state().slots) == 2  # v1 kept as the standby

    deployer.rollback()

    assert _serving(world) == {"v1"}
    assert world.actions()[-1] == ("deploy.rolled_back", "success", "manual")


def test_blue_green_of_a_broken_version_switches_back(world: World) -> None:
    deployer = world.deployer()
    deployer.deploy(world.versions["v1"], Strategy.DIRECT)
    result = deployer.deploy(world.versions["v2-broken"], Strategy.BLUE_GREEN)
    assert result.outcome == "rolled_back"
    assert _serving(world) == {"v1"}


def test_rollback_without_a_standby_is_an_error(world: World) -> None:
    deployer = world.deployer()
    deployer.deploy(world.versions["v1"], Strategy.DIRECT)
    with pytest.raises(DeployError, match="no running previous version"):
        deployer.rollback()
    running = world.state().running()
    assert running is not None
    assert listener_pid(running.port) == running.pid


@pytest.mark.parametrize("steps", [(), (50, 10, 100), (10, 50), (0, 100)])
def test_canary_steps_must_rise_to_100(world: World, steps: tuple[int, ...]) -> None:
    with pytest.raises(DeployError, match="canary steps"):
        world.deployer().deploy(world.versions["v1"], Strategy.CANARY, steps)


def test_a_deep_environment_folder_gets_a_short_private_socket(tmp_path: Path) -> None:
    """sun_path holds 108 bytes: a deep home (as under pytest-xdist) must still work."""
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "deploy" / "staging"
    deep.mkdir(parents=True)
    proxy = HAProxy(deep, 8080)
    assert len(str(proxy.socket_path)) <= 97
    assert proxy.socket_path.parent.stat().st_mode & 0o077 == 0
    assert HAProxy(deep, 8080).socket_path == proxy.socket_path  # stable for later commands
    shallow = tmp_path / "env"
    shallow.mkdir()
    assert HAProxy(shallow, 8080).socket_path == shallow / "haproxy.sock"


def test_a_port_in_use_is_named_when_haproxy_refuses_to_start(tmp_path: Path) -> None:
    """HAProxy's -q silenced its alerts too: a refusal said nothing at all."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        proxy = HAProxy(tmp_path / "env", taken.getsockname()[1])
        with pytest.raises(HAProxyError, match="Address already in use"):
            proxy.start({})


def test_free_ports_are_below_the_range_outgoing_connections_take() -> None:
    """A port the kernel hands out for bind(0) may go to any outgoing connection before the
    listener binds it (HAProxy then refused to start under parallel tests)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(1024 <= port < low for port in ports)
    assert len(ports) > 1  # picked at random, so parallel tests seldom meet


def test_a_socket_path_haproxy_takes_for_too_long_moves_too(tmp_path: Path) -> None:
    """HAProxy's own limit is 97 (sun_path less its ".<pid>.tmp"): a 100-character path,
    as under pytest-10's folders, failed the start with "socket path too long"."""
    folder = tmp_path / ("f" * (100 - len(str(tmp_path)) - len("/haproxy.sock") - 1))
    folder.mkdir()
    assert len(str(folder / "haproxy.sock")) == 100
    proxy = HAProxy(folder, free_port())
    assert proxy.socket_path.parent != folder
    pid = proxy.start({})
    try:
        assert "Name: HAProxy" in proxy.command("show info")
    finally:
        proxy.stop(pid)
