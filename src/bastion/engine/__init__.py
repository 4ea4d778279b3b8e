"""The engine: a run's state machine over a DAG of jobs, composed with sandbox, executor,
gates, policy, supply chain, vault and audit log.

    >>> from pathlib import Path
    >>> from bastion.engine import LocalRunOptions, run_local
    >>> options = LocalRunOptions(project=Path("examples/python-service"))
    >>> result = run_local(options)  # doctest: +SKIP
    >>> result.state.exit_code  # doctest: +SKIP
    0
"""

from bastion.engine.events import (
    Event,
    JobChanged,
    JobOutput,
    Observer,
    RunFinished,
    RunStarted,
    StepChanged,
)
from bastion.engine.local_run import LocalRunOptions, PreparedRun, prepare_run, run_local
from bastion.engine.model import (
    GateEvaluator,
    GateVerdict,
    JobState,
    RunContext,
    RunId,
    RunResult,
    RunState,
    Trust,
)
from bastion.engine.scheduler import Scheduler, SchedulerConfig

__all__ = [
    "Event",
    "GateEvaluator",
    "GateVerdict",
    "JobChanged",
    "JobOutput",
    "JobState",
    "LocalRunOptions",
    "Observer",
    "PreparedRun",
    "RunContext",
    "RunFinished",
    "RunId",
    "RunResult",
    "RunStarted",
    "RunState",
    "Scheduler",
    "SchedulerConfig",
    "StepChanged",
    "Trust",
    "prepare_run",
    "run_local",
]
