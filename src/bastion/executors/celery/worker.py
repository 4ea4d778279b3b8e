"""``bastion worker``'s side: take a pool's jobs, verify, claim, run sandboxed, report.

For each delivered job the worker (1) verifies the message's signature with its pool's key
and refuses anything else, (2) claims the job from the server and runs it only once
granted (a duplicate delivery, or one the server has already given up on, runs nothing),
(3) opens the job's released secrets and files sealed in its grant (for this pool, task
and worker only), refuses to run a job whose grant lacks a file its signed message requires
(an ``id-token:`` job's token: fail closed, never run without it), builds the masker from
every value it received (a token's signature part too), and runs
:func:`~bastion.executors.job_runner.run_job` in the same bubblewrap sandbox as the local
executor (the files in its ``/run/bastion`` tmpfs), (4) sends masked events and a heartbeat
every couple of seconds, and stops the job if the server cancels it or stops answering to
its heartbeats.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from bastion.errors import BastionError, VaultError, VerificationError
from bastion.executors.celery.app import TASK_NAME
from bastion.executors.celery.artifact_upload import (
    ARTIFACT_CAP,
    ArtifactRefused,
    artifact_messages,
    check_artifact_total,
)
from bastion.executors.celery.mailboxes import WorkerChannels
from bastion.executors.celery.pools import PoolKey
from bastion.executors.celery.signing import GrantedValues, open_grant, open_message
from bastion.executors.celery.wire import event_to_json, spec_from_json
from bastion.executors.interface import JobEvent, JobEventKind, JobOutcome, JobSpec, JobState
from bastion.executors.job_runner import run_job
from bastion.executors.secret_guard import JobMasking, NoMasking
from bastion.sandbox.interface import Sandbox

__all__ = ["WorkerRuntime", "register_task"]

logger = logging.getLogger("bastion.executors.celery")

RESULT_TIMEOUT = 60.0
"""Seconds a worker keeps sending a finished job's result until the server confirms it."""
SERVER_TIMEOUT = 30.0
"""Seconds a running job goes on without a word from its server (which answers every
heartbeat with ``alive``). Past it the server is taken for dead (killed, its run closed as
interrupted when it restarts): the job is stopped, its sandbox killed and its workspace
removed, rather than left running for nobody. Longer than a broker restart (~10 s)."""

_SETTLE_SLICE = 0.25
"""Seconds between two looks at whether a shutdown's wait for results should end early."""

MaskingBuilder = Callable[[Mapping[str, str]], JobMasking]
"""Compiles the masker of a job's released secrets (the engine's ``RunMasking.build``)."""


