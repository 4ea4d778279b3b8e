"""Each request through a job's egress proxy is an ``egress.request`` audit event (issue 16):
a whole ``bastion run`` (real bubblewrap) with one allowed and one refused request, then
``bastion alerts evaluate`` raises egress-denied for the refused one, and nothing for the
first host a job reaches (learned silently)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.test_run_secrets_egress import _FETCH, bastion, env, make_repo, server_port

__all__ = ["env", "server_port"]  # the fixtures, shared with the egress run tests

pytestmark = pytest.mark.integration


def _pipeline(port: int) -> str:
    return f"""
jobs:
  reach:
    network: ["127.0.0.1:{port}"]
    steps:
      - run: python3 fetch.py http://127.0.0.1:{port}/hello
  denied:
    network: [example.org]
    steps:
      - run: python3 fetch.py http://127.0.0.1:{port}/hello
"""


def test_egress_requests_are_audited_and_a_refused_one_alerts(
    tmp_path: Path, env: dict[str, str], server_port: int
) -> None:
    repo = make_repo(tmp_path, _pipeline(server_port), {"fetch.py": _FETCH})
    done = bastion(env, "run", "-C", str(repo), "--json")
    assert done.returncode == 0, done.stderr
    exported = bastion(env, "audit", "export", "-C", str(repo), "--action", "egress.request")
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    events = [json.loads(line["body"]) for line in lines if line["type"] == "event"]
    assert sorted((e["details"]["job"], e["outcome"]) for e in events) == [
        ("denied", "denied"),
        ("reach", "success"),
    ]
    evaluated = bastion(env, "alerts", "evaluate", "-C", str(repo))
    assert evaluated.returncode == 0, evaluated.stderr
    listed = bastion(env, "alerts", "list", "-C", str(repo), "--json")
    alerts = [(a["rule"], a["title"]) for a in json.loads(listed.stdout)]
    assert [a for a in alerts if a[0].startswith(("egress", "new-egress"))] == [
        ("egress-denied", f"egress to 127.0.0.1 denied for job denied of {repo}")
    ]
