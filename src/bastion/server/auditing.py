"""Where the server's audit events go: an :class:`AuditSink`, the tamper-evident log by default.

Every state change and every refused request is one event: who (``actor``), from where
(``details.address``), what (``action``), on what (``subject``), and how it ended
(``outcome``). Events are appended when they happen, never batched to the end.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import Protocol

from bastion.audit import AuditEvent, AuditLog, Outcome

__all__ = ["ANONYMOUS", "AuditSink", "LogAuditSink", "ServerAction", "auth_event"]

ANONYMOUS = "anonymous"


class ServerAction(StrEnum):
    """The actions the server records."""

    LOGIN = "auth.login"
    LOGOUT = "auth.logout"
    MFA_VERIFIED = "auth.mfa"
    STEP_UP = "auth.step_up"
    SETUP_COMPLETED = "auth.setup"
    MFA_ENROLLED = "mfa.enrolled"
    MFA_RESET = "mfa.reset"
    RECOVERY_CODE_USED = "mfa.recovery_code_used"
    TOKEN_CREATED = "token.created"  # noqa: S105 - an action name, not a secret
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 - an action name, not a secret
    USER_CREATED = "user.created"
    USER_DISABLED = "user.disabled"
    ROLE_GRANTED = "role.granted"
    REQUEST_DENIED = "request.denied"
    FINDING_SUPPRESSED = "finding.suppressed"
    SUPPRESSION_REVOKED = "finding.suppression_revoked"
    SECRET_SET = "secret.set"  # noqa: S105 - an action name, not a secret
    SECRET_REMOVED = "secret.removed"  # noqa: S105 - an action name, not a secret
    AUDIT_EXPORTED = "audit.exported"
    RUN_TRIGGERED = "run.triggered"
    RUN_CANCELLED = "run.cancel_requested"
    REPOSITORY_REGISTERED = "repository.registered"
    # A delivery whose signature does not verify: monitoring rules alert on this action.
    WEBHOOK_FORGED = "webhook.forged"
    WEBHOOK_REPLAYED = "webhook.replayed"
    WEBHOOK_FAILED = "webhook.failed"
    # A repository's webhook set or replaced / removed through the API (never the secret).
    WEBHOOK_CONFIGURED = "webhook.configured"
    WEBHOOK_REMOVED = "webhook.removed"
    # CI files a delivery's commit changes (the monitor's pipeline-changed rule alerts).
    SOURCE_CHANGED = "source.changed"
    # Packages a delivery's commit adds to its lock files (the new-dependency rule alerts).
    DEPENDENCIES_CHANGED = "dependencies.changed"
    ALERT_ACKNOWLEDGED = "alert.acknowledged"
    ALERT_RESOLVED = "alert.resolved"
    ENVIRONMENT_CHANGED = "environment.changed"


class AuditSink(Protocol):
    """Appends one event durably before returning (StoreError if it cannot)."""

    def record(self, event: AuditEvent) -> None:
        """Append ``event``."""
        ...

    def close(self) -> None:
        """Seal what is buffered; called once when the server shuts down."""
        ...


class LogAuditSink:
    """Appends to an :class:`~bastion.audit.AuditLog`, signing a checkpoint every N events."""

    def __init__(self, log: AuditLog, *, checkpoint_every: int = 50) -> None:
        self.log = log
        self._every = checkpoint_every
        self._unsealed = 0
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
        self.log.append(event)
        with self._lock:
            self._unsealed += 1
            due = self._unsealed >= self._every
            if due:
                self._unsealed = 0
        if due:
            self.log.checkpoint()

    def close(self) -> None:
        """Checkpoint what is unsealed (at shutdown)."""
        if self.log.signer is not None and self._unsealed:
            self.log.checkpoint()


def auth_event(
    actor: str,
    action: ServerAction,
    subject: str,
    outcome: Outcome,
    address: str,
    **details: str | int | bool | None,
) -> AuditEvent:
    """An event with the caller's address in its details."""
    return AuditEvent(actor, action.value, subject, outcome, {"address": address, **details})
