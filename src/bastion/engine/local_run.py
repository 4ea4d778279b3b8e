"""``bastion run``: compose pipeline, sandbox, executor, store and observers for one local run.

>>> from bastion.engine.local_run import LocalRunOptions, run_local
>>> result = run_local(LocalRunOptions(project=Path("examples/python-service")))
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bastion.engine.approval_gate import gated_executor
from bastion.engine.artifact_handoff import ArtifactHandoff
from bastion.engine.attestation import AttestationInputs, JobAttester
from bastion.engine.audit_trail import AuditTrail, user_actor
from bastion.engine.events import Event, Notice, Observer, RunFinished, RunPrepared
from bastion.engine.gate_job_options import check_gate_job_options
from bastion.engine.gate_priority import GateCpuHistory, cpu_by_gate
from bastion.engine.gates import prepare_gates
from bastion.engine.git_context import GitState, read_file_at_commit, read_git_state
from bastion.engine.job_resources import JobResources, prepare_job_resources
from bastion.engine.jobspecs import JobSpecFactory
from bastion.engine.model import GateEvaluator, RunContext, RunId, RunResult, Trust
from bastion.engine.recorder import Recorder, create_run
from bastion.engine.recovery import hold_run_lock, recover_interrupted_runs, scratch_prefix
from bastion.engine.scheduler import Scheduler, SchedulerConfig
from bastion.engine.services import RunServices, local_services, make_sandbox
from bastion.errors import UsageError
from bastion.pipeline import (
    DEFAULT_PIPELINE_SOURCE,
    LoadedPipeline,
    Plan,
    default_pipeline,
    load_pipeline,
    parse_pipeline,
    plan_pipeline,
)
from bastion.sandbox.egress import render_allow_list
from bastion.scanners.registry import available_gates
from bastion.store import (
    Database,
    bastion_home,
    default_database_url,
    find_repo_root,
    open_database,
    state_dir,
)
from bastion.supplychain import AttestedArtifact

__all__ = [
    "PIPELINE_FILES",
    "LocalRunOptions",
    "PreparedRun",
    "make_sandbox",
    "prepare_run",
    "run_local",
]

PIPELINE_FILES = (".bastion/pipeline.yml", ".bastion/pipeline.yaml")


@dataclass(frozen=True, slots=True)
class LocalRunOptions:
    """What the user asked for on the command line."""

    project: Path = field(default_factory=Path.cwd)
    commit: str | None = None
    pipeline_file: Path | None = None
    fail_fast: bool = True
    max_parallel: int | None = None
    unsafe_no_sandbox: bool = False
    jobs: tuple[str, ...] = ()
    learn_egress: bool = False


@dataclass(slots=True)
class PreparedRun:
    """Everything resolved before the first job starts."""

    root: Path
    loaded: LoadedPipeline
    context: RunContext
    git: GitState
    state: Path
    db: Database
    shared_db: bool = False  # other machines write to ``db`` too (``bastion run --db``)


def _load(root: Path, options: LocalRunOptions, git: GitState) -> LoadedPipeline:
    if options.pipeline_file is not None:
        return load_pipeline(options.pipeline_file, display=str(options.pipeline_file))
    for relative in PIPELINE_FILES:
        if options.commit and git.commit:
            raw = read_file_at_commit(root, git.commit, relative)
            if raw is not None:
                return parse_pipeline(raw, source=f"{relative}@{git.commit[:12]}")
        elif (root / relative).is_file():
            return load_pipeline(root / relative, display=relative)
    return default_pipeline(root, available_gates())


def _trust(git: GitState) -> Trust:
    # A local run is never more than `local`; uncommitted changes make it `dirty` (never signed).
    return Trust.DIRTY if git.commit is None or git.dirty else Trust.LOCAL


def prepare_run(options: LocalRunOptions) -> PreparedRun:
    """Resolve project, commit, pipeline and state; raise before anything runs."""
    if not options.project.is_dir():
        raise UsageError(f"{options.project} is not a directory", hint="pass -C PROJECT_DIR")
    root = find_repo_root(options.project)
    git = read_git_state(root, options.commit)
    loaded = _load(root, options, git)
    check_gate_job_options(loaded)  # a misspelt `with:` key stops here, located in the file
    context = RunContext(
        repo=git.remote or str(root),
        commit=git.commit,
        ref=git.ref,
        event="local",
        trust=_trust(git),
    )
    state = state_dir(root)
    return PreparedRun(root, loaded, context, git, state, open_database(default_database_url(root)))


@dataclass(slots=True)
class _Stages:
    """What one run's four stages share; each stage fills in what the next ones use."""

    options: LocalRunOptions
    prepared: PreparedRun
    plan: Plan
    services: RunServices
    # The audit trail and the recorder are put first once the prepare stage opens them.
    listeners: list[Observer]
    cancel: threading.Event | None
    run_id: RunId | None = None
    trail: AuditTrail | None = None
    scratch: Path | None = None
    resources: JobResources | None = None
    handoff: ArtifactHandoff | None = None
    factory: JobSpecFactory | None = None

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def tell(self, text: str) -> None:
        """Say something to the person running (through the observers, like everything)."""
        self.emit(Notice(self.run_id, text, self.services.clock()))

    def close(self) -> None:
        """Release whatever the stages made; sealed however the run ended, so an error on
        the way out still gets its checkpoint."""
        try:
            if self.trail is not None:
                self.trail.seal()
        finally:
            if self.resources is not None:
                self.resources.close()
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)


