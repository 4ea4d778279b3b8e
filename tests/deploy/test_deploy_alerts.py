"""``bastion deploy`` then ``bastion alerts evaluate``: the deploy rules judge the source the
verified provenance names (issue 16), so a trusted build raises no alert and a local build
from a feature branch raises exactly the two deploy alerts.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from bastion.deploy import environment_dir
from bastion.supplychain import attest_artifacts, load_local_signer
from bastion.trust import Trust
from tests.support import home_env, run_bastion

from .conftest import REPO, World, build_service, context


def _configure(world: World, name: str, **changes: object) -> None:
    directory = environment_dir(world.home, name)
    directory.mkdir(parents=True)
    data = {**world.config.to_dict(), **changes}
    (directory / "environment.json").write_text(json.dumps(data), encoding="utf-8")


def _deploy_and_evaluate(world: World, digest: str) -> list[dict[str, Any]]:
    """Deploy ``digest`` to staging as a user does, then judge the user's audit log."""
    env = home_env(world.home)
    done = run_bastion("deploy", digest, "--env", "staging", "--strategy", "direct", env=env)
    assert done.returncode == 0, done.stderr
    db = f"sqlite:///{world.home / 'audit.db'}"
    evaluated = run_bastion("alerts", "evaluate", "--db", db, "--json", env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    listed = run_bastion("alerts", "list", "--db", db, "--json", env=env)
    alerts: list[dict[str, Any]] = json.loads(listed.stdout)
    return alerts


def test_a_trusted_build_from_the_protected_branch_raises_no_alert(world: World) -> None:
    _configure(world, "staging")
    assert _deploy_and_evaluate(world, world.versions["v1"]) == []


def test_a_local_build_from_a_feature_branch_raises_both_deploy_alerts(
    world: World, tmp_path: Path
) -> None:
    local = replace(context(), trust=Trust.LOCAL, ref="refs/heads/feature")
    path = build_service(tmp_path / "local", "v3-local")
    key = load_local_signer(world.home)
    [done] = attest_artifacts(world.store, [path], local, key.signer)
    _configure(world, "staging", ref=None, allow_local=True)
    alerts = _deploy_and_evaluate(world, done.record.digest)
    assert sorted((a["rule"], a["severity"], a["title"]) for a in alerts) == [
        ("deploy-low-trust", "high", "deploy to staging from a run of trust local"),
        (
            "deploy-unprotected-ref",
            "critical",
            "deploy to staging from unprotected ref refs/heads/feature",
        ),
    ]
    assert all(a["repo"] == REPO for a in alerts)
