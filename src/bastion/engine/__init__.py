"""The engine: a run's state machine over a DAG of jobs, composed with sandbox, executor,
gates, policy, supply chain, vault and audit log.

    >>> from pathlib import Path
    >>> from bastion.engine import LocalRunOptions, run_local
    >>> options = LocalRunOptions(project=Path("examples/python-service"))
    >>> result = run_local(options)  # doctest: +SKIP
    >>> result.state.exit_code  # doctest: +SKIP
    0
"""

import importlib
from typing import TYPE_CHECKING, Any

# Exports load on first use (PEP 562): ``import bastion.engine.gate_scan`` (``bastion scan``)
# must not pull in the run machinery (store, audit log, supply chain: ~0.5 s, ~60 MB).
_EXPORTS = {
    "record_actions": "audit_trail",
    "user_actor": "audit_trail",
    "BUILDER_ID": "attestation",
    "PolicyGateEvaluator": "gate_evaluator",
    "GateCpuHistory": "gate_priority",
    "PathScan": "gate_scan",
    "default_gates": "gate_scan",
    "scan_path": "gate_scan",
    "ImagePush": "image_push",
    "PushResult": "image_push",
    "push_image": "image_push",
    "AssessedFinding": "gates",
    "GateDecision": "gates",
    "GateOutcome": "gates",
    "GateSpec": "gates",
    "get_findings": "history",
    "get_run": "history",
    "list_runs": "history",
    "read_log": "history",
    "recover_interrupted_runs": "recovery",
    "CancelOutcome": "run_cancel",
    "RunStopped": "run_cancel",
    "cancel_run": "run_cancel",
    "Event": "events",
    "JobChanged": "events",
    "JobOutput": "events",
    "Notice": "events",
    "Observer": "events",
    "RunFinished": "events",
    "RunPrepared": "events",
    "RunStarted": "events",
    "StepChanged": "events",
    "LocalRunOptions": "local_run",
    "PreparedRun": "local_run",
    "prepare_run": "local_run",
    "run_local": "local_run",
    "FindingCounts": "model",
    "GateEvaluator": "model",
    "GateVerdict": "model",
    "JobState": "model",
    "RunContext": "model",
    "RunId": "model",
    "RunResult": "model",
    "RunState": "model",
    "Trust": "model",
    "JudgedFinding": "run_findings",
    "finding_order": "run_findings",
    "Scheduler": "scheduler",
    "SchedulerConfig": "scheduler",
    "RunServices": "services",
    "local_services": "services",
    "celery_executor": "services",
    "make_sandbox": "services",
    "RunMasking": "run_masking",
    "gate_evaluator_at": "commit_config",
    "check_gate_job_options": "gate_job_options",
    "GitState": "git_context",
    "read_file_at_commit": "git_context",
    "PIPELINE_FILES": "local_run",
    "create_run": "recorder",
    "hold_run_lock": "recovery",
    "TokenSource": "job_identity",
    "issue_id_tokens": "job_identity",
    "ApprovalDecision": "approval_gate",
    "ApprovalGate": "approval_gate",
    "ApprovalRequest": "approval_gate",
}

if TYPE_CHECKING:
    from bastion.engine.approval_gate import ApprovalDecision, ApprovalGate, ApprovalRequest
    from bastion.engine.attestation import BUILDER_ID
    from bastion.engine.audit_trail import record_actions, user_actor
    from bastion.engine.commit_config import gate_evaluator_at
    from bastion.engine.events import (
        Event,
        JobChanged,
        JobOutput,
        Notice,
        Observer,
        RunFinished,
        RunPrepared,
        RunStarted,
        StepChanged,
    )
    from bastion.engine.gate_evaluator import PolicyGateEvaluator
    from bastion.engine.gate_job_options import check_gate_job_options
    from bastion.engine.gate_priority import GateCpuHistory
    from bastion.engine.gate_scan import PathScan, default_gates, scan_path
    from bastion.engine.gates import AssessedFinding, GateDecision, GateOutcome, GateSpec
    from bastion.engine.git_context import GitState, read_file_at_commit
    from bastion.engine.history import get_findings, get_run, list_runs, read_log
    from bastion.engine.image_push import ImagePush, PushResult, push_image
    from bastion.engine.local_run import (
        PIPELINE_FILES,
        LocalRunOptions,
        PreparedRun,
        prepare_run,
        run_local,
    )
    from bastion.engine.model import (
        FindingCounts,
        GateEvaluator,
        GateVerdict,
        JobState,
        RunContext,
        RunId,
        RunResult,
        RunState,
        Trust,
    )
    from bastion.engine.recorder import create_run
    from bastion.engine.recovery import hold_run_lock, recover_interrupted_runs
    from bastion.engine.run_cancel import CancelOutcome, RunStopped, cancel_run
    from bastion.engine.run_findings import JudgedFinding, finding_order
    from bastion.engine.run_masking import RunMasking
    from bastion.engine.scheduler import Scheduler, SchedulerConfig
    from bastion.engine.services import (
        RunServices,
        celery_executor,
        local_services,
        make_sandbox,
    )

__all__ = [
    "BUILDER_ID",
    "PIPELINE_FILES",
    "ApprovalDecision",
    "ApprovalGate",
    "ApprovalRequest",
    "AssessedFinding",
    "CancelOutcome",
    "Event",
    "FindingCounts",
    "GateCpuHistory",
    "GateDecision",
    "GateEvaluator",
    "GateOutcome",
    "GateSpec",
    "GateVerdict",
    "GitState",
    "ImagePush",
    "JobChanged",
    "JobOutput",
    "JobState",
    "JudgedFinding",
    "LocalRunOptions",
    "Notice",
    "Observer",
    "PathScan",
    "PolicyGateEvaluator",
    "PreparedRun",
    "PushResult",
    "RunContext",
    "RunFinished",
    "RunId",
    "RunMasking",
    "RunPrepared",
    "RunResult",
    "RunServices",
    "RunStarted",
    "RunState",
    "RunStopped",
    "Scheduler",
    "SchedulerConfig",
    "StepChanged",
    "TokenSource",
    "Trust",
    "cancel_run",
    "celery_executor",
    "check_gate_job_options",
    "create_run",
    "default_gates",
    "finding_order",
    "gate_evaluator_at",
    "get_findings",
    "get_run",
    "hold_run_lock",
    "issue_id_tokens",
    "list_runs",
    "local_services",
    "make_sandbox",
    "prepare_run",
    "push_image",
    "read_file_at_commit",
    "read_log",
    "record_actions",
    "recover_interrupted_runs",
    "run_local",
    "scan_path",
    "user_actor",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bastion.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"bastion.engine.{module}"), name)
    globals()[name] = value
    return value
