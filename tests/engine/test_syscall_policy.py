"""Only local, trusted and release runs may relax the seccomp filter (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.engine.jobspecs import JobSpecFactory
from bastion.engine.model import RunContext, RunId, Trust
from bastion.engine.syscall_policy import (
    RELAXING_TRUST,
    check_relaxations,
    sandbox_group,
    sandbox_groups,
)
from bastion.errors import PipelineError
from bastion.pipeline import Plan, parse_pipeline, plan_pipeline
from bastion.pipeline.schema import SyscallRelaxation
from bastion.sandbox import SyscallGroup

PIPELINE = """
jobs:
  debug:
    steps: [{run: gdb -batch ./a.out}]
    limits: {syscalls: [ptrace, perf]}
  build:
    steps: [{run: make}]
"""


def _plan() -> Plan:
    loaded = parse_pipeline(PIPELINE, source="bastion.yml")
    return plan_pipeline(loaded.pipeline, source="bastion.yml")


def _factory(trust: Trust, tmp_path: Path) -> JobSpecFactory:
    plan = _plan()
    return JobSpecFactory(
        run_id=RunId(1),
        plan=plan,
        pipeline=parse_pipeline(PIPELINE, source="bastion.yml").pipeline,
        context=RunContext("repo", "abc", "refs/heads/main", "push", trust),
        source_path=tmp_path,
        source_commit=None,
        git_prefix="",
        artifact_root=tmp_path / "artifacts",
        gate_evaluator=None,
    )


def test_every_relaxation_maps_to_its_sandbox_group() -> None:
    assert {sandbox_group(r) for r in SyscallRelaxation} == set(SyscallGroup)
    assert [sandbox_group(r).value for r in SyscallRelaxation] == [
        r.value for r in SyscallRelaxation
    ]


@pytest.mark.parametrize("trust", sorted(RELAXING_TRUST))
def test_trusted_levels_get_the_groups_into_the_job_spec(trust: Trust, tmp_path: Path) -> None:
    factory = _factory(trust, tmp_path)
    assert factory.build("debug").syscalls == (SyscallGroup.PERF, SyscallGroup.PTRACE)
    assert factory.build("build").syscalls == ()


@pytest.mark.parametrize("trust", [Trust.UNTRUSTED, Trust.INTERNAL, Trust.DIRTY])
def test_other_levels_refuse_the_run_before_any_job(trust: Trust, tmp_path: Path) -> None:
    assert trust not in RELAXING_TRUST
    with pytest.raises(PipelineError, match=f"'debug' asks for system calls .* a {trust} run") as e:
        _factory(trust, tmp_path)
    assert e.value.exit_code == 2
    assert "limits.syscalls" in e.value.diagnostics()


def test_every_trust_level_is_decided() -> None:
    refused = {Trust.UNTRUSTED, Trust.INTERNAL, Trust.DIRTY}
    assert RELAXING_TRUST | refused == set(Trust)
    assert not RELAXING_TRUST & refused


def test_a_plan_without_relaxations_runs_at_any_trust() -> None:
    plain = parse_pipeline("jobs:\n  build:\n    steps: [{run: make}]\n", source="b.yml")
    for trust in Trust:
        check_relaxations(plan_pipeline(plain.pipeline, source="b.yml"), trust)
    assert sandbox_groups("build", [], Trust.UNTRUSTED) == ()


def test_an_unknown_group_is_a_pipeline_error() -> None:
    with pytest.raises(PipelineError, match="syscalls"):
        parse_pipeline(
            "jobs:\n  x:\n    steps: [{run: make}]\n    limits: {syscalls: [mount]}\n",
            source="b.yml",
        )
