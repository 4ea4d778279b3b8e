"""``bastion run``: compose pipeline, sandbox, executor, store and observers for one local run.

>>> from bastion.engine.local_run import LocalRunOptions, run_local
>>> result = run_local(LocalRunOptions(project=Path("examples/python-service")))
"""

from __future__ import annotations

import getpass
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bastion.audit import AuditLog, open_local_log
from bastion.engine.artifact_handoff import ArtifactHandoff
from bastion.engine.attestation import AttestationInputs, JobAttester
from bastion.engine.audit_trail import AuditTrail
from bastion.engine.commit_config import gate_evaluator_at
from bastion.engine.events import Observer
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
from bastion.errors import UsageError
from bastion.executors import LocalExecutor
from bastion.pipeline import (
    LoadedPipeline,
    Plan,
    default_pipeline,
    load_pipeline,
    parse_pipeline,
    plan_pipeline,
)
from bastion.sandbox import BubblewrapSandbox, UnsafeHostRunner, check_sandbox_available
from bastion.sandbox.egress import render_allow_list
from bastion.sandbox.interface import Sandbox
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

__all__ = ["PIPELINE_FILES", "LocalRunOptions", "PreparedRun", "prepare_run", "run_local"]

logger = logging.getLogger("bastion.engine")
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


def make_sandbox(unsafe: bool, state: Path | None = None) -> Sandbox:
    """The bubblewrap sandbox, or, only when explicitly asked, the unsafe host runner."""
    if unsafe:
        logger.warning(
            "--unsafe-no-sandbox: jobs run on the host WITHOUT isolation, as %s",
            "root" if sys.platform == "linux" and _is_root() else "this user",
        )
        return UnsafeHostRunner()
    check_sandbox_available()
    # The state directory, keys and vault may never be bound in; gates do get their tool
    # environments and vulnerability database from BASTION_HOME, read-only, one by one.
    home = bastion_home()
    return BubblewrapSandbox(state_dir=state, denied_paths=[home / "keys", home / "vault"])


def _is_root() -> bool:
    return os.geteuid() == 0


def run_local(
    options: LocalRunOptions,
    *,
    observers: Sequence[Observer] = (),
    gate_evaluator: GateEvaluator | None = None,
    cancel: threading.Event | None = None,
    on_prepared: Callable[[PreparedRun, int], None] | None = None,
    say: Callable[[str], None] = logger.info,
) -> RunResult:
    """Run the project's pipeline locally, every job sandboxed; returns how it ended."""
    prepared = prepare_run(options)
    if gate_evaluator is None:
        # With --commit, the commit's policy and suppressions decide, never the working tree's.
        commit = prepared.git.commit if options.commit else None
        gate_evaluator = gate_evaluator_at(prepared.root, commit)
    sandbox = make_sandbox(options.unsafe_no_sandbox, prepared.state)
    plan = plan_pipeline(prepared.loaded.pipeline, source=prepared.loaded.source)
    if options.jobs:
        plan = _only(plan, options.jobs, prepared.loaded)
    audit_log = partial(_audit_log, prepared.db)
    for stale in recover_interrupted_runs(prepared.db, prepared.state, audit_log):
        say(f"run {stale} was interrupted (its Bastion process stopped); marked as error")
    run_id = create_run(
        prepared.db, prepared.context, prepared.loaded.source, prepared.loaded.digest
    )
    with hold_run_lock(prepared.state, run_id):
        return _execute(
            options,
            prepared,
            plan,
            sandbox,
            run_id,
            observers,
            gate_evaluator,
            cancel,
            on_prepared,
            say,
        )


