"""Environment-scoped secrets (issue 14): a secret scoped to an environment reaches only the
job deploying there, and only once its approval gate approved it; no other job of the run,
and never a deploy that was refused. No sandbox needed: what an executor can read is
exactly ``env_for``/``files_for`` (tests/engine/test_stage_identities.py runs it for real)."""

from __future__ import annotations

import base64
import os
import queue
import threading
from pathlib import Path

import pytest

from bastion.audit import AuditEvent
from bastion.engine import ApprovalDecision, ApprovalRequest
from bastion.engine.approval_gate import gated_executor
from bastion.engine.job_resources import HANDED_OVER, JobResources, prepare_job_resources
from bastion.engine.model import RunContext, Trust
from bastion.errors import StoreError, VaultError
from bastion.executors.interface import (
    JobEvent,
    JobEventSink,
    JobHandle,
    JobSpec,
    WorkspaceSource,
)
from bastion.pipeline import parse_pipeline, plan_pipeline
from bastion.vault import IdentityIssuer, Scope, open_default_vault
from tests.engine.test_approval_gate import Recorder

DEPLOY_KEY = "dk_7Hq2Lm9Xz4Tw8Rb3Vn6P"
CONTEXT = RunContext("acme/api", "c0ffee", "refs/heads/main", "push", Trust.TRUSTED)
JOBS = (
    "  build:\n    steps: [{run: 'true'}]\n"
    "  deploy:\n    environment: production\n    secrets: [DEPLOY_KEY]\n"
    "    id-token: {audience: cloud}\n    steps: [{run: 'true'}]\n"
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BASTION_VAULT_KEK", base64.b64encode(os.urandom(32)).decode())
    path = tmp_path / "home"
    vault = open_default_vault(path, os.environ)
    vault.set("DEPLOY_KEY", DEPLOY_KEY, Scope.build(environments=["production"]))
    return path


def _prepare(
    tmp_path: Path, home: Path, jobs: str = JOBS, audited: list[AuditEvent] | None = None
) -> JobResources:
    loaded = parse_pipeline(f"jobs:\n{jobs}", source="pipeline.yml")
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return prepare_job_resources(
        plan=plan_pipeline(loaded.pipeline, source=loaded.source),
        context=CONTEXT,
        run_id=7,
        pipeline_source=loaded.source,
        home=home,
        scratch=scratch,
        log_dir=tmp_path / "logs",
        record=(audited.extend if audited is not None else lambda _events: None),
        identity=IdentityIssuer("https://bastion.example"),
    )


def test_a_deploy_jobs_secret_and_token_are_held_until_approved(tmp_path: Path, home: Path) -> None:
    audited: list[AuditEvent] = []
    resources = _prepare(tmp_path, home, audited=audited)
    assert resources.env_for == {}
    assert resources.files_for == {}  # neither the secret nor the identity token
    assert sorted(resources.held_for["deploy"][1]) == ["DEPLOY_KEY"]  # the token: at hand-over
    released = [e for e in audited if e.action == "secret.released"]
    assert [e.details for e in released] == [
        {"job": "deploy", "run": "7", "held_until_approval_of": "production"}
    ]
    resources.hand_over("deploy")
    assert resources.env_for == {"deploy": {"DEPLOY_KEY": DEPLOY_KEY}}
    assert resources.files_for["deploy"]["DEPLOY_KEY"] == DEPLOY_KEY.encode()
    assert [e.details for e in audited if e.action == HANDED_OVER] == [
        {"job": "deploy", "run": "7", "names": "DEPLOY_KEY,id-token"}
    ]
    # The value is masked in every job's output from the start, held or not.
    masked = resources.output_filter(_spec("build")).text(f"key={DEPLOY_KEY}")
    assert masked == "key=***"
    resources.close()


@pytest.mark.parametrize("job", ["build", "publish"])
def test_no_other_job_of_the_run_may_ask_for_it(tmp_path: Path, home: Path, job: str) -> None:
    jobs = JOBS + f"  {job}x:\n    secrets: [DEPLOY_KEY]\n    steps: [{{run: 'true'}}]\n"
    with pytest.raises(VaultError) as raised:
        _prepare(tmp_path, home, jobs)
    assert f"secret DEPLOY_KEY is not released to job {job}x" in raised.value.message
    assert "environment 'no environment' is not one of ['production']" in raised.value.message


def _spec(job: str) -> JobSpec:
    return JobSpec(run_id=7, job=job, steps=(), source=WorkspaceSource(path="."))


def _through_gate(resources: JobResources, approved: bool) -> tuple[Recorder, dict[str, str]]:
    """The deploy job through the engine's gated executor; what the executor could read."""
    seen: dict[str, str] = {}

    class Reading(Recorder):
        def submit(self, spec: JobSpec, on_event: JobEventSink) -> JobHandle:
            seen.update(resources.env_for.get(spec.job, {}))
            return super().submit(spec, on_event)

    def gate(request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
        return ApprovalDecision(approved, "approved" if approved else "rejected by carol")

    inner = Reading()
    executor = gated_executor(
        inner, gate, {"deploy": "production"}, CONTEXT, on_approved=resources.hand_over
    )
    events: queue.Queue[JobEvent] = queue.Queue()
    executor.submit(_spec("deploy"), events.put).wait(5)
    return inner, seen


def test_a_refused_deploy_never_gets_the_secret(tmp_path: Path, home: Path) -> None:
    resources = _prepare(tmp_path, home)
    inner, seen = _through_gate(resources, approved=False)
    assert inner.submitted == []
    assert seen == {}
    assert "deploy" not in resources.env_for
    assert "deploy" not in resources.files_for


def test_an_approved_deploy_gets_it_as_it_starts(tmp_path: Path, home: Path) -> None:
    resources = _prepare(tmp_path, home)
    inner, seen = _through_gate(resources, approved=True)
    assert inner.submitted == ["deploy"]
    assert seen == {"DEPLOY_KEY": DEPLOY_KEY}


def test_a_hand_over_that_cannot_be_audited_blocks_the_job(tmp_path: Path, home: Path) -> None:
    resources = _prepare(tmp_path, home)

    def refuse(_events: object) -> None:
        raise StoreError("cannot write the audit log: disk full")

    resources.record = refuse
    inner, seen = _through_gate(resources, approved=True)
    assert inner.submitted == []
    assert seen == {}
    assert "deploy" in resources.held_for
