"""Issues 15 + 14: a Celery job's identity token travels in its grant, like its secrets.

Real ``bastion worker`` processes on a private Redis; the engine's own pieces decide: the
run's resources come from ``prepare_job_resources`` with a real issuer (the deploy job's
token is minted at hand-over, once its approval gate approves), and the executor is the one
``bastion run --executor celery`` builds (:func:`~bastion.engine.services.celery_executor`).
The job reads its token from ``/run/bastion/id-token``, prints its digest and the token
itself: the digest matches, the token and its signature come back masked.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bastion.audit import AuditEvent
from bastion.engine.approval_gate import ApprovalDecision, ApprovalRequest, gated_executor
from bastion.engine.job_identity import ID_TOKEN_FILE
from bastion.engine.job_resources import JobResources, prepare_job_resources
from bastion.engine.services import celery_executor
from bastion.executors import JobEvent, JobEventKind, JobSpec, JobState, StepSpec, WorkspaceSource
from bastion.executors.celery import (
    TOKEN_ENV,
    CeleryConfig,
    CeleryExecutor,
    CeleryJobHandle,
    Pool,
    PoolKey,
    seal_grant,
)
from bastion.executors.interface import Executor, JobOutcome
from bastion.pipeline import parse_pipeline, plan_pipeline
from bastion.sandbox import UnsafeHostRunner
from bastion.trust import RunContext, Trust
from bastion.vault import IdentityIssuer
from tests.executors.celery.brokers import TOKENS, redis_server, start_worker, stop

pytestmark = pytest.mark.integration

CONTEXT = RunContext("acme/app", "c" * 40, "refs/heads/main", "push", Trust.TRUSTED)
JOBS = """\
jobs:
  sign:
    id-token: {audience: sigstore}
    steps: [{run: make}]
  deploy:
    environment: production
    id-token: {audience: sts.amazonaws.com}
    steps: [{run: ./deploy}]