def _execute(
    options: LocalRunOptions,
    prepared: PreparedRun,
    plan: Plan,
    sandbox: Sandbox,
    run_id: RunId,
    observers: Sequence[Observer],
    gate_evaluator: GateEvaluator | None,
    cancel: threading.Event | None,
    on_prepared: Callable[[PreparedRun, int], None] | None,
    say: Callable[[str], None],
) -> RunResult:
    if on_prepared is not None:
        on_prepared(prepared, run_id)
    audit_log, key_created = open_local_log(prepared.db, bastion_home())
    if key_created:
        say("created the audit log's checkpoint key (Ed25519) under BASTION_HOME/keys")
    trail = AuditTrail(audit_log, actor=f"user:{getpass.getuser()}")
    # Logged before any secret is released or job started: a run killed from here on
    # leaves its story in the log (each event is committed as it happens).
    source = (prepared.loaded.source, prepared.loaded.digest)
    trail.begin(run_id, prepared.context, source, plan.order, time.time())
    scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix(prepared.state, run_id)))
    resources: JobResources | None = None
    try:
        resources = prepare_job_resources(
            record=trail.record,
            plan=plan,
            context=prepared.context,
            run_id=run_id,
            pipeline_source=prepared.loaded.source,
            home=bastion_home(),
            scratch=scratch,
            log_dir=prepared.state / "logs" / str(run_id),
            learn_egress=options.learn_egress,
            locate=prepared.loaded.locate,
        )
        staging = prepared.state / "artifacts" / "staging" / str(run_id)
        handoff = _handoff(prepared, plan, run_id, staging, trail, say)
        factory = JobSpecFactory(
            run_id=run_id,
            plan=plan,
            pipeline=prepared.loaded.pipeline,
            context=prepared.context,
            source_path=prepared.root,
            source_commit=options.commit and prepared.git.commit,
            git_prefix=prepared.git.prefix,
            artifact_root=staging,
            gate_evaluator=gate_evaluator,
            proxy_sockets=resources.proxy_sockets,
            prepare_dir=scratch,
            cache_root=bastion_home() / "cache" / "jobs",
            received_by=handoff.received_by,
        )
        # Install and warm the gates' tools now, not on the scheduler's thread mid-run.
        prepare_gates(factory.gates.values(), say)
        history = GateCpuHistory.in_home(bastion_home())
        executor = LocalExecutor(
            sandbox,
            scratch,
            max_parallel=options.max_parallel,
            files_for=resources.files_for,
            env_for=resources.env_for,
            output_filter=resources.output_filter,
        )
        try:
            scheduler = Scheduler(
                run_id=run_id,
                plan=plan,
                context=prepared.context,
                executor=executor,
                build_spec=factory.build,
                gate_evaluator=gate_evaluator,
                observers=[Recorder(prepared.db, prepared.state / "logs"), trail, *observers],
                config=SchedulerConfig(
                    fail_fast=options.fail_fast,
                    pipeline_source=prepared.loaded.source,
                    pipeline_digest=prepared.loaded.digest,
                    gates=factory.gates,
                    gate_cpu=history.expected(prepared.root),
                ),
                cancel=cancel,
                after_job=handoff.after_job,
            )
            result = scheduler.execute()
            history.remember(prepared.root, cpu_by_gate(factory.gates, result.verdicts))
        finally:
            executor.shutdown()
        resources.close()
        if resources.learner is not None:
            say("hosts the jobs contacted; paste under the job's `network:`:")
            say(render_allow_list(resources.learner.contacted))
        return replace(result, attestations=tuple(_summary(a) for a in handoff.attested))
    finally:
        # Sealed however the run ended; an error on the way out still gets its checkpoint.
        trail.seal()
        if resources is not None:
            resources.close()
        shutil.rmtree(scratch, ignore_errors=True)
        prepared.db.dispose()


def _audit_log(db: Database) -> AuditLog:
    """The project's audit log, checkpoints signed with the key under BASTION_HOME."""
    return open_local_log(db, bastion_home())[0]


def _handoff(
    prepared: PreparedRun,
    plan: Plan,
    run_id: RunId,
    staging: Path,
    trail: AuditTrail,
    say: Callable[[str], None],
) -> ArtifactHandoff:
    """Attests each job's artifacts as it ends and passes them to the jobs that need it."""
    inputs = AttestationInputs(
        project=prepared.root,
        home=bastion_home(),
        staging=staging,
        pipeline_source=prepared.loaded.source,
        pipeline_digest=prepared.loaded.digest,
        context=prepared.context,
        started=datetime.now(UTC),
        run_id=run_id,
    )
    return ArtifactHandoff(
        plan=plan, attester=JobAttester(inputs, say), run_id=run_id, record=trail.record
    )


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
