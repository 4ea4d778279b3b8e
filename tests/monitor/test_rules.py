"""Each built-in rule fed an event sequence raises exactly the expected alert."""

from __future__ import annotations

from datetime import time

import pytest

from bastion.monitor import BUILTIN_RULES, RuleSettings, Severity, builtin_rules
from bastion.monitor.rules import BuiltinRule
from bastion.monitor.rules.access import FailedLoginBurst, SecretFirstUse
from bastion.monitor.rules.deploy import (
    ApprovalByNewApprover,
    ApprovalOutsideWindow,
    DeployFromLowTrust,
    DeployFromUnprotectedRef,
)
from bastion.monitor.rules.egress import EgressDenied, NewEgressHost
from bastion.monitor.rules.integrity import AuditVerifyFailed
from bastion.monitor.rules.pipeline import NewPipelineFile, PipelineChanged
from bastion.monitor.rules.supply import NewDependency, UntrustedSignature, VerifyFailed
from bastion.monitor.settings import DeployWindow
from tests.monitor.support import ev, feed


def _run(repo: str, digest: str, run: int = 1) -> object:
    return ev("run.started", f"run/{run}", repo=repo, pipeline=".bastion.yml",
              pipeline_digest=digest, ref="refs/heads/main", trust="trusted")  # fmt: skip


def test_pipeline_changed_on_a_new_digest_only() -> None:
    signals = feed(
        [PipelineChanged()],
        [_run("acme", "sha256:a"), _run("acme", "sha256:a", 2), _run("acme", "sha256:b", 3)],  # type: ignore[list-item]
    )
    assert [(s.rule, s.title, s.seq) for s in signals] == [
        ("pipeline-changed", "pipeline .bastion.yml of acme changed", 2)
    ]
    assert signals[0].severity is Severity.HIGH


def test_pipeline_changed_by_a_modified_workflow() -> None:
    files = [{"path": "src/a.py", "change": "modified"},
             {"path": ".github/workflows/ci.yml", "change": "modified"}]  # fmt: skip
    signals = feed([PipelineChanged()], [ev("source.changed", repo="acme", files=files)])
    assert [s.title for s in signals] == ["CI file .github/workflows/ci.yml modified in acme"]


def test_new_pipeline_file() -> None:
    files = [{"path": ".github/workflows/new.yml", "change": "added"},
             {"path": "README.md", "change": "added"}]  # fmt: skip
    signals = feed(
        [NewPipelineFile(), PipelineChanged()], [ev("source.changed", repo="acme", files=files)]
    )
    assert [(s.rule, s.title) for s in signals] == [
        ("new-pipeline-file", "new CI file .github/workflows/new.yml in acme")
    ]


def test_deploy_from_unprotected_ref() -> None:
    events = [
        ev("deploy.started", repo="acme", environment="prod", ref="refs/heads/main",
           protected=True, trust="release"),
        ev("deploy.started", repo="acme", environment="prod", ref="refs/heads/wip",
           protected=False, trust="release"),
    ]  # fmt: skip
    signals = feed([DeployFromUnprotectedRef(), DeployFromLowTrust()], events)
    assert [(s.rule, s.title) for s in signals] == [
        ("deploy-unprotected-ref", "deploy to prod from unprotected ref refs/heads/wip")
    ]


def test_deploy_from_low_trust_but_not_from_trusted_or_release() -> None:
    events = [
        ev("deploy.started", repo="acme", environment="prod", protected=True, trust=trust)
        for trust in ("trusted", "release", "local", "internal", "untrusted", "dirty", "root")
    ]
    signals = feed([DeployFromLowTrust()], events)
    assert [s.title for s in signals] == [
        f"deploy to prod from a run of trust {trust}"
        for trust in ("local", "internal", "untrusted", "dirty", "root")
    ]


