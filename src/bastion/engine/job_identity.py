"""Job identity tokens: what a job that declares ``id-token: {audience: …}`` is handed.

When a run is prepared, each such job gets a signed token (OIDC JWT) from the run's
:class:`TokenSource` (the server's issuer) in ``/run/bastion/id-token``, the tmpfs its
secrets use; the token's value (and its signature alone) joins the run's masking patterns,
and its issuance is audited (``identity.issued`` with jti, aud and sub, never the token)
before the token is handed on.

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

__all__ = ["ID_TOKEN_FILE", "TokenSource", "issue_id_tokens"]

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
    """Mint, audit and return each ``id-token:`` job's token (job name to token)."""
    wanted = {name: job.id_token for name, job in plan.jobs.items() if job.id_token}
    if not wanted:
        return {}
    issuer = _check(wanted, (plan, pipeline_source, locate), context, source)
    tokens: dict[str, str] = {}
    for name, request in wanted.items():
        audience = request.audience
        identity = JobIdentity(
            repo=context.repo,
            ref=context.ref or "",
            sha=context.commit or "",
            trust=context.trust,
            environment=plan.jobs[name].environment or "",
            run_id=run_id,
            job=name,
        )
        token = issuer.mint(identity, audience=audience[0] if len(audience) == 1 else audience)
        claims = _claims(token)
        details = {k: claims[k] for k in ("jti", "aud", "sub", "exp")} | {"run": str(run_id)}
        # Recorded before the token is handed on: a token nobody audited never reaches a job.
        record(
            [AuditEvent("bastion", Action.IDENTITY_ISSUED.value, f"job/{name}", details=details)]
        )
        tokens[name] = token
    return tokens
