"""``bastion worker``'s side: take a pool's jobs, verify, claim, run sandboxed, report.

For each delivered job the worker (1) verifies the message's signature with its pool's key
and refuses anything else, (2) claims the job from the server and runs it only once
granted (a duplicate delivery, or one the server has already given up on, runs nothing),
(3) reads the job's released secrets from the pool's sealed file, builds the masker from
them, and runs :func:`~bastion.executors.job_runner.run_job` in the same bubblewrap sandbox
as the local executor, (4) sends masked events and a heartbeat every couple of seconds,
and stops the job if the server cancels it or stops answering to its heartbeats.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from bastion.errors import BastionError, VerificationError
from bastion.executors.celery.app import TASK_NAME
from bastion.executors.celery.channel import Publisher, Subscription
from bastion.executors.celery.pools import PoolKey
from bastion.executors.celery.signing import open_message, open_secrets
from bastion.executors.celery.wire import event_to_json, spec_from_json
from bastion.executors.interface import JobEvent, JobEventKind, JobOutcome, JobSpec, JobState
from bastion.executors.job_runner import run_job
from bastion.executors.secret_guard import JobMasking, NoMasking
from bastion.sandbox.interface import Sandbox

__all__ = ["WorkerRuntime", "register_task"]

logger = logging.getLogger("bastion.executors.celery")

RESULT_TIMEOUT = 60.0
"""Seconds a worker keeps sending a finished job's result until the server confirms it."""
POLL_SLICE = 0.05
"""Seconds the heartbeat thread waits for the server's control messages before it looks
whether its job has finished."""

MaskingBuilder = Callable[[Mapping[str, str]], JobMasking]
"""Compiles the masker of a job's released secrets (the engine's ``RunMasking.build``)."""


@dataclass(frozen=True, slots=True)
class WorkerRuntime:
    """What a worker process runs jobs with; one per ``bastion worker``."""

    app: Celery
    key: PoolKey
    sandbox: Sandbox
    workspace_parent: Path
    masking: MaskingBuilder
    name: str
    heartbeat_seconds: float = 2.0
    grant_timeout: float = 10.0
    clock: Callable[[], float] = time.time
    """This machine's clock: only the first filter of a job's expiry (the server decides)."""

    def handle(self, message: object) -> str:
        """Run one delivered job message; returns what became of it (for the worker log)."""
        try:
            body = open_message(self.key, message, "job", now=self.clock())
            spec = spec_from_json(body["spec"])
        except (VerificationError, KeyError, TypeError, ValueError) as exc:
            text = exc.diagnostics() if isinstance(exc, BastionError) else repr(exc)
            logger.error("refused a job message (%s pool): %s", self.key.pool, text)
            return "refused"
        publisher = Publisher(self.app.connection_for_write(), self.key)
        control = Subscription(
            self.app.connection_for_read(), self.key, f"bastion.ctl.{uuid.uuid4().hex}",
            "grant", "deny", "cancel", "done",
        )  # fmt: skip
        try:
            return self._claimed_run(body, spec, publisher, control)
        finally:
            control.close()
            publisher.close()

    def _claimed_run(
        self, body: dict[str, Any], spec: JobSpec, publisher: Publisher, control: Subscription
    ) -> str:
        task_id, reply_to = str(body["task_id"]), str(body["reply_to"])
        publisher.send(
            reply_to,
            {"type": "claim", "task_id": task_id, "worker": self.name, "control": control.name},
        )
        answer = self._granted(task_id, control)
        if answer != "grant":
            logger.warning("job %s (%s): not granted (%s); nothing run", spec.job, task_id, answer)
            if answer in ("draining", "revoked"):
                # Let the pool's other workers take the job the server sends again.
                time.sleep(self.heartbeat_seconds)
            return "not granted"
        logger.info("job %s (%s): granted, running", spec.job, task_id)
        lease = _Lease(task_id, self.name, reply_to, publisher)
        beating = threading.Thread(
            target=lease.beat, args=(control, self.heartbeat_seconds), daemon=True
        )
        beating.start()
        try:
            outcome = self._run(body, spec, lease)
        finally:
            lease.done.set()
            beating.join(timeout=RESULT_TIMEOUT + self.heartbeat_seconds + 5)
        return outcome.status.value

    def _granted(self, task_id: str, control: Subscription) -> str:
        """``grant``, the server's reason for a denial, or ``no answer``."""
        deadline = time.monotonic() + self.grant_timeout
        while time.monotonic() < deadline:
            for reply in control.poll(timeout=0.5):
                if reply.get("task_id") == task_id and reply.get("worker") == self.name:
                    return "grant" if reply["type"] == "grant" else str(reply.get("reason"))
        return "no answer"

    def _run(self, body: dict[str, Any], spec: JobSpec, lease: _Lease) -> JobOutcome:
        secrets_file = body.get("secrets_file")
        try:
            values = open_secrets(self.key, Path(secrets_file), spec.job) if secrets_file else {}
        except BastionError as exc:
            outcome = JobOutcome(status=JobState.ERROR, reason=exc.diagnostics())
            lease.send(JobEvent(JobEventKind.FINISHED, spec.job, outcome=outcome, at=self.clock()))
            return outcome
        masking: JobMasking = self.masking(values) if values else NoMasking()
        return run_job(
            spec,
            sandbox=self.sandbox,
            workspace_parent=self.workspace_parent,
            on_event=lambda event: lease.send(event, spec.artifact_dir),
            cancelled=lease.cancelled,
            files={k: v.encode() for k, v in values.items()},
            secret_env=values,
            output_filter=lambda _spec: masking,
        )


