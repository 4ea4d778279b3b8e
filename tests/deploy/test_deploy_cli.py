"""``bastion deploy`` end to end as a user runs it (the installed command, a private home).

Kept beside the deploy tests to share their signed services; the CLI is thin over them.
"""

from __future__ import annotations

import json

from bastion.deploy import environment_dir
from tests.support import home_env, run_bastion

from .conftest import World


def _configure(world: World, name: str, **changes: object) -> None:
    directory = environment_dir(world.home, name)
    directory.mkdir(parents=True)
    data = {**world.config.to_dict(), **changes}
    (directory / "environment.json").write_text(json.dumps(data), encoding="utf-8")


def test_refused_deploy_exits_1_and_changes_nothing(world: World) -> None:
    _configure(world, "prod", repository="https://git.example/other/app", port=1)
    done = run_bastion("deploy", world.versions["v1"], "--env", "prod", env=home_env(world.home))
    assert done.returncode == 1, done.stderr
    assert "source-mismatch" in done.stderr
    assert sorted(p.name for p in environment_dir(world.home, "prod").iterdir()) == [
        "environment.json"
    ]


def test_deploy_status_drift_and_rollback(world: World) -> None:
    _configure(world, "staging")
    env = home_env(world.home)
    v1 = world.versions["v1"]
    done = run_bastion("deploy", v1, "--env", "staging", "--strategy", "direct", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "deployed"

    status = run_bastion("deploy", "status", "--env", "staging", "--json", env=env)
    active = json.loads(status.stdout)["active"]
    assert json.loads(status.stdout)["slots"][active]["digest"] == v1

    assert run_bastion("deploy", "drift", "--env", "staging", env=env).returncode == 0
    rollback = run_bastion("deploy", "rollback", "--env", "staging", env=env)
    assert rollback.returncode == 3
    assert "no running previous version" in rollback.stderr

    broken = world.versions["v2-broken"]
    done = run_bastion("deploy", broken, "--env", "staging", "--steps", "20,100", env=env)
    assert done.returncode == 1
    assert "rolled_back" in done.stdout