def run_local(
    options: LocalRunOptions,
    *,
    observers: Sequence[Observer] = (),
    gate_evaluator: GateEvaluator | None = None,
    cancel: threading.Event | None = None,
    prepared: PreparedRun | None = None,
    services: RunServices | None = None,
    run_id: RunId | None = None,
) -> RunResult:
    """Run the project's pipeline locally, every job sandboxed; returns how it ended.

    ``prepared`` and ``services`` are built by the caller (the CLI) and left open; without
    them they are made here the same way and closed (``gate_evaluator`` then replaces the
    commit's policy, for tests). People are told everything through ``observers``:
    :class:`RunPrepared`, :class:`Notice`, the scheduler's events, then :class:`RunFinished`
    once the run is attested. ``run_id`` is a run the caller recorded as queued and whose
    lock it holds (the server's queue); without it the run is recorded and locked here.
    """
    owned = services is None
    prepared = prepared or prepare_run(options)
    if services is None:
        services = local_services(
            prepared, options, gate_evaluator=gate_evaluator, home=bastion_home()
        )
    try:
        plan = plan_pipeline(prepared.loaded.pipeline, source=prepared.loaded.source)
        if options.jobs:
            plan = _only(plan, options.jobs, prepared.loaded)
        stages = _Stages(options, prepared, plan, services, list(observers), cancel)
        opener = services.audit
        for stale in recover_interrupted_runs(
            services.store, prepared.state, lambda: opener()[0], shared=prepared.shared_db
        ):
            stages.tell(
                f"run {stale} was interrupted (its Bastion process stopped); marked as error"
            )
        if run_id is not None:
            stages.run_id = run_id
            return _execute(stages)
        stages.run_id = create_run(
            services.store, prepared.context, prepared.loaded.source, prepared.loaded.digest
        )
        with hold_run_lock(prepared.state, stages.run_id):
            return _execute(stages)
    finally:
        if owned:
            services.store.dispose()


def _execute(stages: _Stages) -> RunResult:
    """The four stages: prepare → execute → attest → record."""
    try:
        _prepare_stage(stages)
        result = _execute_stage(stages)
        attestations = _attest_stage(stages)
        return _record_stage(stages, result, attestations)
    finally:
        stages.close()


def _prepare_stage(stages: _Stages) -> None:
    """Open the audit trail, release secrets, start proxies, warm the gates' tools."""
    prepared, services, run_id = stages.prepared, stages.services, _made(stages.run_id, "run")
    stages.emit(RunPrepared(run_id, prepared.context, prepared.loaded.source, services.clock()))
    audit_log, key_created = services.audit()
    if key_created:
        stages.tell("created the audit log's checkpoint key (Ed25519) under BASTION_HOME/keys")
    trail = stages.trail = AuditTrail(audit_log, actor=user_actor())
    # Logged before any secret is released or job started: a run killed from here on
    # leaves its story in the log (each event is committed as it happens).
    source = (prepared.loaded.source, prepared.loaded.digest)
    trail.begin(run_id, prepared.context, source, stages.plan.order, services.clock())
    stages.listeners[:0] = [Recorder(services.store, prepared.state / "logs"), trail]
    scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix(prepared.state, run_id)))
    stages.scratch = scratch
    stages.resources = prepare_job_resources(
        record=trail.record,
        plan=stages.plan,
        context=prepared.context,
        run_id=run_id,
        pipeline_source=prepared.loaded.source,
        home=services.home,
        scratch=scratch,
        log_dir=prepared.state / "logs" / str(run_id),
        learn_egress=stages.options.learn_egress,
        locate=prepared.loaded.locate,
        open_vault=services.vault,
        identity=services.identity,
    )
    staging = prepared.state / "artifacts" / "staging" / str(run_id)
    stages.handoff = _handoff(stages, staging)
    stages.factory = _spec_factory(stages, staging, stages.resources.proxy_sockets)
    # Install and warm the gates' tools now, not on the scheduler's thread mid-run.
    prepare_gates(stages.factory.gates.values(), stages.tell)


