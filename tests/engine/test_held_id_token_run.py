"""A held deploy job's identity token, through one real run (real bubblewrap) (issue 14): the
approval comes 20 minutes (on the issuer's clock) after the run started; the token the job
reads is minted at that hand-over, so it is still alive, and the job printing it, or its
signature alone, leaves only the mask in its log."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bastion.audit import open_local_log
from bastion.engine import ApprovalDecision, ApprovalRequest, JobState
from bastion.engine.local_run import LocalRunOptions, prepare_run, run_local
from bastion.engine.services import local_services
from bastion.home import ensure_bastion_home
from bastion.trust import Trust
from bastion.vault import IdentityIssuer
from tests.support import git

pytestmark = pytest.mark.integration

APPROVAL_SECONDS = 20 * 60
PIPELINE = """\
jobs:
  deploy:
    environment: production
    id-token: {audience: sts.amazonaws.com}
    steps:
      - name: the token, whole, as its signature, and its claims
        run: |
          echo "token=$(cat /run/bastion/id-token)"
          echo "signature=$(cut -d. -f3 /run/bastion/id-token)"
          python3 -c 'import base64; p = open("/run/bastion/id-token").read().split(".")[1]
          print("claims=" + base64.urlsafe_b64decode(p + "==").decode())'
"""
JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")


class Clock:
    """The issuer's clock: real time minus an offset the approval removes."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() - self.offset


def test_a_deploy_approved_20_minutes_later_gets_a_live_masked_token(tmp_path: Path) -> None:
    home = ensure_bastion_home()
    repo = tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion" / "pipeline.yml").write_text(PIPELINE)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    options = LocalRunOptions(project=repo)
    prepared = prepare_run(options)
    # As the server's run of a protected branch: only trusted and release runs get a token.
    prepared.context = replace(prepared.context, trust=Trust.TRUSTED)
    clock = Clock(APPROVAL_SECONDS)
    approved_at: list[float] = []

    def approve(request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
        clock.offset = 0  # 20 minutes after the run started, on the issuer's clock
        approved_at.append(clock())
        return ApprovalDecision(True, "approved by two people")

    issuer = IdentityIssuer("https://ci.example", clock=clock)
    services = local_services(prepared, options, home=home, identity=issuer, approvals=approve)
    try:
        result = run_local(options, prepared=prepared, services=services)
        entries = open_local_log(services.store, home)[0].entries()
        issued = [dict(e.event.details) for e in entries if e.event.action == "identity.issued"]
    finally:
        services.store.dispose()

    log = (prepared.state / "logs" / str(result.run_id) / "deploy.log").read_text()
    assert dict(result.jobs) == {"deploy": JobState.PASSED}, log
    assert "token=***" in log, log
    assert "signature=***" in log, log
    assert JWT.search(log) is None, log
    claims = json.loads(log.split("claims=", 1)[1].splitlines()[0])
    assert claims["iat"] >= int(approved_at[0]) - 1  # minted at the hand-over
    assert claims["exp"] > time.time()  # still alive once the job has run
    assert [d["jti"] for d in issued if d["run"] == str(result.run_id)] == [claims["jti"]]
