"""Deploys of verified artifacts: the local target behind HAProxy, rollouts, drift.

Example::

    from bastion.deploy import EnvironmentConfig, LocalDeployer, Strategy

    config = EnvironmentConfig.load(home, "staging")   # builder, repository, port, ...
    deployer = LocalDeployer(home, config, store, TrustedKeys(home).entries(), sink, "alice")
    result = deployer.deploy(digest, Strategy.CANARY, steps=(10, 50, 100))
    if not result.ok:                                  # rolled back, deploy.rolled_back audited
        print(result.reason)

Security model. You can rely on: nothing is started or switched unless ``bastion verify``
passes for the exact digest under the environment's builder, repository and ref (refused
with the reason code, audited); the process runs a copy re-hashed to that digest; every
decision (verified, each step, completed, rolled back, drift) is in the audit log before
the deploy call returns. You must not assume: that the local service is sandboxed (it runs
as Bastion's user), or that drift is noticed between two checks.
"""

from __future__ import annotations

from bastion.deploy.admission import admit
from bastion.deploy.checks import StepResult, check_step, probe
from bastion.deploy.drift import DriftReport, check_drift, watch_drift
from bastion.deploy.haproxy import HAProxy, ServerCounters
from bastion.deploy.interface import (
    AuditSink,
    DeployError,
    DeployRefusedError,
    EnvironmentConfig,
    HAProxyError,
    Slot,
    Strategy,
    environment_dir,
)
from bastion.deploy.rollout import DEFAULT_STEPS, DeployResult, LocalDeployer, StepObserver
from bastion.deploy.state import EnvironmentState, SlotState, config_digest

__all__ = [
    "DEFAULT_STEPS",
    "AuditSink",
    "DeployError",
    "DeployRefusedError",
    "DeployResult",
    "DriftReport",
    "EnvironmentConfig",
    "EnvironmentState",
    "HAProxy",
    "HAProxyError",
    "LocalDeployer",
    "ServerCounters",
    "Slot",
    "SlotState",
    "StepObserver",
    "StepResult",
    "Strategy",
    "admit",
    "check_drift",
    "check_step",
    "config_digest",
    "environment_dir",
    "probe",
    "watch_drift",
]
