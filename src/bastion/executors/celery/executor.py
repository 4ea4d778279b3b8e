"""The Celery executor: jobs as signed messages to the run's pool, leases kept here.

>>> executor = CeleryExecutor(CeleryConfig(broker, key), secrets_for={})  # doctest: +SKIP

This side is the authority on every job: a worker runs a job only once granted here (the
first claim of the current attempt wins; a duplicate delivery is refused), heartbeats keep
the lease, and a lease not renewed for ``lease_seconds`` marks the job lost: it is sent
again once (a new task id, to another worker of the same pool) or fails with reason
``worker lost`` when no worker takes it. Events from a worker or attempt that does not hold
the lease are ignored, so a job's state changes once per transition.

Released secrets never enter a job message, nor a file: each job's secrets travel sealed
in its ``grant``, the control message sent to the one worker whose claim won the lease
(AES-GCM under the pool's secrets key, bound to the pool, the task id and that worker;
:func:`~bastion.executors.celery.signing.seal_grant`). Why the grant and not a per-run
file sealed at start: ``secrets_for`` is read at grant time, so the held secrets of a
deploy job (``JobResources.hold``), handed over only once its approval gate approves, reach
it — the engine submits such a job only after approval, and before that nothing of it is
in ``secrets_for``. Each grant carries only the secrets of its own job (never the whole
run's), goes only to the lease holder's control queue, opens only with its pool's key and
only for that task and worker, and needs no shared disk (a remote worker gets it too).

A job's files (``files_for``: its secrets again, and an ``id-token:`` job's identity token,
which for a held deploy job is minted only at hand-over) travel sealed in the same grant,
read at grant time too; the worker writes them where the local executor does
(``/run/bastion``, the sandbox's tmpfs). ``required_files`` names, per job, the files it
may not run without (its identity token): they are listed in the signed job message, and
a worker whose grant lacks one fails the job with the reason instead of running it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kombu.exceptions import OperationalError

from bastion.errors import StoreError
from bastion.executors.celery.app import TASK_NAME, make_app
from bastion.executors.celery.artifact_upload import ArtifactRefused, receive_chunk
from bastion.executors.celery.channel import Publisher, Subscription
from bastion.executors.celery.leases import Claim, Grant, LeaseState, LeaseStore
from bastion.executors.celery.pools import PoolKey
from bastion.executors.celery.signing import seal_grant, seal_message
from bastion.executors.celery.wire import event_from_json, spec_to_json
from bastion.executors.interface import (
    JobEvent,
    JobEventKind,
    JobEventSink,
    JobOutcome,
    JobSpec,
    JobState,
)
from bastion.store import open_database

__all__ = ["CeleryConfig", "CeleryExecutor", "CeleryJobHandle"]

WORKER_LOST = "worker lost"
PING_SECONDS = 1.0
"""How often the executor pings its own reply queue."""
PING_TIMEOUT = 3.0
"""A ping not back within this many seconds: the route is lost (the broker restarted)."""
RESEND_SECONDS = 1.0
"""A claim denied because the database was away: the job is sent again after this."""
RETAIN_SECONDS = 120.0
"""How long a finished job's task ids are still known: a worker whose first answer was lost
sends its result again for up to a minute (``worker.RESULT_TIMEOUT``) and is told ``done``."""

logger = logging.getLogger("bastion.executors.celery")


@dataclass(frozen=True, slots=True)
class CeleryConfig:
    """Where and how jobs are sent; the timeouts bound every wait."""

    broker: str
    key: PoolKey
    queue: str | None = None
    lease_seconds: float = 10.0
    retry_start_seconds: float = 15.0
    queue_timeout_seconds: float = 600.0
    retries: int = 1
    leases: LeaseStore | None = None
    """Where leases are kept (default: an in-memory database of this executor's own)."""
    clock: Callable[[], float] = time.time
    """The server's clock: lease and event times; a worker's clock never counts."""


@dataclass
class CeleryJobHandle:
    """A job sent to a pool: its current attempt and the lease of that attempt."""

    spec: JobSpec
    on_event: JobEventSink
    task_id: str = ""
    attempt: int = 0
    worker: str | None = None
    control: str | None = None
    sent_at: float = 0.0
    resend_at: float | None = None
    """When to send the job again after a claim the database could not record."""
    body: dict[str, Any] = field(default_factory=dict)
    task_ids: list[str] = field(default_factory=list)
    """Every attempt's task id (each is known until the job is forgotten)."""
    heartbeat_at: float = 0.0
    started: bool = False
    cancel_asked: bool = False
    artifact_error: str | None = None
    artifact_bytes: int = 0  # under spec.artifact_dir, kept by receive_chunk (every attempt)
    artifact_files: set[str] = field(default_factory=set)  # paths written there, likewise
    outcome: JobOutcome | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    executor: CeleryExecutor | None = None

    def cancel(self) -> None:
        if self.executor is not None:
            self.executor._cancel(self)

    def wait(self, timeout: float | None = None) -> JobOutcome | None:
        self.finished.wait(timeout)
        return self.outcome


class CeleryExecutor:
    """Sends each job to the queue of its run's pool and follows it through its lease."""

    name = "celery"

    def __init__(
        self,
        config: CeleryConfig,
        *,
        secrets_for: Mapping[str, Mapping[str, str]],
        files_for: Mapping[str, Mapping[str, bytes]] | None = None,
        required_files: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self._config = config
        self._app = make_app(config.broker, config.key.pool, queue=config.queue)
        self._lock = threading.RLock()
        self._leases = config.leases or LeaseStore(open_database("sqlite://"))
        self._clock = config.clock
        self._jobs: dict[str, CeleryJobHandle] = {}
        """Task id → job, for the jobs not finished and those finished in the last
        RETAIN_SECONDS (a late message about one is answered, not taken for a stranger)."""
        self._live: dict[int, CeleryJobHandle] = {}
        """The jobs not finished, the only ones the lease checks walk (a server's executor
        sends thousands of jobs: walking them all after every message cost milliseconds)."""
        self._retired: deque[tuple[float, CeleryJobHandle]] = deque()
        self._scratch = Path(tempfile.mkdtemp(prefix="bastion-celery-"))
        # Read at each grant, not copied: a deploy job's secrets are put in only once its
        # approval gate approves (``JobResources.hand_over``), after this executor was made.
        self._secrets_for = secrets_for
        self._files_for: Mapping[str, Mapping[str, bytes]] = files_for or {}
        self._required_files = required_files or {}
        self._reply = f"bastion.reply.{uuid.uuid4().hex}"
        key = config.key
        self._inbox = Subscription(
            self._app.connection_for_read(),
            key,
            self._reply,
            "claim",
            "event",
            "heartbeat",
            "ping",
            "artifact",
        )
        self._backlog: deque[dict[str, Any]] = deque()
        """Received messages not yet handled (the database was away): see _take_backlog."""
        self._ping: tuple[str, float] | None = None
        self._pinged_at = 0.0
        self._publisher = Publisher(self._app.connection_for_write(), key)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="bastion-celery", daemon=True)
        self._thread.start()

    def submit(self, spec: JobSpec, on_event: JobEventSink) -> CeleryJobHandle:
        handle = CeleryJobHandle(spec, on_event, executor=self)
        with self._lock:
            missing = self._missing_files(spec.job)
            if missing:
                self._finish(handle, JobOutcome(JobState.ERROR, reason=missing))
            else:
                self._send(handle)
        return handle

    def _missing_files(self, job: str) -> str | None:
        """Why ``job`` may not be sent: a file it requires (its identity token) is not
        there to seal into its grant. Failed here, not only refused by the worker, so that
        no worker is woken, and no message naming the job crosses the broker, for nothing."""
        have = self._files_for.get(job) or {}
        missing = sorted(name for name in self._required_files.get(job, ()) if name not in have)
        if not missing:
            return None
        return (
            f"job {job!r} requires /run/bastion/{', /run/bastion/'.join(missing)} but none "
            "was issued: not sent to a worker"
        )

    def shutdown(self) -> None:
        with self._lock:
            for handle in list(self._live.values()):
                self._cancel(handle)
        self._stop.set()
        self._thread.join(timeout=10)
        self._inbox.close()
        self._publisher.close()
        self._scratch.rmdir()

    # -- sending -----------------------------------------------------------------------

    def _send(self, handle: CeleryJobHandle) -> None:
        handle.attempt += 1
        handle.task_id = f"{handle.spec.run_id}.{_digest(handle.spec.job)}.{handle.attempt}"
        handle.worker = handle.control = None
        handle.artifact_error = None  # an attempt uploads its artifacts from the start
        handle.sent_at = time.monotonic()
        self._jobs[handle.task_id] = handle
        handle.task_ids.append(handle.task_id)
        self._live[id(handle)] = handle
        window = self._config.queue_timeout_seconds if handle.attempt == 1 else 0.0
        body = {
            "type": "job",
            "task_id": handle.task_id,
            "attempt": handle.attempt,
            "spec": spec_to_json(handle.spec),
            "requires": sorted(self._required_files.get(handle.spec.job, ())),
            "reply_to": self._reply,
            "expires_at": self._clock() + window + self._config.retry_start_seconds,
        }
        handle.body = body
        self._publish(handle)

    def _publish(self, handle: CeleryJobHandle) -> None:
        self._app.send_task(
            TASK_NAME,
            args=[seal_message(self._config.key, handle.body)],
            task_id=f"{handle.task_id}.{uuid.uuid4().hex[:8]}",
        )

    def _cancel(self, handle: CeleryJobHandle) -> None:
        with self._lock:
            handle.cancel_asked = True
            if handle.control is not None and handle.outcome is None:
                self._publisher.send(handle.control, self._to_worker("cancel", handle))
            elif handle.outcome is None:
                self._finish(handle, JobOutcome(JobState.CANCELLED, reason="cancelled"))

    def _done(self, handle: CeleryJobHandle) -> None:
        """Tell the worker its result was taken (it sends the result until told)."""
        if handle.control is not None:
            self._publisher.send(handle.control, self._to_worker("done", handle))

    def _to_worker(self, kind: str, handle: CeleryJobHandle) -> dict[str, Any]:
        return {"type": kind, "task_id": handle.task_id, "worker": handle.worker}

    # -- following ---------------------------------------------------------------------

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                reconnects = self._inbox.reconnects
                self._backlog.extend(self._inbox.poll(timeout=0.0 if self._backlog else 0.5))
                with self._lock:
                    self._take_backlog()
                    if self._inbox.reconnects != reconnects or self._route_lost():
                        self._recover()
                    self._check_leases(time.monotonic())
            except StoreError as exc:  # the database is away: leases wait, nothing is granted
                logger.error("the leases cannot be recorded: %s", exc.diagnostics())
                self._stop.wait(1.0)
            except (OSError, OperationalError) as exc:  # the broker, after bounded retries
                logger.error("the broker does not answer: %s", exc)
                self._stop.wait(1.0)

    def _take_backlog(self) -> None:
        """Handle the received messages in order; one the database could not serve stays
        first, with every message behind it, and is handled again when it answers.

        Messages are acked on arrival, so one dropped here is gone: a worker sends its
        result again, but not its step events, whose loss left a passed job's step
        ``running`` after a PostgreSQL restart. Handling a message again is safe: each
        handler raises StoreError before it changes anything."""
        while self._backlog:
            self._on_message(self._backlog[0])
            self._backlog.popleft()

    def _route_lost(self) -> bool:
        """Ping this executor's own reply queue; True when a ping has not come back within
        ``PING_TIMEOUT`` (a broker that restarted silently has forgotten the queue)."""
        now = time.monotonic()
        if self._ping is not None:
            return now - self._ping[1] > PING_TIMEOUT
        if now - self._pinged_at >= PING_SECONDS:
            self._pinged_at = now
            self._ping = (uuid.uuid4().hex, now)
            self._publisher.send(self._reply, {"type": "ping", "task_id": self._ping[0]})
        return False

    def _recover(self) -> None:
        """After the broker came back: consume again, send again every job no worker has
        claimed (its message may be gone; a second delivery is refused by the lease), and
        give running leases a fresh period (the broker was away, not their workers)."""
        logger.warning("reply route to the broker lost: reconnecting, sending queued jobs again")
        self._ping = None
        self._inbox.reconnect()
        now = time.monotonic()
        for handle in list(self._live.values()):
            if handle.worker is None:
                self._publish(handle)
            else:
                handle.heartbeat_at = now

    def _on_message(self, message: dict[str, Any]) -> None:
        if message["type"] == "ping":
            if self._ping is not None and message.get("task_id") == self._ping[0]:
                self._ping = None
            return
        handle = self._jobs.get(str(message.get("task_id")))
        if handle is None or handle.outcome is not None:
            if message["type"] == "claim":
                self._deny(message)
            elif (
                handle is not None
                and message["type"] == "event"
                and message.get("worker") == handle.worker
            ):
                self._done(handle)  # its first answer was lost: the worker sends again
            return
        if message["type"] == "claim":
            self._on_claim(handle, message)
        elif message.get("worker") != handle.worker or handle.task_id != message["task_id"]:
            return  # not the lease holder: a lost worker come back, or a duplicate
        elif message["type"] == "heartbeat":
            self._on_heartbeat(handle)
        elif message["type"] == "artifact":
            self._on_artifact(handle, message)
        else:
            self._on_event(handle, event_from_json(message["event"]), message.get("digests"))

    def _on_claim(self, handle: CeleryJobHandle, message: dict[str, Any]) -> None:
        if handle.worker is not None or handle.cancel_asked:
            self._deny(message)
            return
        spec, worker = handle.spec, str(message["worker"])
        claim = Claim(handle.task_id, spec.run_id, spec.job, handle.attempt, self._pool, worker)
        try:
            grant = self._leases.grant(claim, now=self._clock())
        except StoreError as exc:
            # Nothing granted without a record; the job goes back to the pool shortly, not
            # after the queue timeout (the claim used up its message).
            logger.error("job %s: cannot record a lease, claim denied: %s", spec.job, exc)
            self._deny(message, "database unavailable")
            handle.resend_at = time.monotonic() + RESEND_SECONDS
            return
        if grant is not Grant.GRANTED:
            self._deny(message, grant.value)
            if grant in (Grant.DRAINING, Grant.REVOKED):
                self._publish(handle)  # the job goes back to the pool's other workers
            return
        handle.worker, handle.control = worker, str(message["control"])
        handle.heartbeat_at = time.monotonic()
        self._publisher.send(handle.control, self._grant(handle, worker))

    def _grant(self, handle: CeleryJobHandle, worker: str) -> dict[str, Any]:
        """The grant, with the job's released secrets and files sealed for this task and
        worker (read now: a held job's are there only once it was handed over)."""
        body = self._to_worker("grant", handle)
        values = self._secrets_for.get(handle.spec.job) or {}
        files = self._files_for.get(handle.spec.job) or {}
        if values or files:
            key = self._config.key
            body["secrets"] = seal_grant(key, handle.task_id, worker, values, files)
        return body

    def _deny(self, message: dict[str, Any], reason: str = "duplicate") -> None:
        body = {
            "type": "deny",
            "task_id": message.get("task_id"),
            "worker": message["worker"],
            "reason": reason,
        }
        self._publisher.send(str(message["control"]), body)

    def _on_heartbeat(self, handle: CeleryJobHandle) -> None:
        """Renew the lease (server time); a refused heartbeat (revoked worker) loses it."""
        try:
            renewed = self._leases.heartbeat(handle.task_id, str(handle.worker), now=self._clock())
        except StoreError as exc:
            logger.warning("job %s: heartbeat not recorded: %s", handle.spec.job, exc)
            renewed = True  # the database is away, not the worker: the lease runs on
        if renewed:
            handle.heartbeat_at = time.monotonic()
            if handle.control is not None:  # the worker stops a job its server left
                self._publisher.send(handle.control, self._to_worker("alive", handle))
            return
        logger.warning("job %s: heartbeat of %s refused", handle.spec.job, handle.worker)
        if handle.control is not None:
            self._publisher.send(handle.control, self._to_worker("cancel", handle))
        self._lost(handle)

    def _on_artifact(self, handle: CeleryJobHandle, message: dict[str, Any]) -> None:
        """Write an artifact chunk under the job's artifact folder (checked at the end)."""
        handle.heartbeat_at = time.monotonic()
        if handle.artifact_error is not None:
            return
        if handle.spec.artifact_dir is None:
            handle.artifact_error = "its worker sent an artifact the job does not keep"
            return
        try:
            handle.artifact_bytes = receive_chunk(
                Path(handle.spec.artifact_dir),
                message,
                handle.artifact_bytes,
                files=handle.artifact_files,
            )
        except (ArtifactRefused, OSError) as exc:
            text = exc.diagnostics() if isinstance(exc, ArtifactRefused) else str(exc)
            logger.error("job %s: artifact refused: %s", handle.spec.job, text)
            handle.artifact_error = text

    def _on_event(self, handle: CeleryJobHandle, event: JobEvent, digests: Any) -> None:
        handle.heartbeat_at = time.monotonic()
        if event.job != handle.spec.job:
            return
        if event.kind is JobEventKind.STARTED:
            if handle.started:
                return  # a retried job started once, for the engine
            handle.started = True
        event = dataclasses.replace(event, at=self._clock())  # server time, not the worker's
        if event.kind is JobEventKind.FINISHED:
            if not self._leases.end(
                handle.task_id, LeaseState.FINISHED, now=self._clock(), worker=handle.worker
            ):
                self._lost(handle)  # a revoked worker's result is not taken
                return
            outcome = event.outcome or JobOutcome(JobState.ERROR, reason="no outcome")
            self._done(handle)  # first: the worker is free once it knows
            if handle.artifact_error is not None:
                outcome = JobOutcome(JobState.ERROR, reason=handle.artifact_error)
            self._finish(handle, _checked(handle.spec, outcome, digests))
            return
        handle.on_event(event)

    def _check_leases(self, now: float) -> None:
        self._forget(now)
        for handle in list(self._live.values()):
            if handle.worker is None and handle.resend_at is not None and now >= handle.resend_at:
                handle.resend_at = None
                self._publish(handle)
            if handle.worker is not None and now - handle.heartbeat_at > self._config.lease_seconds:
                self._leases.end(handle.task_id, LeaseState.LOST, now=self._clock())
                self._lost(handle)
            elif handle.worker is None and handle.attempt > 1:
                if now - handle.sent_at > self._config.retry_start_seconds:
                    reason = f"{WORKER_LOST}: no other worker of the {self._pool} pool took it"
                    self._finish(handle, JobOutcome(JobState.FAILED, reason=reason))
            elif (
                handle.worker is None and now - handle.sent_at > self._config.queue_timeout_seconds
            ):
                reason = (
                    f"no worker of the {self._pool} pool took the job within "
                    f"{self._config.queue_timeout_seconds:g} s"
                )
                self._finish(handle, JobOutcome(JobState.ERROR, reason=reason))

    @property
    def _queue_timeout(self) -> float:
        return self._config.queue_timeout_seconds

    @property
    def _pool(self) -> str:
        return self._config.key.pool.value

    def _lost(self, handle: CeleryJobHandle) -> None:
        """The lease holder stopped answering: retry once, or fail the job."""
        if handle.attempt <= self._config.retries:
            self._send(handle)
            return
        reason = f"{WORKER_LOST}: {handle.worker} stopped sending heartbeats"
        self._finish(handle, JobOutcome(JobState.FAILED, reason=reason))

    def _forget(self, now: float) -> None:
        """Drop the task ids of the jobs finished more than RETAIN_SECONDS ago."""
        while self._retired and now - self._retired[0][0] > RETAIN_SECONDS:
            _, handle = self._retired.popleft()
            for task_id in handle.task_ids:
                self._jobs.pop(task_id, None)

    def _finish(self, handle: CeleryJobHandle, outcome: JobOutcome) -> None:
        if handle.outcome is not None:
            return
        handle.outcome = outcome
        self._live.pop(id(handle), None)
        self._retired.append((time.monotonic(), handle))
        handle.on_event(
            JobEvent(JobEventKind.FINISHED, handle.spec.job, outcome=outcome, at=time.time())
        )
        handle.finished.set()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _checked(spec: JobSpec, outcome: JobOutcome, digests: Any) -> JobOutcome:
    """``outcome`` once every artifact the worker reported arrived and hashes to what it
    said (the upload is checked here, on arrival, before the engine stores anything)."""
    if not outcome.artifacts or spec.artifact_dir is None:
        return outcome
    root = Path(spec.artifact_dir)
    for relative in outcome.artifacts:
        claimed = (digests or {}).get(relative) if isinstance(digests, dict) else None
        try:
            actual = hashlib.sha256((root / relative).read_bytes()).hexdigest()
        except OSError:
            reason = f"artifact {relative} did not arrive from its worker"
            return JobOutcome(JobState.ERROR, reason=reason)
        if claimed != f"sha256:{actual}":
            reason = f"artifact {relative} does not match the digest its worker reported"
            return JobOutcome(JobState.ERROR, reason=reason)
    return outcome
