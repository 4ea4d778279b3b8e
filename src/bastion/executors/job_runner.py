"""Run one job: fresh workspace, each step in the sandbox, collect results, remove everything.

Shared by every executor (a local thread or a Celery worker runs the same function), so a job
behaves the same wherever it runs.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

from bastion.errors import SandboxError, VerificationError
from bastion.executors.artifact_delivery import deliver_artifacts
from bastion.executors.interface import (
    JobEvent,
    JobEventKind,
    JobEventSink,
    JobOutcome,
    JobSpec,
    JobState,
    StepSpec,
)
from bastion.executors.job_cache import restore_caches, save_caches
from bastion.executors.secret_guard import (
    JobMasking,
    MaskingFactory,
    OutputFilter,
    SecretRefused,
    copy_unless_secret,
    masked_outcome,
    masked_sink,
    no_masking,
)
from bastion.regular_file import Refusal, Refused, open_regular_file, read_regular_file
from bastion.sandbox import SyscallGroup, Workspace
from bastion.sandbox.interface import Limits, NetworkMode, NetworkPolicy, Sandbox, SandboxSpec

__all__ = ["OutputFilterFactory", "run_job"]

logger = logging.getLogger("bastion.executors")

_MAX_COLLECT_BYTES = 64 * 1024 * 1024

OutputFilterFactory = MaskingFactory
"""The job's masking (:mod:`~bastion.executors.secret_guard`), asked for once per job."""
_passthrough = no_masking


def run_job(
    spec: JobSpec,
    *,
    sandbox: Sandbox,
    workspace_parent: Path,
    on_event: JobEventSink,
    cancelled: threading.Event,
    files: dict[str, bytes] | None = None,
    secret_env: dict[str, str] | None = None,
    output_filter: OutputFilterFactory = _passthrough,
) -> JobOutcome:
    """Run ``spec`` to its end; the workspace is removed whatever happens.

    ``files`` and ``secret_env`` carry released secrets; they stay on this side of the
    executor boundary and never enter the (serialisable) ``spec``. ``output_filter``
    gives the job's masking, asked for once here and used for every step, message,
    report and stored file of the job.
    """
    masking = output_filter(spec)
    on_event(JobEvent(JobEventKind.STARTED, spec.job, at=time.time()))
    try:
        outcome = _run_in_workspace(
            spec,
            sandbox,
            workspace_parent,
            on_event,
            cancelled,
            (files or {}, secret_env or {}),
            masking,
        )
    except SecretRefused as exc:
        # The job's own doing, like a failed step: it failed, Bastion did not.
        outcome = JobOutcome(status=JobState.FAILED, reason=exc.diagnostics())
    except (SandboxError, VerificationError) as exc:
        # The message may quote the job's own output (a setup failure is told from the
        # first line it printed), so it passes the same masker: it lands in the run record,
        # the audit log and the console.
        outcome = JobOutcome(status=JobState.ERROR, reason=exc.diagnostics())
    except Exception as exc:
        # The run waits for FINISHED: a crash here must still end the job, as an error.
        logger.exception("job %s: the job runner failed", spec.job)
        reason = f"internal error: {type(exc).__name__}: {exc}"
        outcome = JobOutcome(status=JobState.ERROR, reason=reason)
    # Every reason may quote the job's output (a setup failure is told from the first
    # line it printed) and every report what it scanned: they land in the run record,
    # the run table, the audit log and a gate's findings, so they pass the masker.
    outcome = masked_outcome(outcome, masking)
    on_event(JobEvent(JobEventKind.FINISHED, spec.job, outcome=outcome, at=time.time()))
    return outcome


def _workspace(spec: JobSpec, parent: Path) -> Workspace:
    source = Path(spec.source.path)
    if spec.source.commit:
        return Workspace.from_commit(source, spec.source.commit, parent)
    return Workspace.from_working_tree(source, parent)