class _Lease:
    """One granted job: its events, heartbeats, the server's cancellation, and its result
    sent again until the server says it has it (a broker restart may have dropped it)."""

    def __init__(self, task_id: str, worker: str, reply_to: str, publisher: Publisher) -> None:
        self.task_id, self.worker, self.reply_to = task_id, worker, reply_to
        self.publisher = publisher
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self.taken = threading.Event()
        self.result: dict[str, Any] | None = None

    def send(self, event: JobEvent, artifact_dir: str | None = None) -> None:
        body: dict[str, Any] = {
            "type": "event",
            "task_id": self.task_id,
            "worker": self.worker,
            "event": event_to_json(event),
        }
        if event.kind is JobEventKind.FINISHED:
            if event.outcome is not None and artifact_dir:
                body["digests"] = _digests(Path(artifact_dir), event.outcome.artifacts)
            self.result = body
        self.publisher.send(self.reply_to, body)

    def _beating(self, until: float) -> bool:
        if not self.done.is_set():
            return True
        return self.result is not None and not self.taken.is_set() and time.monotonic() < until

    def beat(self, control: Subscription, every: float) -> None:
        """Heartbeats until the job is done, then its result again every ``every`` seconds
        until the server has it (at most ``RESULT_TIMEOUT``); a ``cancel`` stops the job.

        The control queue is read in short slices, so a finished job frees its worker at
        once rather than at the next heartbeat."""
        until = float("inf")
        while self._beating(until):
            if self.done.is_set() and until == float("inf"):
                until = time.monotonic() + RESULT_TIMEOUT
            try:
                if self.done.is_set() and self.result is not None:
                    self.publisher.send(self.reply_to, self.result)
                else:
                    self.publisher.send(
                        self.reply_to,
                        {"type": "heartbeat", "task_id": self.task_id, "worker": self.worker},
                    )
                next_beat = time.monotonic() + every
                while self._beating(until) and time.monotonic() < next_beat:
                    for reply in control.poll(timeout=min(POLL_SLICE, every)):
                        self._on_control(reply)
            except (OSError, OperationalError):
                logger.warning("job %s: the broker did not take a heartbeat", self.task_id)
                self.done.wait(every)
        if self.result is not None and not self.taken.is_set():
            logger.warning("job %s: the server did not confirm its result", self.task_id)

    def _on_control(self, reply: dict[str, Any]) -> None:
        if reply.get("task_id") != self.task_id:
            return
        if reply["type"] == "cancel":
            self.cancelled.set()
        elif reply["type"] == "done":
            self.taken.set()


def _digests(root: Path, artifacts: tuple[str, ...]) -> dict[str, str]:
    """``sha256:<hex>`` of each artifact the job left in ``root``, for the server to check."""
    digests: dict[str, str] = {}
    for relative in artifacts:
        digest = hashlib.sha256()
        with (root / relative).open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digests[relative] = f"sha256:{digest.hexdigest()}"
    return digests


def register_task(runtime: WorkerRuntime) -> None:
    """Register ``bastion.run_job`` on the runtime's app (JSON argument: the signed message)."""

    def _run_job(message: dict[str, Any]) -> str:
        return runtime.handle(message)

    runtime.app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)(_run_job)