def test_an_old_deploy_event_without_source_fields_still_alerts() -> None:
    """Events recorded before deploys carried ref, protection and trust fail closed."""
    events = [ev("deploy.started", "deploy/prod", environment="prod", digest="sha256:aa"),
              ev("deploy.started", environment="prod", protected="true", trust=None)]  # fmt: skip
    signals = feed([DeployFromUnprotectedRef(), DeployFromLowTrust()], events)
    assert [(s.rule, s.seq, s.title) for s in signals] == [
        ("deploy-unprotected-ref", 0, "deploy to prod from unprotected ref unknown"),
        ("deploy-low-trust", 0, "deploy to prod from a run of trust unknown"),
        ("deploy-unprotected-ref", 1, "deploy to prod from unprotected ref unknown"),
        ("deploy-low-trust", 1, "deploy to prod from a run of trust unknown"),
    ]


def test_new_dependency_but_not_a_version_bump() -> None:
    first = [{"ecosystem": "PyPI", "name": "requests", "version": "2.31.0"}]
    again = [{"ecosystem": "PyPI", "name": "requests", "version": "2.32.0"},
             {"ecosystem": "PyPI", "name": "reqeusts", "version": "1.0"}]  # fmt: skip
    events = [ev("dependencies.changed", repo="acme", lockfile="uv.lock", added=first),
              ev("dependencies.changed", repo="acme", lockfile="uv.lock", added=again)]  # fmt: skip
    signals = feed([NewDependency()], events)
    assert [s.title for s in signals] == [
        "new dependency PyPI:requests@2.31.0",
        "new dependency PyPI:reqeusts@1.0",
    ]


def test_new_dependency_learns_an_initial_inventory_and_alerts_on_an_unreadable_lock() -> None:
    pinned = [{"ecosystem": "npm", "name": "left-pad", "version": "1.3.0"}]
    events = [
        ev("dependencies.changed", repo="acme", lockfile="package-lock.json", added=pinned,
           initial=True),
        ev("dependencies.changed", repo="acme", lockfile="package-lock.json", added=pinned),
        ev("dependencies.changed", repo="acme", lockfile="package-lock.json", added=[],
           unreadable="package-lock.json: not JSON"),
    ]  # fmt: skip
    signals = feed([NewDependency()], events)
    assert [(s.seq, s.title) for s in signals] == [
        (2, "dependencies of package-lock.json in acme unknown")
    ]


def test_new_egress_host_against_the_learned_baseline() -> None:
    def req(host: str, repo: str = "acme") -> object:
        return ev("egress.request", "run/1/job/build", repo=repo, job="build", host=host, port=443)

    events = [req("pypi.org"), req("pypi.org"), req("evil.example"), req("evil.example", "other")]
    signals = feed([NewEgressHost()], events)  # type: ignore[arg-type]
    assert [s.title for s in signals] == ["job build of acme reached new host evil.example"]


def test_denied_egress() -> None:
    events = [
        ev("egress.request", "run/1/job/build", outcome="denied", repo="acme", job="build",
           host="evil.example", reason="not in the allow-list"),
        ev("egress.request", "run/1/job/build", repo="acme", job="build", host="pypi.org"),
    ]  # fmt: skip
    signals = feed([EgressDenied()], events)
    assert [(s.title, s.detail) for s in signals] == [
        ("egress to evil.example denied for job build of acme", "run/1: not in the allow-list")
    ]


def test_secret_used_by_a_job_for_the_first_time() -> None:
    events = [
        ev("run.started", "run/7", repo="acme"),
        ev("secret.released", "secret/NPM_TOKEN", job="publish", run="7"),
        ev("secret.released", "secret/NPM_TOKEN", job="publish", run="7"),
        ev("secret.released", "secret/AWS_KEY", job="publish", run="7"),
    ]
    signals = feed([SecretFirstUse()], events)
    assert [(s.title, s.repo) for s in signals] == [
        ("job publish used secret AWS_KEY for the first time", "acme")
    ]


