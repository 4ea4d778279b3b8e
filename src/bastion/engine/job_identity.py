"""Job identity tokens: what a job that declares ``id-token: {audience: …}`` is handed.

When a run is prepared, each such job gets a signed token (OIDC JWT) from the run's
:class:`TokenSource` (the server's issuer) in ``/run/bastion/id-token``, the tmpfs its
secrets use; the token's value (and its signature alone) joins the run's masking patterns,
and its issuance is audited (``identity.issued`` with jti, aud and sub, never the token)
before the token is handed on. A job held for an environment's approval gets its token
only when it is handed over (:class:`JobTokenMinter`, called by
:meth:`~bastion.engine.job_resources.JobResources.hand_over`): a token lives at most ten
minutes, and an approval often takes longer, so one minted at run start would reach the
deploy job already expired.

Fails closed, before any job starts:

- no token source (``bastion run`` on a workstation: nobody a cloud trusts can sign for
  it) stops the run, naming the job and why;
- a run whose trust the issuer gives no token (internal unless the server's setting
  allows it, local, dirty) or that has no commit stops it too.

An untrusted run never gets here: its ``id-token:`` jobs are refused one by one and the
rest of the run goes on (:mod:`~bastion.engine.withheld_jobs`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, Protocol

from bastion.audit import Action, AuditEvent
from bastion.errors import PipelineError
from bastion.pipeline import IdToken, Plan
from bastion.trust import RunContext, Trust
from bastion.vault import JobIdentity

__all__ = [
    "ID_TOKEN_FILE",
    "JobTokenMinter",
    "TokenSource",
    "id_token_minter",
    "issue_id_tokens",
    "token_masking_values",
]

ID_TOKEN_FILE = "id-token"  # noqa: S105 - a file name, not a secret
"""The token's file name under ``/run/bastion``."""

Locator = Callable[[tuple[str | int, ...]], tuple[int, int] | None]
AuditRecord = Callable[[Sequence[AuditEvent]], None]
_Where = tuple[Plan, str, Locator | None]


class TokenSource(Protocol):
    """Signs job identity tokens (:class:`~bastion.vault.IdentityIssuer` is one)."""

    def issues_for(self, trust: Trust) -> bool:
        """Whether a run of ``trust`` may get a token."""
        ...

    def mint(self, identity: JobIdentity, *, audience: str | Sequence[str]) -> str:
        """A signed token; IdentityRefusedError if it may not have one."""
        ...


def _refuse(name: str, where: _Where, message: str, hint: str) -> NoReturn:
    plan, source, locate = where
    found = locate(("jobs", plan.origin(name), "id-token")) if locate else None
    line, column = found or (None, None)
    raise PipelineError(
        f"jobs.{name}.id-token: {message}", path=source, line=line, column=column, hint=hint
    )


def _claims(token: str) -> dict[str, Any]:
    """The payload of a token this run was just handed (read for the audit event only)."""
    try:
        payload = token.split(".")[1]
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    except (IndexError, ValueError, binascii.Error) as exc:
        raise PipelineError("the identity issuer returned a malformed token") from exc
    return claims


def _check(
    wanted: Mapping[str, IdToken],
    where: _Where,
    context: RunContext,
    source: TokenSource | None,
) -> TokenSource:
    """The source, once every job may have a token; PipelineError naming why not."""
    name = next(iter(wanted))
    if source is None:
        _refuse(
            name,
            where,
            "this run has no identity issuer: only a Bastion server signs job identity "
            "tokens, and a local run gets none",
            "run this pipeline on the server, or leave out `id-token:` to run it here",
        )
    if not source.issues_for(context.trust) or not context.commit:
        _refuse(
            name,
            where,
            f"a {context.trust.value} run gets no identity token (trusted and release "
            "runs only, unless the server's setting adds internal)",
            "run it from a protected branch or a release tag",
        )
    return source


class JobTokenMinter:
    """Mints, audits and returns one run's identity tokens, job by job, when asked: at run
    start for most jobs, at hand-over for a job held for approval (its clock starts then)."""

    def __init__(
        self, plan: Plan, context: RunContext, run_id: int, source: TokenSource, record: AuditRecord
    ) -> None:
        self._plan, self._context, self._run_id = plan, context, run_id
        self._source, self._record = source, record
        self.jobs = tuple(name for name, job in plan.jobs.items() if job.id_token)

    def mint(self, name: str) -> str:
        """``name``'s token, its issuance audited first; the issuer's error if it gives none."""
        request = self._plan.jobs[name].id_token
        if request is None:
            raise PipelineError(f"jobs.{name} asked for no identity token")
        context, audience = self._context, request.audience
        identity = JobIdentity(
            repo=context.repo,
            ref=context.ref or "",
            sha=context.commit or "",
            trust=context.trust,
            environment=self._plan.jobs[name].environment or "",
            run_id=self._run_id,
            job=name,
        )
        token = self._source.mint(
            identity, audience=audience[0] if len(audience) == 1 else audience
        )
        claims = _claims(token)
        details = {k: claims[k] for k in ("jti", "aud", "sub", "exp")} | {"run": str(self._run_id)}
        # Recorded before the token is handed on: a token nobody audited never reaches a job.
        self._record(
            [AuditEvent("bastion", Action.IDENTITY_ISSUED.value, f"job/{name}", details=details)]
        )
        return token


def id_token_minter(
    *,
    plan: Plan,
    context: RunContext,
    run_id: int,
    source: TokenSource | None,
    record: AuditRecord,
    pipeline_source: str,
    locate: Locator | None = None,
) -> JobTokenMinter | None:
    """The run's minter once every ``id-token:`` job may have a token (PipelineError naming
    why not, before any job starts); None when no job asks for one."""
    wanted = {name: job.id_token for name, job in plan.jobs.items() if job.id_token}
    if not wanted:
        return None
    issuer = _check(wanted, (plan, pipeline_source, locate), context, source)
    return JobTokenMinter(plan, context, run_id, issuer, record)


def token_masking_values(job: str, token: str) -> dict[str, str]:
    """What the run masks for ``job``'s token: the whole token, and its signature alone (the
    part that makes it a bearer credential)."""
    return {f"id-token of {job}": token, f"id-token signature of {job}": token.rsplit(".", 1)[1]}


def issue_id_tokens(
    *,
    plan: Plan,
    context: RunContext,
    run_id: int,
    source: TokenSource | None,
    record: AuditRecord,
    pipeline_source: str,
    locate: Locator | None = None,
) -> dict[str, str]:
    """Mint, audit and return each ``id-token:`` job's token (job name to token) now."""
    minter = id_token_minter(
        plan=plan,
        context=context,
        run_id=run_id,
        source=source,
        record=record,
        pipeline_source=pipeline_source,
        locate=locate,
    )
    return {} if minter is None else {name: minter.mint(name) for name in minter.jobs}
