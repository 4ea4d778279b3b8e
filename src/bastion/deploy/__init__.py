"""Deploys of verified artifacts: the local target behind HAProxy, rollouts, drift, GitOps.

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
from bastion.deploy.drift_watch import DRIFT_ACTOR, DriftWatch
from bastion.deploy.gitops import (
    GitOpsTarget,
    PublishResult,
    PushObserver,
    SyncResult,
    checked_path,
    deploy_gitops,
    publish,
    sync,
)
from bastion.deploy.gitops_git import GitOpsKey
from bastion.deploy.gitops_manifest import Manifest, default_manifest_path
from bastion.deploy.haproxy import HAProxy, ServerCounters
from bastion.deploy.interface import (
    AuditSink,
    DeployError,
    DeployRefusedError,
    EnvironmentConfig,
    GitOpsError,
    GitOpsRefusedError,
    HAProxyError,
    Slot,
    Strategy,
    environment_dir,
)
from bastion.deploy.rollout import DEFAULT_STEPS, DeployResult, LocalDeployer, StepObserver
from bastion.deploy.state import EnvironmentState, SlotState, config_digest

__all__ = [
    "DEFAULT_STEPS",
    "DRIFT_ACTOR",
    "AuditSink",
    "DeployError",
    "DeployRefusedError",
    "DeployResult",
    "DriftReport",
    "DriftWatch",
    "EnvironmentConfig",
    "EnvironmentState",
    "GitOpsError",
    "GitOpsKey",
    "GitOpsRefusedError",
    "GitOpsTarget",
    "HAProxy",
    "HAProxyError",
    "LocalDeployer",
    "Manifest",
    "PublishResult",
    "PushObserver",
    "ServerCounters",
    "Slot",
    "SlotState",
    "StepObserver",
    "StepResult",
    "Strategy",
    "SyncResult",
    "admit",
    "check_drift",
    "check_step",
    "checked_path",
    "config_digest",
    "default_manifest_path",
    "deploy_gitops",
    "environment_dir",
    "probe",
    "publish",
    "sync",
    "watch_drift",
]
