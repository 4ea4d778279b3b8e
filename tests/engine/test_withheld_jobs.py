"""Untrusted runs still run every gate (issue 14 review): the jobs that asked for secrets
or an identity token are refused one by one, before the vault or the issuer is asked, and
the run goes on without them; a trusted run's out-of-scope secret still stops the run."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from bastion.audit import AuditEvent
from bastion.engine.events import Event, JobChanged
from bastion.engine.job_resources import JobResources, prepare_job_resources
from bastion.engine.model import JobState, RunId, RunState
from bastion.engine.scheduler import Scheduler, SchedulerConfig
from bastion.errors import VaultError
from bastion.pipeline import parse_pipeline, plan_pipeline
from bastion.trust import RunContext, Trust
from bastion.vault import IdentityIssuer, Scope, Vault, open_default_vault
from tests.engine.test_scheduler import BlockingGates, FakeExecutor, _spec

VALUE = "sk_live_4Wq9zXr2Lp7Tn3Vb"  # generated for the test, never a real credential
PIPELINE = """\
jobs:
  sast: {uses: bastion/sast}
  secrets: {uses: bastion/secrets}
  build: {steps: [{run: make}]}
  publish:
    needs: [build]
    secrets: [TOKEN]
    steps: [{run: ./publish}]
  announce: {needs: [publish], steps: [{run: ./announce}]}
  sign:
    id-token: {audience: sts.example.com}
    steps: [{run: ./sign}]
"""
WITHHELD = "untrusted run: secrets withheld"


def _context(trust: Trust) -> RunContext:
    return RunContext("acme/api", "c" * 40, "refs/pull/7/head", "pull_request", trust)


def _vault(home: Path) -> Vault:
    vault = open_default_vault(home, os.environ)
    vault.set("TOKEN", VALUE, Scope.build(branches=["main"], trust=["trusted"]))
    return vault


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BASTION_VAULT_KEK", base64.b64encode(os.urandom(32)).decode())
    return tmp_path / "home"


def _prepare(
    tmp_path: Path, trust: Trust, open_vault: Callable[[], Vault], audited: list[AuditEvent]
) -> JobResources:
    loaded = parse_pipeline(PIPELINE, source="pipeline.yml")
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return prepare_job_resources(
        plan=plan_pipeline(loaded.pipeline, source=loaded.source),
        context=_context(trust),
        run_id=7,
        pipeline_source=loaded.source,
        home=tmp_path / "home",
        scratch=scratch,
        log_dir=tmp_path / "logs",
        record=audited.extend,
        locate=loaded.locate,
        open_vault=open_vault,
        identity=IdentityIssuer("https://ci.example"),
    )


def test_an_untrusted_run_refuses_each_asking_job_and_releases_nothing(
    tmp_path: Path, home: Path
) -> None:
    opened: list[Vault] = []

    def open_vault() -> Vault:
        opened.append(_vault(home))
        return opened[-1]

    audited: list[AuditEvent] = []
    resources = _prepare(tmp_path, Trust.UNTRUSTED, open_vault, audited)
    assert sorted(resources.withheld) == ["publish", "sign"]
    assert resources.withheld["publish"].startswith(f"{WITHHELD} (TOKEN)")
    assert resources.withheld["sign"].startswith(f"{WITHHELD} (id-token)")
    assert opened == []  # the vault was never asked
    assert audited == []  # no secret.released, no identity.issued
    assert (resources.env_for, resources.files_for, resources.held_for) == ({}, {}, {})
    assert VALUE not in repr(resources)
    resources.close()


def test_a_trusted_run_out_of_the_secrets_scope_still_stops_before_any_job(
    tmp_path: Path, home: Path
) -> None:
    # The choice kept: a trusted run's pipeline is the protected branch's, so a vault refusal
    # there is a set-up mistake to fix before anything runs, not an attacker skipping gates.
    with pytest.raises(VaultError, match="secret TOKEN is not released to job publish"):
        _prepare(tmp_path, Trust.TRUSTED, lambda: _vault(home), [])


def _schedule(refused: Mapping[str, str]) -> tuple[Scheduler, list[Event], BlockingGates]:
    pipeline = parse_pipeline(PIPELINE, source="p.yml").pipeline
    events: list[Event] = []
    gates = BlockingGates(set())
    scheduler = Scheduler(
        run_id=RunId(1),
        plan=plan_pipeline(pipeline),
        context=_context(Trust.UNTRUSTED),
        executor=FakeExecutor({}, {"sast": 0.2, "secrets": 0.2}),
        build_spec=_spec,
        gate_evaluator=gates,
        observers=[events.append],
        config=SchedulerConfig(
            fail_fast=True,  # the default: a refusal must not cancel the gates even so
            gates={n: j.gate for n, j in pipeline.jobs.items() if j.gate},
            refused=refused,
        ),
    )
    return scheduler, events, gates


def test_refused_jobs_are_blocked_alone_and_every_gate_still_runs(tmp_path: Path) -> None:
    refused = {"publish": f"{WITHHELD} (TOKEN)", "sign": f"{WITHHELD} (id-token)"}
    scheduler, events, gates = _schedule(refused)
    result = scheduler.execute()

    assert result.state is RunState.BLOCKED  # fails the run: it cannot merge
    assert result.jobs == {
        "sast": JobState.PASSED,
        "secrets": JobState.PASSED,
        "build": JobState.PASSED,
        "publish": JobState.BLOCKED,
        "announce": JobState.SKIPPED,
        "sign": JobState.BLOCKED,
    }
    assert sorted(result.verdicts) == ["sast", "secrets"]  # the gates' results are recorded
    assert sorted(gate for gate, _ in gates.seen) == ["sast", "secrets"]
    assert result.reasons["publish"] == refused["publish"]
    assert result.reasons["announce"] == "needs 'publish', which was refused"
    started = {e.job for e in events if isinstance(e, JobChanged) and e.state is JobState.RUNNING}
    assert started == {"sast", "secrets", "build"}  # a refused job never reaches the executor