def _run_in_workspace(
    spec: JobSpec,
    sandbox: Sandbox,
    parent: Path,
    on_event: JobEventSink,
    cancelled: threading.Event,
    secrets: tuple[dict[str, bytes], dict[str, str]],
    masking: JobMasking,
) -> JobOutcome:
    said = masked_sink(on_event, masking)  # Bastion's lines about caches
    with _workspace(spec, parent) as workspace:
        # Every step's build tools stamp the commit's time, not the clock's (reproducible
        # builds); a step that declares its own SOURCE_DATE_EPOCH keeps it.
        spec = replace(spec, env={**spec.env, **_source_date_env(workspace)})
        # First, so `hashFiles` sees the job's source tree and nothing Bastion added.
        cache_keys = restore_caches(spec, workspace.path, said)
        _inject(workspace.path, spec.inject)
        # Before any step: a tampered artifact fails the job without running it.
        sealed = deliver_artifacts(workspace.path, spec.receive)
        for index, step in enumerate(spec.steps):
            if cancelled.is_set():
                return JobOutcome(status=JobState.CANCELLED, reason="cancelled before step started")
            failure = _run_step(
                spec,
                index,
                step,
                sandbox,
                workspace.path,
                on_event,
                cancelled,
                (secrets, sealed),
                masking.stream(),
            )
            if failure is not None:
                # A gate that failed may still have written a report that says why.
                reports = _collect(workspace.path, spec.collect, strict=False)
                return replace(failure, collected=reports)
        collected = _collect(workspace.path, spec.collect)
        artifacts = _copy_artifacts(workspace.path, spec, masking)
        save_caches(spec, workspace.path, cache_keys, said, masking.scan)
    return JobOutcome(status=JobState.PASSED, collected=collected, artifacts=artifacts)


def _source_date_env(workspace: Workspace) -> dict[str, str]:
    epoch = workspace.source_date_epoch
    return {} if epoch is None else {"SOURCE_DATE_EPOCH": str(epoch)}


def _inject(root: Path, files: tuple[tuple[str, str], ...]) -> None:
    for relative, source in files:
        parts = Path(relative).parts
        if Path(relative).is_absolute() or ".." in parts or len(parts) != 1:
            raise SandboxError(f"cannot inject {relative!r}: a plain file name is required")
        shutil.copyfile(source, root / relative, follow_symlinks=False)


def _sandbox_spec(
    spec: JobSpec,
    step: StepSpec,
    workspace: Path,
    given: tuple[tuple[dict[str, bytes], dict[str, str]], tuple[str, ...]],
) -> SandboxSpec:
    (files, secret_env), sealed = given
    network = NetworkPolicy(spec.network)
    if network.mode is NetworkMode.PROXY:
        if not spec.proxy_socket:
            raise SandboxError(f"job {spec.job}: network allow-list given but no egress proxy")
        network = NetworkPolicy(NetworkMode.PROXY, Path(spec.proxy_socket))
    return SandboxSpec(
        argv=step.argv,
        workspace=workspace,
        env={**spec.env, **step.env, **secret_env},
        working_directory=step.working_directory,
        limits=Limits(
            timeout_seconds=step.timeout_seconds,
            memory_bytes=spec.memory_bytes,
            max_processes=spec.max_processes,
            max_open_files=spec.max_open_files,
            nice=spec.nice,
            # SyscallGroup(...) again: a spec that crossed a Celery message holds plain str.
            syscalls=frozenset(SyscallGroup(group) for group in spec.syscalls),
        ),
        network=network,
        read_only_binds=tuple(Path(p) for p in spec.read_only_binds),
        rootfs=Path(spec.rootfs) if spec.rootfs else None,
        files=files,
        sealed_paths=sealed,
    )


