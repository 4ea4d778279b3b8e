"""Jobs refused alone because the run's trust gets no secrets and no identity token.

An untrusted run (a fork pull request, a pipeline file that differs from the protected
branch's) receives no secret and no token, whatever the pipeline asks. Stopping the whole
run at the first such request would let any pull request skip every security gate by
adding ``secrets:`` to one job, and would hide the gates' results from its reviewers. So
the vault is never asked, no issuer is called, and each job that asked is refused on its
own (the scheduler blocks it before anything starts, :class:`SchedulerConfig.refused`);
the jobs needing it are skipped, every other job, every gate among them, runs and reports.

The reason names what the job asked for (secret names, ``id-token``), never a value.

>>> from bastion.pipeline import parse_pipeline, plan_pipeline
>>> loaded = parse_pipeline(b"jobs: {a: {secrets: [K], steps: [{run: x}]}}", source="p")
>>> plan = plan_pipeline(loaded.pipeline)
>>> withheld_jobs(plan, Trust.UNTRUSTED)["a"].startswith("untrusted run: secrets withheld")
True
"""

from __future__ import annotations

from bastion.pipeline import Plan
from bastion.trust import Trust

__all__ = ["withheld_jobs"]


def withheld_jobs(plan: Plan, trust: Trust) -> dict[str, str]:
    """Job name to refusal reason, for each job asking for a secret or an identity token
    in a run of ``trust`` that may receive none (empty for every other trust)."""
    if trust.receives_secrets:
        return {}
    refused: dict[str, str] = {}
    for name, job in plan.jobs.items():
        asked = [*job.secrets, *(["id-token"] if job.id_token else [])]
        if asked:
            refused[name] = (
                f"{trust.value} run: secrets withheld ({', '.join(asked)}); a fork pull "
                "request or a changed pipeline file gets no secret and no identity token, "
                "so this job is refused and every other job still runs"
            )
    return refused