"""
SCRIPT = (
    'f=/run/bastion/id-token; t=$(cat "$f"); sha256sum "$f"; echo "token=$t"; '
    'echo "sig=${t##*.}"; echo "mode=$(stat -c %a "$f") fs=$(stat -f -c %T /run/bastion)"'
)


@pytest.fixture(scope="module")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def worker(broker_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("worker")
    process = start_worker(broker_url, "trusted", home)
    yield home
    stop(process)


def _resources(tmp_path: Path) -> JobResources:
    """What ``bastion run`` prepares: ``sign``'s token minted, ``deploy``'s held."""
    loaded = parse_pipeline(JOBS, source="pipeline.yml")
    events: list[AuditEvent] = []

    def record(batch: Sequence[AuditEvent]) -> None:
        events.extend(batch)

    return prepare_job_resources(
        plan=plan_pipeline(loaded.pipeline, source=loaded.source),
        context=CONTEXT,
        run_id=21,
        pipeline_source=loaded.source,
        home=tmp_path / "home",
        scratch=tmp_path,
        log_dir=tmp_path / "logs",
        record=record,
        locate=loaded.locate,
        identity=IdentityIssuer("https://ci.example"),
    )


def _approve(request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
    return ApprovalDecision(True, "approved")


def _run(executor: Executor, job: str, tmp_path: Path) -> tuple[JobOutcome | None, str]:
    (tmp_path / "project").mkdir(exist_ok=True)
    step = StepSpec("s", ("/bin/sh", "-e", "-c", SCRIPT), timeout_seconds=60)
    source = WorkspaceSource(str(tmp_path / "project"))
    spec = JobSpec(run_id=21, job=job, steps=(step,), source=source)
    events: list[JobEvent] = []
    try:
        outcome = executor.submit(spec, events.append).wait(90)
    finally:
        executor.shutdown()
    output = b"".join(e.data for e in events if e.kind is JobEventKind.OUTPUT)
    return outcome, output.decode()


def _executor(broker: str, tmp_path: Path, resources: JobResources) -> Executor:
    """The executor ``bastion run --executor celery`` builds for this run."""
    build = celery_executor(broker, tmp_path / "home", Trust.TRUSTED)
    return build(UnsafeHostRunner(), tmp_path, resources)


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKENS["trusted"])


def _assert_token_read_and_masked(token: str, outcome: JobOutcome | None, output: str) -> None:
    assert outcome is not None
    assert outcome.status is JobState.PASSED, (outcome, output)
    assert hashlib.sha256(token.encode()).hexdigest() in output  # the job read the token
    assert "token=" in output
    assert "sig=" in output
    assert token not in output  # and its log shows it masked,
    assert token.rsplit(".", 1)[1] not in output  # its signature alone too
    assert "mode=400 " in output or "mode=444 " in output  # read-only, like a local job's
    assert "fs=tmpfs" in output


@pytest.mark.usefixtures("token_env")
def test_job_reads_its_id_token_masked(broker_url: str, worker: Path, tmp_path: Path) -> None:
    resources = _resources(tmp_path)
    token = resources.files_for["sign"][ID_TOKEN_FILE].decode()
    outcome, output = _run(_executor(broker_url, tmp_path, resources), "sign", tmp_path)
    _assert_token_read_and_masked(token, outcome, output)
    assert token not in (worker / "worker.log").read_text()


@pytest.mark.usefixtures("token_env")
def test_approved_deploy_reads_the_token_minted_at_hand_over(
    broker_url: str, worker: Path, tmp_path: Path
) -> None:
    resources = _resources(tmp_path)
    assert "deploy" in resources.tokens_held  # nothing minted before the approval
    celery = _executor(broker_url, tmp_path, resources)
    gated = gated_executor(
        celery, _approve, {"deploy": "production"}, CONTEXT, on_approved=resources.hand_over
    )
    outcome, output = _run(gated, "deploy", tmp_path)
    token = resources.files_for["deploy"][ID_TOKEN_FILE].decode()  # minted at hand-over
    _assert_token_read_and_masked(token, outcome, output)


@pytest.mark.usefixtures("token_env")
def test_id_token_job_without_its_token_is_not_sent(
    broker_url: str, worker: Path, tmp_path: Path
) -> None:
    """Fail closed on the server: the deploy job submitted before its hand-over (no token
    issued) is failed with the reason and never reaches the broker."""
    resources = _resources(tmp_path)
    log = worker / "worker.log"
    before = log.stat().st_size
    outcome, output = _run(_executor(broker_url, tmp_path, resources), "deploy", tmp_path)
    assert outcome is not None
    assert outcome.status is JobState.ERROR, (outcome, output)
    assert "requires /run/bastion/id-token but none was issued: not sent" in (outcome.reason or "")
    assert output == ""  # nothing ran
    with log.open("rb") as handle:  # the worker (shared by this module's tests) never heard
        handle.seek(before)
        assert b"job deploy" not in handle.read()


@pytest.mark.usefixtures("token_env")
def test_id_token_job_granted_without_its_token_runs_nothing(
    broker_url: str, worker: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed on the worker too: a job message requiring the token whose grant lacks
    it (the server's check skipped, as by a server bug) is failed, never run."""
    resources = _resources(tmp_path)
    executor = _executor(broker_url, tmp_path, resources)
    monkeypatch.setattr(executor, "_missing_files", lambda job: None)
    outcome, output = _run(executor, "deploy", tmp_path)
    assert outcome is not None
    assert outcome.status is JobState.ERROR, (outcome, output)
    assert "requires /run/bastion/id-token but its grant carries none" in (outcome.reason or "")
    assert output == ""  # nothing ran


def test_untrusted_worker_cannot_open_a_grant_with_a_token(
    broker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trusted grant carrying a token, delivered to an untrusted-pool worker: refused."""
    untrusted = start_worker(broker_url, "untrusted", tmp_path / "u1")
    trusted = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())
    resources = _resources(tmp_path)
    files = resources.files_for["sign"]
    executor = CeleryExecutor(
        CeleryConfig(broker_url, PoolKey(Pool.UNTRUSTED, TOKENS["untrusted"].encode())),
        secrets_for={},
        files_for={"sign": files},
        required_files={"sign": (ID_TOKEN_FILE,)},
    )

    def trusted_grant(handle: CeleryJobHandle, worker: str) -> dict[str, Any]:
        sealed = seal_grant(trusted, handle.task_id, worker, {}, files)
        return {"type": "grant", "task_id": handle.task_id, "worker": worker, "secrets": sealed}

    monkeypatch.setattr(executor, "_grant", trusted_grant)
    try:
        outcome, output = _run(executor, "sign", tmp_path)
    finally:
        stop(untrusted)
    assert outcome is not None
    assert outcome.status is JobState.ERROR, outcome
    assert "cannot be read by the untrusted pool" in (outcome.reason or "")
    assert output == ""
