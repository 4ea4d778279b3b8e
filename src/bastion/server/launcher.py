"""Runs started by the server: the engine's ``run_local`` on a bounded pool of worker threads.

A run of a registered repository is prepared where it is asked for (the commit resolved,
the pipeline read and planned at that commit, so a malformed pipeline is a 400 to the
caller), recorded as ``queued`` in the server's database, and carried out by one of
``concurrency`` workers with the :class:`~bastion.engine.RunServices` the CLI builds
(:func:`~bastion.engine.services.local_services`), pointing at the server's database: a run
started here and one started with ``bastion run`` are the same records. The run's gate
evaluator is the commit's policy with the commit's ``.bastion/suppressions.yml`` merged with
the findings accepted on the server (:meth:`ServerSuppressions.for_repository`).

Every server run lives in one state directory (``$BASTION_HOME/server``): its logs, its run
locks (held from the moment it is queued, so recovery never takes a queued run for a dead
one) and its staging. Cancelling sets the run's event; the scheduler stops every job.

A job with ``environment:`` waits for the server's four-eyes approvals: each run gets a
:class:`~bastion.server.approval_gate.ServerApprovalGate` naming who asked for it, and the
approved jobs that passed are recorded as their environment's deploy once the run is over.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import update

from bastion.engine import (
    PIPELINE_FILES,
    GitState,
    JobState,
    LocalRunOptions,
    PreparedRun,
    RunContext,
    RunId,
    TokenSource,
    celery_executor,
    check_gate_job_options,
    create_run,
    gate_evaluator_at,
    hold_run_lock,
    local_services,
    read_file_at_commit,
    recover_interrupted_runs,
    run_local,
)
from bastion.errors import BastionError
from bastion.executors.celery import LeaseStore
from bastion.pipeline import LoadedPipeline, default_pipeline, parse_pipeline, plan_pipeline
from bastion.scanners.registry import available_gates
from bastion.server.approval_gate import ServerApprovalGate
from bastion.server.approvals import Approvals
from bastion.server.errors import BadRequestError, ConflictError
from bastion.server.repositories import Repository
from bastion.server.signed_runs import ALLOWED_SIGNERS, record_blocked_run, signature_block
from bastion.server.triage import ServerSuppressions
from bastion.server.trust_policy import Trigger, TrustFacts, decide_trust, pipeline_changed
from bastion.store import Database, RunRecord
from bastion.supplychain import BlobStore
from bastion.trust import Trust

__all__ = ["ForgeTrigger", "Launcher", "RunLauncher", "RunRequest", "trust_for"]

logger = logging.getLogger("bastion.server")
_HEX = re.compile(r"[0-9a-f]{7,64}")
_FAILED = "the server could not carry out this run (see the server's log)"


def trust_for(repository: Repository, branch: str | None, commit: str) -> Trust:
    """The trust of a run of a registered repository's ``commit`` reached through ``branch``
    (None: a bare commit), decided by :func:`~bastion.server.trust_policy.decide_trust`.

    A protected branch's head is ``trusted``; any other branch or a bare commit ``internal``;
    and any run whose pipeline file differs from the default branch's ``untrusted``.
    """
    default = _git(
        repository.path,
        "rev-parse",
        "--verify",
        "--quiet",
        f"refs/heads/{repository.default_branch}^{{commit}}",
    )
    facts = TrustFacts(
        Trigger.MANUAL,
        protected=branch is not None and repository.is_protected(branch),
        pipeline_changed=pipeline_changed(repository.path, commit, default),
    )
    return decide_trust(facts)


@dataclass(frozen=True)
class ForgeTrigger:
    """A run a forge webhook asked for, resolved by the server's own fetch.

    ``commit`` is what the jobs build; ``config_commit`` is where the pipeline file and the
    policies are read (for a pull request the base branch's head, never the head's: a pull
    request cannot change the gates that judge it); ``facts`` decide the trust.
    """

    commit: str
    ref: str
    config_commit: str
    facts: TrustFacts


@dataclass(frozen=True)
class RunRequest:
    """What to run: a branch (its head), a commit, or a commit reached through a branch.

    ``actor`` is the account name of who asked (None: nobody known, e.g. a push hook or a
    forge sender without an account); four-eyes refuses them as an approver of the run."""

    repository: Repository
    branch: str | None = None
    commit: str | None = None
    event: str = "manual"
    forge: ForgeTrigger | None = None
    actor: str | None = None


class Launcher(Protocol):
    """What the routes and the repository watcher need of a launcher (tests pass a fake)."""

    def submit(self, request: RunRequest) -> RunId:
        """Queue a run; its id."""
        ...

    def cancel(self, run_id: int) -> bool:
        """Ask a run to stop; False if it is not running here."""
        ...

    def close(self) -> None:
        """Stop everything (server shutdown)."""
        ...


@dataclass
class _Ticket:
    run_id: RunId
    prepared: PreparedRun
    options: LocalRunOptions
    config_commit: str
    actor: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    done: threading.Event = field(default_factory=threading.Event)


def _git(path: Path, *args: str) -> str | None:
    result = subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=False, timeout=30
    )
    return result.stdout.strip() if result.returncode == 0 else None


def _resolve(request: RunRequest) -> tuple[str, str | None]:
    """The commit to run and the branch it is reached through (None: a bare commit)."""
    path, branch = request.repository.path, request.branch
    head = None
    if branch is not None:
        if branch.startswith("-") or _git(path, "check-ref-format", "--branch", branch) is None:
            raise BadRequestError("not a valid branch name")
        head = _git(path, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
        if head is None:
            raise BadRequestError(f"no branch {branch} in {request.repository.name}")
    if request.commit is None:
        if head is None:
            raise BadRequestError("name a branch or a commit")
        return head, branch
    if not _HEX.fullmatch(request.commit):
        raise BadRequestError("a commit is 7 to 64 lower-case hexadecimal digits")
    commit = _git(path, "rev-parse", "--verify", "--quiet", f"{request.commit}^{{commit}}")
    if commit is None:
        raise BadRequestError(f"no commit {request.commit} in {request.repository.name}")
    # Trust comes through a branch only when that branch's head is the commit being run.
    return commit, branch if head == commit else None


def _decide(request: RunRequest) -> tuple[str, str | None, str, Trust]:
    """Commit to build, its ref, the commit the configuration is read at, and the trust."""
    if request.forge is not None:
        forge = request.forge
        return forge.commit, forge.ref, forge.config_commit, decide_trust(forge.facts)
    commit, branch = _resolve(request)
    ref = f"refs/heads/{branch}" if branch else None
    return commit, ref, commit, trust_for(request.repository, branch, commit)


def _load(path: Path, commit: str) -> LoadedPipeline:
    for relative in PIPELINE_FILES:
        raw = read_file_at_commit(path, commit, relative)
        if raw is not None:
            return parse_pipeline(raw, source=f"{relative}@{commit[:12]}")
    return default_pipeline(path, available_gates())


class RunLauncher:
    """Queues and carries out the server's runs; ``close`` cancels them and waits."""

    def __init__(
        self,
        db: Database,
        home: Path,
        suppressions: ServerSuppressions,
        *,
        concurrency: int = 2,
        identity: TokenSource | None = None,
        approvals: Approvals | None = None,
        artifacts: BlobStore | None = None,
        broker: str | None = None,
    ) -> None:
        self._db, self._home, self._suppressions = db, home, suppressions
        # None: jobs run on this machine's threads; a URL: on the Celery workers of each
        # run's pool, their leases in this database (``bastion serve --executor celery``).
        self._broker = broker
        self._identity = identity  # the issuer the app publishes; None: no job gets a token
        # None: a job with ``environment:`` is blocked (the engine fails closed).
        self._approvals, self._artifacts = approvals, artifacts
        self.state = home / "server"
        self.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="bastion-run")
        self._tickets: dict[int, _Ticket] = {}
        self._guard = threading.Lock()
        self._closed = False

    def recover(self) -> list[int]:
        """Close the runs a previous server process left unfinished (at start-up); with
        Celery, their leases too (each worker stops a job whose server went silent)."""
        from bastion.audit import open_local_log

        recovered = recover_interrupted_runs(
            self._db, self.state, lambda: open_local_log(self._db, self._home)[0]
        )
        if recovered and self._broker is not None:
            LeaseStore(self._db).end_runs(recovered, now=datetime.now(UTC).timestamp())
        return recovered

    def submit(self, request: RunRequest) -> RunId:
        """Prepare and queue a run; BadRequestError for an unknown commit or a bad pipeline."""
        commit, ref, config, trust = _decide(request)
        repository = request.repository
        context = RunContext(repository.name, commit, ref, request.event, trust)
        try:
            loaded = _load(repository.path, config)
            check_gate_job_options(loaded)
            plan_pipeline(loaded.pipeline, source=loaded.source)
        except BastionError as exc:
            raise BadRequestError(exc.message) from exc
        blocked = signature_block(repository, ref, commit, self._home / ALLOWED_SIGNERS)
        if blocked is not None:
            return record_blocked_run(
                self._db, self._home, context, loaded.source, loaded.digest, blocked
            )
        git = GitState(repository.path, "", commit, ref, None, dirty=False)
        prepared = PreparedRun(repository.path, loaded, context, git, self.state, self._db)
        options = LocalRunOptions(project=repository.path, commit=commit)
        with self._guard:
            if self._closed:
                raise ConflictError("the server is stopping; no run is started")
            run_id = create_run(self._db, context, loaded.source, loaded.digest)
            ticket = _Ticket(run_id, prepared, options, config, request.actor)
            ticket.lock.enter_context(hold_run_lock(self.state, run_id))
            self._tickets[run_id] = ticket
        self._pool.submit(self._work, ticket)
        return run_id

    def cancel(self, run_id: int) -> bool:
        """Ask a run of this server to stop; False if it is not running here."""
        with self._guard:
            ticket = self._tickets.get(run_id)
        if ticket is None:
            return False
        ticket.cancel.set()
        return True

    def wait(self, run_id: int, timeout: float) -> bool:
        """Wait until the run is over (True), or ``timeout`` seconds."""
        with self._guard:
            ticket = self._tickets.get(run_id)
        return True if ticket is None else ticket.done.wait(timeout)

    def close(self) -> None:
        """Cancel every run still queued or running and wait for the workers."""
        with self._guard:
            self._closed = True
            tickets = list(self._tickets.values())
        for ticket in tickets:
            ticket.cancel.set()
        self._pool.shutdown(wait=True)

    def _work(self, ticket: _Ticket) -> None:
        try:
            evaluator = gate_evaluator_at(
                ticket.prepared.root,
                ticket.config_commit,
                accepted=self._suppressions.for_repository(ticket.prepared.context.repo),
            )
            services = local_services(
                ticket.prepared,
                ticket.options,
                gate_evaluator=evaluator,
                home=self._home,
                identity=self._identity,
                approvals=self._gate(ticket),
            )
            if self._broker is not None:
                trust = ticket.prepared.context.trust
                executor = celery_executor(self._broker, self._home, trust, self._db)
                services = dataclasses.replace(services, executor=executor)
            result = run_local(
                ticket.options,
                prepared=ticket.prepared,
                services=services,
                cancel=ticket.cancel,
                run_id=ticket.run_id,
            )
            if self._approvals is not None:
                passed = {job for job, state in result.jobs.items() if state is JobState.PASSED}
                self._approvals.record_deploys(ticket.run_id, passed)
        except BastionError as exc:
            logger.warning("run %s: %s", ticket.run_id, exc.message)
            self._fail(ticket.run_id, exc.message)
        except Exception:
            # Not hidden: the trace goes to the operator's log; the record says it failed.
            logger.exception("run %s: the engine failed", ticket.run_id)
            self._fail(ticket.run_id, _FAILED)
        finally:
            ticket.lock.close()
            with self._guard:
                self._tickets.pop(ticket.run_id, None)
            ticket.done.set()

    def _gate(self, ticket: _Ticket) -> ServerApprovalGate | None:
        """The run's approval gate (None without approvals: environment jobs are blocked)."""
        if self._approvals is None:
            return None
        root = ticket.prepared.root
        return ServerApprovalGate(self._approvals, root, ticket.actor, self._artifacts)

    def _fail(self, run_id: int, reason: str) -> None:
        """Close a run the engine could not finish (one it finished keeps its own state)."""
        with self._db.session() as session:
            session.execute(
                update(RunRecord)
                .where(RunRecord.id == run_id, RunRecord.status.in_(("queued", "running")))
                .values(status="error", reason=reason, finished_at=datetime.now(UTC))
            )