def _run_step(
    spec: JobSpec,
    index: int,
    step: StepSpec,
    sandbox: Sandbox,
    workspace: Path,
    on_event: JobEventSink,
    cancelled: threading.Event,
    given: tuple[tuple[dict[str, bytes], dict[str, str]], tuple[str, ...]],
    filter_output: OutputFilter,
) -> JobOutcome | None:
    on_event(JobEvent(JobEventKind.STEP_STARTED, spec.job, index, step.name, at=time.time()))

    def emit(chunk: bytes) -> None:
        masked = filter_output(chunk)
        if masked:
            on_event(JobEvent(JobEventKind.OUTPUT, spec.job, index, data=masked))

    result = sandbox.run(_sandbox_spec(spec, step, workspace, given), emit, cancel=cancelled.is_set)
    tail = filter_output(None)
    if tail:
        on_event(JobEvent(JobEventKind.OUTPUT, spec.job, index, data=tail))
    on_event(
        JobEvent(
            JobEventKind.STEP_FINISHED,
            spec.job,
            index,
            step.name,
            exit_code=result.exit_code,
            at=time.time(),
        )
    )
    if result.cancelled:
        return JobOutcome(status=JobState.CANCELLED, reason="cancelled", failed_step=index)
    if result.timed_out:
        reason = f"step '{step.name}' timed out after {step.timeout_seconds:g} s"
        return JobOutcome(status=JobState.FAILED, reason=reason, failed_step=index)
    if result.limit_reached is not None:
        # Before the exit code: the process the kernel killed may not be the main one.
        reason = f"step '{step.name}' stopped: {result.limit_reached}"
        return JobOutcome(status=JobState.FAILED, reason=reason, failed_step=index)
    if result.exit_code != 0:
        how = (
            f"killed by signal {result.signal}"
            if result.signal
            else f"exited with {result.exit_code}"
        )
        reason = f"step '{step.name}' {how}{_per_process_note(spec, result.job_wide_limits)}"
        return JobOutcome(status=JobState.FAILED, reason=reason, failed_step=index)
    return None


def _per_process_note(spec: JobSpec, job_wide: bool) -> str:
    """Without a cgroup the kernel cannot say a limit killed the step, and each process has
    the whole memory limit (rlimits): the reason says so, since that may be why it failed."""
    if job_wide or spec.memory_bytes is None:
        return ""
    return (
        f" (its memory limit of {spec.memory_bytes // 2**20} MiB is per process here, "
        "not job-wide: no cgroup)"
    )


def _collect(root: Path, paths: tuple[str, ...], *, strict: bool = True) -> dict[str, bytes]:
    """The gate reports the job wrote; a missing one is left out (the gate says it crashed).

    ``strict``: a report that is a link, a FIFO, a device or too large is a job error naming
    it (a job planted it); after a failed step it is only left out, so the step's own
    failure stays the reason.
    """
    collected: dict[str, bytes] = {}
    for relative in paths:
        data = read_regular_file(root, relative, limit=_MAX_COLLECT_BYTES)
        if not isinstance(data, Refused):
            collected[relative] = data
        elif strict and data.refusal is not Refusal.MISSING:
            raise SandboxError(f"report {data.text()}", hint="a report is a regular file")
    return collected


def _copy_artifacts(root: Path, spec: JobSpec, masking: JobMasking) -> tuple[str, ...]:
    """Copy the declared artifacts to the staging folder the engine stores them from.

    One that holds a released secret raises :class:`SecretRefused`, and no copy of it
    is left to be stored.
    """
    if not spec.artifacts or not spec.artifact_dir:
        return ()
    target = Path(spec.artifact_dir)
    copied: list[str] = []
    for pattern in spec.artifacts:
        for match in sorted(root.glob(pattern)):
            relative = match.relative_to(root).as_posix()
            if match.is_dir() and not match.is_symlink():
                continue  # a glob such as dist/**/* matches folders too
            fd = open_regular_file(root, relative)
            if isinstance(fd, Refused):
                # Named, never skipped: a link would publish a host file (or nothing, silently).
                raise SandboxError(
                    f"artifact {fd.text()} of job '{spec.job}'",
                    hint="artifacts are regular files inside the workspace; write the file "
                    "itself there (no symbolic link, FIFO, socket or device)",
                )
            with os.fdopen(fd, "rb") as handle:
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                copy_unless_secret(handle, destination, masking, f"artifact {relative}", relative)
            copied.append(relative)
    return tuple(copied)