def test_approval_outside_the_deploy_window() -> None:
    window = DeployWindow(frozenset({0, 1, 2, 3, 4}), time(9), time(17))
    rule = ApprovalOutsideWindow(RuleSettings(deploy_windows={"prod": window}))
    events = [
        ev("approval.granted", "deploy/prod", actor="user:bob", environment="prod"),
        ev("approval.granted", "deploy/prod", actor="user:bob", environment="prod", at=8 * 3600),
        ev("approval.granted", "deploy/dev", actor="user:bob", environment="dev", at=8 * 3600),
    ]
    assert [s.title for s in feed([rule], events)] == [
        "approval for prod outside its deploy window"
    ]


def test_approval_by_an_approver_new_to_the_environment() -> None:
    events = [
        ev("approval.granted", actor="user:alice", environment="prod"),
        ev("approval.granted", actor="user:alice", environment="prod"),
        ev("approval.granted", actor="user:mallory", environment="prod"),
        ev("approval.granted", actor="user:mallory", environment="staging"),
    ]
    signals = feed([ApprovalByNewApprover()], events)
    assert [s.title for s in signals] == ["user:mallory approved prod for the first time"]


def test_verify_failure() -> None:
    failed = [{"check": "provenance", "reason": "builder-mismatch"}]
    events = [ev("verify.performed", "sha256:aa"),
              ev("verify.performed", "sha256:bb", outcome="denied", failed=failed)]  # fmt: skip
    signals = feed([VerifyFailed()], events)
    assert [(s.title, s.detail) for s in signals] == [
        ("verify refused sha256:bb", "by bastion; failed checks: provenance: builder-mismatch")
    ]


def test_signature_by_an_unknown_or_revoked_key() -> None:
    events = [
        ev("verify.performed", "sha256:aa", outcome="denied",
           failed=[{"check": "signature", "reason": "signature-untrusted"}]),
        ev("key.revoked", "key/x", keyid="k1"),
        ev("signature.created", "sha256:bb", keyid="k2"),
        ev("signature.created", "sha256:cc", keyid="k1"),
    ]  # fmt: skip
    signals = feed([UntrustedSignature()], events)
    assert [s.title for s in signals] == [
        "sha256:aa signed by an untrusted key",
        "sha256:cc signed by revoked key k1",
    ]


def test_burst_of_failed_logins() -> None:
    rule = FailedLoginBurst(RuleSettings(login_failures=3, login_window_seconds=60))

    def login(at: float, outcome: str = "failure", who: str = "user:root") -> object:
        return ev("auth.login", who, actor=who, outcome=outcome, at=at, address=f"10.0.0.{int(at)}")

    events = [login(0), login(100), login(110), login(115, "success"), login(120)]
    signals = feed([rule], events)  # type: ignore[arg-type]
    assert [(s.title, s.seq) for s in signals] == [("3 failed sign-ins for account user:root", 4)]


def test_audit_log_verification_failure() -> None:
    problems = ["seq 4: leaf hash"]
    events = [
        ev("audit.verified", "audit/log"),
        ev("audit.verified", "audit/log", outcome="failure", problems=problems),
    ]
    signals = feed([AuditVerifyFailed()], events)
    assert [(s.title, s.severity) for s in signals] == [
        ("the audit log does not verify", Severity.CRITICAL)
    ]


@pytest.mark.parametrize("rule", BUILTIN_RULES, ids=lambda r: r.name)
def test_every_rule_is_built_and_can_be_disabled(rule: type[BuiltinRule]) -> None:
    names = {r.name for r in builtin_rules(RuleSettings(disabled=frozenset({rule.name})))}
    assert rule.name not in names
    assert len(names) == len(BUILTIN_RULES) - 1


def test_severity_override() -> None:
    rule = VerifyFailed(RuleSettings(severities={"verify-failed": Severity.LOW}))
    assert rule.severity is Severity.LOW
