"""Turn a pipeline job into the executor's plain :class:`JobSpec`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bastion.engine.cache_scope import cache_namespace, cache_specs
from bastion.engine.model import GateEvaluator, RunContext, RunId
from bastion.engine.syscall_policy import check_relaxations, sandbox_groups
from bastion.errors import EngineError
from bastion.executors import JobSpec, ReceivedArtifact, StepSpec, WorkspaceSource
from bastion.pipeline import Job, Pipeline, Plan
from bastion.sandbox import NetworkMode
from bastion.sandbox.runtime import bastion_runtime_binds
from bastion.scanners.registry import load_gate

__all__ = ["JobSpecFactory"]

_SHELL = ("/bin/sh", "-e", "-c")


class JobSpecFactory:
    """Builds each job's spec for one run."""

    def __init__(
        self,
        *,
        run_id: RunId,
        plan: Plan,
        pipeline: Pipeline,
        context: RunContext,
        source_path: Path,
        source_commit: str | None,
        git_prefix: str,
        artifact_root: Path,
        gate_evaluator: GateEvaluator | None,
        proxy_sockets: dict[str, str] | None = None,
        prepare_dir: Path | None = None,
        cache_root: Path | None = None,
        received_by: Callable[[str], tuple[ReceivedArtifact, ...]] | None = None,
    ) -> None:
        self.prepare_dir = prepare_dir
        # BASTION_HOME/cache/jobs; this run uses only its trust level's part (cache_scope).
        self.cache_dir = cache_namespace(cache_root, context) if cache_root else None
        # Asked when the job is submitted: by then the jobs it needs have been attested.
        self.received_by = received_by or (lambda _name: ())
        self.source_path = source_path
        self.proxy_sockets = proxy_sockets or {}
        self.run_id = run_id
        self.plan = plan
        self.pipeline = pipeline
        self.context = context
        self.source = WorkspaceSource(
            str(source_path),
            f"{source_commit}:{git_prefix}" if source_commit and git_prefix else source_commit,
        )
        self.artifact_root = artifact_root
        self.gate_evaluator = gate_evaluator
        self.gates = {name: job.gate for name, job in plan.jobs.items() if job.gate is not None}
        # Before any job is built, let alone run: a refused relaxation runs nothing.
        check_relaxations(plan, context.trust)

    def _env(self, name: str, job: Job) -> dict[str, str]:
        return {
            "CI": "true",
            "BASTION": "1",
            "BASTION_RUN_ID": str(self.run_id),
            "BASTION_JOB": name,
            "BASTION_COMMIT": self.context.commit or "",
            "BASTION_REF": self.context.ref or "",
            "BASTION_TRUST": self.context.trust.value,
            **self.pipeline.env,
            **job.env,
        }

    def build(self, name: str) -> JobSpec:
        """The spec of job ``name``."""
        job = self.plan.jobs[name]
        binds = list(job.tools)
        collect: tuple[str, ...] = ()
        inject: tuple[tuple[str, str], ...] = ()
        if job.gate is not None:
            steps, gate_binds, collect, inject = self._gate_steps(name, job)
            binds += gate_binds
        else:
            steps = tuple(
                StepSpec(
                    name=step.display_name,
                    argv=(*_SHELL, step.run),
                    env=dict(step.env),
                    working_directory=step.working_directory or job.working_directory,
                    timeout_seconds=step.timeout or job.step_timeout,
                )
                for step in job.steps or ()
            )
        # A host allow-list (a list) or a job given an egress proxy goes through the proxy.
        network = NetworkMode(job.network) if isinstance(job.network, str) else NetworkMode.PROXY
        if name in self.proxy_sockets:
            network = NetworkMode.PROXY
        return JobSpec(
            run_id=self.run_id,
            job=name,
            steps=steps,
            source=self.source,
            env=self._env(name, job),
            memory_bytes=job.limits.memory,
            max_processes=job.limits.processes,
            max_open_files=job.limits.open_files,
            syscalls=sandbox_groups(name, job.limits.syscalls, self.context.trust),
            network=network,
            proxy_socket=self.proxy_sockets.get(name),
            read_only_binds=tuple(dict.fromkeys(binds)),
            rootfs=job.rootfs,
            collect=collect,
            artifacts=tuple(job.artifacts),
            artifact_dir=str(self.artifact_root / name) if job.artifacts else None,
            inject=inject,
            cache=cache_specs(name, job),
            cache_dir=str(self.cache_dir) if self.cache_dir and job.cache else None,
            receive=self.received_by(name),
        )

    def _gate_steps(
        self, name: str, job: Job
    ) -> tuple[tuple[StepSpec, ...], list[str], tuple[str, ...], tuple[tuple[str, str], ...]]:
        gate = job.gate
        if gate is None or self.gate_evaluator is None:
            raise EngineError(f"job '{name}' uses a gate but no gate runner is configured")
        options, inject = self._prepare(name, gate, dict(job.with_))
        report = self.gate_evaluator.report_path(gate)
        argv = self.gate_evaluator.command(gate, options, report)
        binds = [str(p) for p in bastion_runtime_binds()]
        binds += list(self.gate_evaluator.binds(gate))
        step = StepSpec(
            name=f"bastion/{gate}",
            argv=argv,
            working_directory=".",
            timeout_seconds=job.step_timeout,
            env={"BASTION_GATE_OPTIONS": json.dumps(options, sort_keys=True)},
        )
        return (step,), binds, (report,), inject

    def _prepare(
        self, name: str, gate: str, options: dict[str, Any]
    ) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
        """Host-side preparation of the workspace (``Gate.prepare_workspace``), e.g. the
        secrets gate's git history, which the sandboxed workspace (no ``.git``) cannot read."""
        if self.prepare_dir is None:
            return options, ()
        staging = self.prepare_dir / f"prepare-{name}"
        staging.mkdir(parents=True, exist_ok=True, mode=0o700)
        prepared = load_gate(gate).prepare_workspace(self.source_path, staging, options)
        inject = tuple((p.name, str(p)) for p in sorted(staging.iterdir()) if p.is_file())
        return prepared, inject