class _Shared:
    """What a runtime's jobs share: the process's channels, made once, and the leases still
    kept (each job's result is sent again until its server confirms it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.channels: WorkerChannels | None = None
        self.leases: set[_Lease] = set()
        self.lease_ended = threading.Condition(self.lock)

    def track(self, lease: _Lease) -> None:
        with self.lock:
            self.leases.add(lease)

    def untrack(self, lease: _Lease) -> None:
        with self.lock:
            self.leases.discard(lease)
            self.lease_ended.notify_all()


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
    server_timeout: float = SERVER_TIMEOUT
    """Seconds without a word from the server after which a running job is stopped."""

    _shared: _Shared = field(default_factory=_Shared, init=False, repr=False)

    def channels(self) -> WorkerChannels:
        """This process's channels to the server, made on the first job."""
        with self._shared.lock:
            if self._shared.channels is None:
                self._shared.channels = WorkerChannels(self.app, self.key)
            return self._shared.channels

    def settle(self, timeout: float, *, give_up: Callable[[], bool]) -> int:
        """Wait, at most ``timeout`` seconds, until every kept lease has ended: its result
        confirmed by the server (``done``), or given up (no answer for ``RESULT_TIMEOUT``,
        or its server gone). Returns how many were left; ``give_up()`` ends the wait early
        (a cold shutdown asked for meanwhile).

        Called on a warm shutdown, once Celery has stopped consuming and every task has
        returned: the lease threads are daemons, so a process that exits at once kills
        them, and a first result lost on the broker is never sent again; the server then
        sees the lease expire and runs the finished job again on another worker."""
        deadline = time.monotonic() + timeout
        with self._shared.lock:
            if self._shared.leases:
                logger.info(
                    "warm shutdown: waiting up to %.0f s for the server to confirm %d job "
                    "result(s) before exiting",
                    timeout,
                    len(self._shared.leases),
                )
            while self._shared.leases and not give_up():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                # In slices: give_up() reads flags Celery's signal handlers set.
                self._shared.lease_ended.wait(min(left, _SETTLE_SLICE))
            left_over = len(self._shared.leases)
        if left_over:
            logger.warning("exiting with %d job result(s) not confirmed", left_over)
        return left_over

    def close(self) -> None:
        """Close this process's channels (once no lease uses them)."""
        with self._shared.lock:
            channels, self._shared.channels = self._shared.channels, None
        if channels is not None:
            channels.close()

    def handle(self, message: object) -> str:
        """Run one delivered job message; returns what became of it (for the worker log).

        Returns once the job's result is sent: its lease thread sends it again until the
        server confirms it, while this worker takes its next job."""
        try:
            body = open_message(self.key, message, "job", now=self.clock())
            spec = spec_from_json(body["spec"])
            requires = _names(body.get("requires", []))
        except (VerificationError, KeyError, TypeError, ValueError) as exc:
            text = exc.diagnostics() if isinstance(exc, BastionError) else repr(exc)
            logger.error("refused a job message (%s pool): %s", self.key.pool, text)
            return "refused"
        task_id = str(body["task_id"])
        lease = _Lease(task_id, self.name, str(body["reply_to"]), self.channels())
        lease.silence = self.server_timeout
        answer = lease.claim(self.grant_timeout)
        if answer != "grant":
            lease.close()
            logger.warning("job %s (%s): not granted (%s); nothing run", spec.job, task_id, answer)
            if answer in ("draining", "revoked"):
                # Let the pool's other workers take the job the server sends again.
                time.sleep(self.heartbeat_seconds)
            return "not granted"
        logger.info("job %s (%s): granted, running", spec.job, task_id)
        lease.keep(self.heartbeat_seconds, self._shared)
        try:
            outcome = self._run(spec, lease, requires)
        finally:
            lease.finish()
        return outcome.status.value

    def _run(self, spec: JobSpec, lease: _Lease, requires: tuple[str, ...]) -> JobOutcome:
        sealed = lease.grant.get("secrets")
        try:
            granted = (
                GrantedValues()
                if sealed is None
                else open_grant(self.key, sealed, lease.task_id, lease.worker, spec.job)
            )
            _check_required(spec.job, requires, granted)
        except BastionError as exc:
            outcome = JobOutcome(status=JobState.ERROR, reason=exc.diagnostics())
            lease.send(JobEvent(JobEventKind.FINISHED, spec.job, outcome=outcome, at=self.clock()))
            return outcome
        masked = granted.masked()
        masking: JobMasking = self.masking(masked) if masked else NoMasking()
        # Artifacts are staged in a folder of this worker's (the server's folder may not
        # exist here), uploaded before the result, and removed with the job.
        staging = (
            Path(tempfile.mkdtemp(prefix="artifacts-", dir=self.workspace_parent))
            if spec.artifact_dir
            else None
        )
        local = dataclasses.replace(spec, artifact_dir=str(staging) if staging else None)
        try:
            return run_job(
                local,
                sandbox=self.sandbox,
                workspace_parent=self.workspace_parent,
                on_event=lambda event: lease.send(event, local.artifact_dir),
                cancelled=lease.cancelled,
                files=granted.files,
                secret_env=granted.env,
                output_filter=lambda _spec: masking,
            )
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)


