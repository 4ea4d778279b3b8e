"""A held deploy job's identity token is minted at hand-over, not at run start (issue 14): a
token lives at most ten minutes, so after a 20-minute approval one minted at run start reached
the deploy job already expired. The new token is masked by every holder of the run's masking,
and an issuer that gives no token at hand-over blocks the job (fails closed)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from bastion.audit import AuditEvent
from bastion.engine import ApprovalDecision, ApprovalRequest
from bastion.engine.approval_gate import gated_executor
from bastion.engine.job_identity import ID_TOKEN_FILE, TokenSource
from bastion.engine.job_resources import JobResources, prepare_job_resources
from bastion.errors import PipelineError
from bastion.executors import JobSpec, WorkspaceSource
from bastion.executors.interface import JobEvent, JobState
from bastion.pipeline import parse_pipeline, plan_pipeline
from bastion.trust import RunContext, Trust
from bastion.vault import IdentityIssuer, JobIdentity
from bastion.vault.identity import IdentityRefusedError
from tests.engine.test_approval_gate import Recorder

ISSUER = "https://ci.example"
AUDIENCE = "sts.amazonaws.com"
APPROVAL_SECONDS = 20 * 60
CONTEXT = RunContext("acme/api", "c" * 40, "refs/heads/main", "push", Trust.TRUSTED)
JOBS = f"""\
jobs:
  build:
    steps: [{{run: make}}]
  deploy:
    environment: production
    id-token: {{audience: {AUDIENCE}}}
    steps: [{{run: ./deploy}}]
"""


class Clock:
    """The issuer's clock, moved by the test (real time minus an offset, so PyJWT's own
    expiry check, which reads the real clock, judges the token as the cloud would)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() - self.offset


def _prepare(tmp_path: Path, source: TokenSource, events: list[AuditEvent]) -> JobResources:
    loaded = parse_pipeline(JOBS, source="pipeline.yml")

    def record(batch: Sequence[AuditEvent]) -> None:
        events.extend(batch)

    return prepare_job_resources(
        plan=plan_pipeline(loaded.pipeline, source=loaded.source),
        context=CONTEXT,
        run_id=7,
        pipeline_source=loaded.source,
        home=tmp_path / "home",
        scratch=tmp_path,
        log_dir=tmp_path / "logs",
        record=record,
        locate=loaded.locate,
        identity=source,
    )


def _public(issuer: IdentityIssuer) -> ec.EllipticCurvePublicKey:
    key = jwt.PyJWK(issuer.jwks()["keys"][0]).key
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def _spec(job: str) -> JobSpec:
    return JobSpec(run_id=7, job=job, steps=(), source=WorkspaceSource(path="."))


def test_an_approval_after_20_minutes_gets_a_token_from_the_hand_over(tmp_path: Path) -> None:
    clock, events = Clock(offset=APPROVAL_SECONDS), list[AuditEvent]()
    issuer = IdentityIssuer(ISSUER, clock=clock)
    resources = _prepare(tmp_path, issuer, events)
    started = clock()
    assert events == []  # nothing minted at run start for the held job
    assert "deploy" not in resources.files_for
    clock.offset = 0  # the approval came 20 minutes later
    handed = clock()
    resources.hand_over("deploy")
    token = resources.files_for["deploy"][ID_TOKEN_FILE].decode()
    claims = jwt.decode(
        token, _public(issuer), algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER
    )
    assert claims["iat"] >= handed - 1 > started + APPROVAL_SECONDS - 5
    assert claims["nbf"] <= claims["iat"] + 1
    assert 0 < claims["exp"] - claims["iat"] <= 600
    assert claims["exp"] > time.time()  # alive when the deploy job starts
    assert claims["sub"] == "repo:acme/api:ref:refs/heads/main:environment:production"
    [issued] = [e for e in events if e.action == "identity.issued"]
    assert (issued.subject, issued.details["jti"]) == ("job/deploy", claims["jti"])
    assert token not in repr(events)
    resources.close()


def test_the_token_minted_at_hand_over_is_masked_by_earlier_holders(tmp_path: Path) -> None:
    resources = _prepare(tmp_path, IdentityIssuer(ISSUER), [])
    # Taken before the hand-over, as the egress writers and auditors and a running job are.
    masking = resources.output_filter(_spec("build"))
    stream = masking.stream()
    stream(b"building...\n")
    resources.hand_over("deploy")
    token = resources.files_for["deploy"][ID_TOKEN_FILE].decode()
    signature = token.rsplit(".", 1)[1]
    log = resources.output_filter(_spec("deploy")).stream()
    printed = log(f"token={token}\n".encode()) + log(None)
    assert printed == b"token=***\n"
    assert token not in masking.text(f"step record: {token}")
    assert signature.encode() not in masking.data(f"sig={signature}".encode())
    running = stream(f"leaked {signature}\n".encode()) + stream(None)
    assert signature.encode() not in running
    assert b"leaked ***" in running
    resources.close()


class DownIssuer:
    """An issuer that gives tokens to the run's trust but is down when asked for one."""

    def issues_for(self, trust: Trust) -> bool:
        return True

    def mint(self, identity: JobIdentity, *, audience: str | Sequence[str]) -> str:
        raise IdentityRefusedError("the issuer's signing key is unavailable")


def _approve(request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
    return ApprovalDecision(True, "approved by bob and carol")


def test_a_mint_failure_at_hand_over_blocks_the_job(tmp_path: Path) -> None:
    events = list[AuditEvent]()
    resources = _prepare(tmp_path, DownIssuer(), events)
    inner = Recorder()
    executor = gated_executor(
        inner, _approve, {"deploy": "production"}, CONTEXT, on_approved=resources.hand_over
    )
    finished: queue.Queue[JobEvent] = queue.Queue()
    executor.submit(_spec("deploy"), finished.put)
    event = finished.get(timeout=5)
    assert inner.submitted == []  # never run without the token it asked for
    assert event.outcome is not None
    assert event.outcome.status is JobState.BLOCKED
    assert event.outcome.reason == (
        "approved, but not handed over: jobs.deploy.id-token: the identity issuer gave no "
        "token: the issuer's signing key is unavailable"
    )
    assert "deploy" not in resources.files_for
    assert [e.action for e in events] == []
    resources.close()


def test_a_run_that_could_not_mask_a_new_token_hands_nothing_over() -> None:
    minted: list[str] = []

    def mint(job: str) -> str:
        minted.append(job)
        return "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"

    # No run masking to extend (NoMasking): the token would reach the job's log in clear.
    resources = JobResources(mint_token=mint, tokens_held={"deploy"})
    with pytest.raises(PipelineError, match="cannot mint or mask a token"):
        resources.hand_over("deploy")
    assert (minted, resources.files_for, resources.held_for) == ([], {}, {})
