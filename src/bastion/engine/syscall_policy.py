"""Which runs may give a job system calls back from the sandbox's seccomp filter.

A job asks with ``limits: {syscalls: [ptrace]}``. Only runs whose pipeline file is committed
code Bastion already trusts enough to sign may have it: ``local`` (a clean commit on the
developer's own machine), ``trusted`` and ``release``. Never ``untrusted`` (a fork's pull
request or a changed pipeline file: exactly the code the filter is for), ``internal`` (an
unprotected branch anyone with push access can fill) or ``dirty`` (uncommitted changes, which
may include the pipeline file itself; commit them to relax). The whole plan is checked
before the first job starts, so a refused run runs nothing.
"""

from __future__ import annotations

from typing import assert_never

from bastion.engine.model import Trust
from bastion.errors import PipelineError
from bastion.pipeline import Plan, SyscallRelaxation
from bastion.sandbox import SyscallGroup

__all__ = ["RELAXING_TRUST", "check_relaxations", "sandbox_group", "sandbox_groups"]

RELAXING_TRUST = frozenset({Trust.LOCAL, Trust.TRUSTED, Trust.RELEASE})


def sandbox_group(relaxation: SyscallRelaxation) -> SyscallGroup:
    """The sandbox's group for a pipeline file's name of it."""
    match relaxation:
        case SyscallRelaxation.PTRACE:
            return SyscallGroup.PTRACE
        case SyscallRelaxation.PERF:
            return SyscallGroup.PERF
        case _:
            assert_never(relaxation)


def sandbox_groups(
    job: str, relaxations: list[SyscallRelaxation], trust: Trust
) -> tuple[SyscallGroup, ...]:
    """The groups job ``job`` gets back; raises PipelineError where ``trust`` forbids it."""
    if relaxations and trust not in RELAXING_TRUST:
        names = ", ".join(sorted(relaxations))
        raise PipelineError(
            f"job {job!r} asks for system calls ({names}) that a {trust} run may not have: "
            "only local, trusted and release runs may relax the seccomp filter",
            hint="remove limits.syscalls, or run from a clean commit or a protected branch",
        )
    return tuple(sorted({sandbox_group(relaxation) for relaxation in relaxations}))


def check_relaxations(plan: Plan, trust: Trust) -> None:
    """Refuse the run (PipelineError, exit 2) if any job relaxes what ``trust`` forbids."""
    for name, job in plan.jobs.items():
        sandbox_groups(name, job.limits.syscalls, trust)