class _Lease:
    """One claimed job: its claim, events, heartbeats, the server's cancellation, and its
    result sent again until the server says it has it (a broker restart may have dropped
    it). The job's control messages arrive in its own mailbox."""

    def __init__(self, task_id: str, worker: str, reply_to: str, channels: WorkerChannels) -> None:
        self.task_id, self.worker, self.reply_to = task_id, worker, reply_to
        self.publisher = channels.publisher
        self._channels = channels
        self._box = channels.open(task_id)
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self.taken = threading.Event()
        self.result: dict[str, Any] | None = None
        self.grant: dict[str, Any] = {}  # the server's grant (the job's sealed secrets)
        self.silence = SERVER_TIMEOUT
        self.heard_at = time.monotonic()  # the grant was the server's first word
        self.orphaned = False

    def claim(self, timeout: float) -> str:
        """``grant``, the server's reason for a denial, or ``no answer`` after ``timeout``."""
        self.publisher.send(
            self.reply_to,
            {"type": "claim", "task_id": self.task_id, "worker": self.worker,
             "control": self._channels.control},
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                reply = self._box.get(timeout=left)
            except queue.Empty:
                break
            if reply.get("worker") != self.worker:
                continue
            if reply["type"] == "grant":
                self.grant = reply
                return "grant"
            if reply["type"] == "deny":
                return str(reply.get("reason"))
        return "no answer"

    def keep(self, every: float, shared: _Shared) -> None:
        """Keep the lease in a thread of its own until the server has the result; it is
        in ``shared`` meanwhile, for a warm shutdown to wait for (``WorkerRuntime.settle``)."""
        shared.track(self)
        thread = threading.Thread(target=self._beat, args=(every, shared), daemon=True)
        try:
            thread.start()
        except RuntimeError:
            shared.untrack(self)
            raise

    def finish(self) -> None:
        """The job has ended (its result, if any, was sent): wake the lease thread."""
        self.done.set()
        self._box.put({"type": "wake"})

    def close(self) -> None:
        self._channels.drop(self.task_id, self._box)

    def send(
        self, event: JobEvent, artifact_dir: str | None = None, artifact_cap: int = ARTIFACT_CAP
    ) -> None:
        """Send ``event``; a job's result goes after its artifacts' chunks, with their
        digests (see :meth:`_upload`)."""
        digests: dict[str, str] | None = None
        if event.kind is JobEventKind.FINISHED and event.outcome is not None and artifact_dir:
            outcome, digests = self._upload(event.outcome, Path(artifact_dir), artifact_cap)
            event = dataclasses.replace(event, outcome=outcome)
        body: dict[str, Any] = {
            "type": "event",
            "task_id": self.task_id,
            "worker": self.worker,
            "event": event_to_json(event),
        }
        if digests is not None:
            body["digests"] = digests
        if event.kind is JobEventKind.FINISHED:
            self.result = body
        self.publisher.send(self.reply_to, body)

    def _upload(
        self, outcome: JobOutcome, root: Path, cap: int
    ) -> tuple[JobOutcome, dict[str, str] | None]:
        """Send the chunks of ``outcome``'s artifacts staged under ``root``; returns the
        outcome and their digests. Artifacts totalling more than ``cap`` are not sent at all
        (the server would refuse them past its own cap): the job fails, without digests."""
        try:
            check_artifact_total(root, outcome.artifacts, cap)
        except ArtifactRefused as exc:
            # The job's own doing, like an artifact holding a secret: it failed.
            return JobOutcome(status=JobState.FAILED, reason=exc.diagnostics()), None
        for relative in outcome.artifacts:
            for chunk in artifact_messages(root, relative, self.task_id, self.worker):
                self.publisher.send(self.reply_to, chunk)
        return outcome, _digests(root, outcome.artifacts)

    def _beating(self, until: float) -> bool:
        if not self.done.is_set():
            return True
        if self.orphaned:
            return False  # nobody is left to take the result
        return self.result is not None and not self.taken.is_set() and time.monotonic() < until

    def _check_server(self, now: float) -> None:
        """Stop the job once its server has said nothing for ``silence`` seconds."""
        if self.done.is_set() or self.orphaned or now - self.heard_at <= self.silence:
            return
        logger.warning(
            "job %s: no word from the server for %.0f s (stopped or killed): stopping the job",
            self.task_id,
            now - self.heard_at,
        )
        self.orphaned = True
        self.cancelled.set()

    def _beat(self, every: float, shared: _Shared) -> None:
        """Heartbeats every ``every`` seconds until the job is done (the grant started the
        lease: the first one after a period), then its result again at the same pace until
        the server has it (at most ``RESULT_TIMEOUT``); a ``cancel`` stops the job."""
        until = float("inf")
        next_beat = time.monotonic() + every
        try:
            while self._beating(until):
                now = time.monotonic()
                if self.done.is_set() and until == float("inf"):
                    until = now + RESULT_TIMEOUT
                self._check_server(now)
                if now >= next_beat:
                    next_beat = now + every
                    self._send_beat()
                with contextlib.suppress(queue.Empty):
                    self._on_control(self._box.get(timeout=max(0.0, next_beat - now)))
        finally:
            self.close()
            shared.untrack(self)
        if self.result is not None and not self.taken.is_set():
            logger.warning("job %s: the server did not confirm its result", self.task_id)

    def _send_beat(self) -> None:
        try:
            if self.done.is_set() and self.result is not None:
                self.publisher.send(self.reply_to, self.result)
            else:
                self.publisher.send(
                    self.reply_to,
                    {"type": "heartbeat", "task_id": self.task_id, "worker": self.worker},
                )
        except (OSError, OperationalError):
            logger.warning("job %s: the broker did not take a heartbeat", self.task_id)

    def _on_control(self, reply: dict[str, Any]) -> None:
        self.heard_at = time.monotonic()  # any word from the server: ``alive`` says only that
        if reply["type"] == "cancel":
            self.cancelled.set()
        elif reply["type"] == "done":
            self.taken.set()


def _names(value: object) -> tuple[str, ...]:
    """The file names a job message requires (a list of plain names, nothing else)."""
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValueError("requires is not a list of file names")
    return tuple(value)


def _check_required(job: str, requires: tuple[str, ...], granted: GrantedValues) -> None:
    """Fail closed: a job never runs without a file it requires (its identity token)."""
    missing = [name for name in requires if name not in granted.files]
    if missing:
        raise VaultError(
            f"job {job!r} requires /run/bastion/{', /run/bastion/'.join(missing)} but its "
            "grant carries none: not run",
            hint="a deploy job's identity token is handed over only once its approval gate "
            "approves it; a job submitted before that gets nothing and runs nothing",
        )


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
