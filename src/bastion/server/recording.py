"""One call to put a state change in the audit log: actor, address, action, object, outcome."""

from __future__ import annotations

from starlette.requests import Request

from bastion.audit import Outcome
from bastion.server.auditing import ServerAction, auth_event
from bastion.server.auth import client_address
from bastion.server.context import context_of

__all__ = ["record"]


def record(
    request: Request,
    actor: str,
    action: ServerAction,
    subject: str,
    outcome: Outcome = Outcome.SUCCESS,
    **details: str | int | bool | None,
) -> None:
    """Append the event before the response is sent (StoreError if it cannot be)."""
    event = auth_event(actor, action, subject, outcome, client_address(request), **details)
    context_of(request).services.audit.record(event)