def _execute_stage(stages: _Stages) -> RunResult:
    """Run the DAG; each job's artifacts are attested as it ends (the scheduler's after_job)."""
    prepared, services = stages.prepared, stages.services
    factory, resources = _made(stages.factory, "factory"), _made(stages.resources, "resources")
    history = GateCpuHistory.in_home(services.home)
    executor = gated_executor(
        services.executor(services.sandbox, _made(stages.scratch, "scratch"), resources),
        services.approvals,
        {n: j.environment for n, j in stages.plan.jobs.items() if j.environment is not None},
        prepared.context,
        on_approved=resources.hand_over,
    )
    try:
        scheduler = Scheduler(
            run_id=_made(stages.run_id, "run"),
            plan=stages.plan,
            context=prepared.context,
            executor=executor,
            build_spec=factory.build,
            gate_evaluator=services.gate_evaluator,
            observers=stages.listeners,
            config=SchedulerConfig(
                fail_fast=stages.options.fail_fast,
                # The default's gates never cancel each other: each one's verdict is shown.
                independent_gates=prepared.loaded.source == DEFAULT_PIPELINE_SOURCE,
                pipeline_source=prepared.loaded.source,
                pipeline_digest=prepared.loaded.digest,
                gates=factory.gates,
                gate_cpu=history.expected(prepared.root),
                announce_finish=False,  # the record stage does, once the run is attested
                refused=resources.withheld,  # an untrusted run's jobs that asked for secrets
            ),
            cancel=stages.cancel,
            after_job=_made(stages.handoff, "handoff").after_job,
        )
        result = scheduler.execute()
        history.remember(prepared.root, cpu_by_gate(factory.gates, result.verdicts))
    finally:
        executor.shutdown()
    resources.close()
    if resources.learner is not None:
        stages.tell("hosts the jobs contacted; paste under the job's `network:`:")
        stages.tell(render_allow_list(resources.learner.contacted))
    return result


def _attest_stage(stages: _Stages) -> tuple[Mapping[str, Any], ...]:
    """What remains at run level once every job's artifacts are attested (as each job
    ended): the run's list of attestations, and a signed checkpoint of the audit log over
    every artifact and signature event, written before the run is declared finished."""
    attested = _made(stages.handoff, "handoff").attested
    _made(stages.trail, "audit trail").seal()
    return tuple(_summary(a) for a in attested)


def _record_stage(
    stages: _Stages, result: RunResult, attestations: tuple[Mapping[str, Any], ...]
) -> RunResult:
    """Record the run's final state (database, audit log, observers) after its attestations."""
    final = replace(result, attestations=attestations)
    at = stages.services.clock()
    stages.emit(RunFinished(final.run_id, final.state, at, dict(final.reasons)))
    return final


def _spec_factory(stages: _Stages, staging: Path, proxies: dict[str, str]) -> JobSpecFactory:
    prepared, options = stages.prepared, stages.options
    return JobSpecFactory(
        run_id=_made(stages.run_id, "run"),
        plan=stages.plan,
        pipeline=prepared.loaded.pipeline,
        context=prepared.context,
        source_path=prepared.root,
        source_commit=options.commit and prepared.git.commit,
        git_prefix=prepared.git.prefix,
        artifact_root=staging,
        gate_evaluator=stages.services.gate_evaluator,
        proxy_sockets=proxies,
        prepare_dir=_made(stages.scratch, "scratch"),
        cache_root=stages.services.home / "cache" / "jobs",
        received_by=_made(stages.handoff, "handoff").received_by,
    )


def _handoff(stages: _Stages, staging: Path) -> ArtifactHandoff:
    """Attests each job's artifacts as it ends and passes them to the jobs that need it."""
    prepared, run_id = stages.prepared, _made(stages.run_id, "run")
    inputs = AttestationInputs(
        project=prepared.root,
        home=stages.services.home,
        staging=staging,
        pipeline_source=prepared.loaded.source,
        pipeline_digest=prepared.loaded.digest,
        context=prepared.context,
        started=datetime.now(UTC),
        run_id=run_id,
        db=stages.services.store,
        # The jobs' workspaces are this commit's files, or the working tree (JobSpecFactory).
        source_commit=stages.options.commit and prepared.git.commit,
    )
    attester = JobAttester(inputs, stages.tell, signer=stages.services.signer)
    record = _made(stages.trail, "audit trail").record
    return ArtifactHandoff(plan=stages.plan, attester=attester, run_id=run_id, record=record)


_T = TypeVar("_T")


def _made(value: _T | None, what: str) -> _T:
    """What an earlier stage made; missing, a stage ran out of order (a bug, not a user's)."""
    if value is None:
        raise AssertionError(f"the {what} is made by an earlier stage")
    return value


def _summary(attested: AttestedArtifact) -> dict[str, Any]:
    return {
        "digest": str(attested.record.digest),
        "name": attested.record.name,
        "size": attested.record.size,
        "signed": attested.signed,
    }


def _only(plan: Plan, jobs: tuple[str, ...], loaded: LoadedPipeline) -> Plan:
    """The plan cut down to ``jobs`` and everything they need; a matrix job's name selects
    every expansion of it, an expanded name (``test (3.11)``) that one."""
    unknown = [j for j in jobs if not plan.resolve(j)]
    if unknown:
        raise UsageError(
            f"no job named {', '.join(unknown)} in {loaded.source}",
            hint=f"jobs are: {', '.join(plan.groups)}",
        )
    return plan.only(jobs, source=loaded.source)
