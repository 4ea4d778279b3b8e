"""One forge delivery from bytes to a queued run, or to a refusal that starts nothing.

The order is the security argument: the body's size (413, by the app's body limit), the
headers' form (400), the repository and its webhook (404), the signature over the exact
bytes (401, audited as ``webhook.forged``: monitoring rules raise an alert on it), the
delivery id against the replay cache (409, audited as ``webhook.replayed``), the payload
(400), the server's own fetch of the commit (a failure is recorded with its reason and
answered 502, so the forge shows it and its redelivery can succeed), and only then the run.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bastion.audit import AuditEvent, Outcome
from bastion.errors import BastionError
from bastion.server.accounts import Accounts
from bastion.server.auditing import AuditSink, ServerAction
from bastion.server.errors import NotFoundError, ServerError
from bastion.server.launcher import ForgeTrigger, Launcher, RunRequest
from bastion.server.permissions import Role, ScopeKind
from bastion.server.repositories import Repositories, Repository
from bastion.server.trust_policy import Trigger
from bastion.server.webhook_changes import ci_changes
from bastion.server.webhook_dependencies import ManifestChange, dependency_changes, protected_tip
from bastion.server.webhook_events import ForgeEvent, parse_event
from bastion.server.webhook_fetch import (
    NAMESPACE,
    FetchError,
    TriggerInputs,
    fetch_trigger,
)
from bastion.server.webhook_signatures import (
    Forge,
    ForgedWebhookError,
    read_headers,
    verify_signature,
)
from bastion.server.webhook_store import Deliveries, DeliveryStatus, Webhooks

__all__ = ["DeliveryFailedError", "IntakeResult", "WebhookIntake"]

_BUILDERS = frozenset({Role.DEVELOPER, Role.MAINTAINER, Role.ADMIN})


class DeliveryFailedError(ServerError):
    """A verified delivery whose commit the server could not fetch or run (recorded)."""

    status = 502
    kind = "webhook-delivery-failed"


@dataclass(frozen=True)
class IntakeResult:
    """How a delivery ended: ``queued`` (with its run) or ``ignored``."""

    delivery: str
    status: DeliveryStatus
    run_id: int | None = None


class WebhookIntake:
    """Verifies deliveries and queues their runs."""

    def __init__(
        self,
        repositories: Repositories,
        webhooks: Webhooks,
        deliveries: Deliveries,
        accounts: Accounts,
        audit: AuditSink,
        launcher: Callable[[], Launcher],
        *,
        allowed_signers: Path | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._repositories, self._webhooks, self._deliveries = repositories, webhooks, deliveries
        self._accounts, self._audit, self._launcher = accounts, audit, launcher
        self._signers, self._now = allowed_signers, now

    def _record(self, action: ServerAction, subject: str, outcome: Outcome, **d: str) -> None:
        self._audit.record(AuditEvent("webhook", action.value, subject, outcome, dict(d)))

    def receive(
        self, forge_name: str, repo: str, headers: Mapping[str, str], body: bytes, address: str
    ) -> IntakeResult:
        """Handle one delivery; a ServerError (400/401/404/409/502) starts no run."""
        try:
            forge = Forge(forge_name)
        except ValueError:
            raise NotFoundError(f"no forge {forge_name}") from None
        parsed = read_headers(forge, headers)
        config = self._webhooks.get(repo, forge)
        self._repositories.get(repo)  # 404 for a webhook left after its repository
        subject = f"repo/{repo}"
        try:
            verify_signature(forge, parsed, body, config.secret, now=self._now())
        except ForgedWebhookError:
            self._record(
                ServerAction.WEBHOOK_FORGED,
                subject,
                Outcome.DENIED,
                address=address,
                forge=forge.value,
                delivery=parsed.delivery,
            )
            raise
        try:
            self._deliveries.claim(forge, parsed.delivery, repo, parsed.event)
        except ServerError:
            self._record(
                ServerAction.WEBHOOK_REPLAYED,
                subject,
                Outcome.DENIED,
                address=address,
                delivery=parsed.delivery,
            )
            raise
        try:
            event = parse_event(forge, parsed.event, body)
        except ServerError as exc:
            self._fail(forge, parsed.delivery, subject, exc.message)
            raise
        if event is None:
            self._deliveries.finish(forge, parsed.delivery, DeliveryStatus.IGNORED)
            return IntakeResult(parsed.delivery, DeliveryStatus.IGNORED)
        run_id = self._start(forge, parsed.delivery, repo, config.clone_url, event)
        return IntakeResult(parsed.delivery, DeliveryStatus.QUEUED, run_id)

    def _start(
        self, forge: Forge, delivery: str, repo: str, clone_url: str, event: ForgeEvent
    ) -> int:
        repository = self._repositories.get(repo)
        inputs = TriggerInputs(self._is_developer(event.author, repo), self._signers)
        previous = self._default_tip_before(repository, event)
        try:
            trigger = fetch_trigger(repository, clone_url, event, inputs)
            request = RunRequest(
                repository,
                event=event.trigger.value,
                forge=trigger,
                actor=self._account_of(event.author),
            )
            run_id = int(self._launcher().submit(request))
        except (FetchError, ServerError) as exc:
            self._fail(forge, delivery, f"repo/{repo}", exc.message)
            raise DeliveryFailedError(exc.message) from exc
        except BastionError as exc:
            self._fail(forge, delivery, f"repo/{repo}", exc.message)
            raise DeliveryFailedError(exc.message) from exc
        self._deliveries.finish(forge, delivery, DeliveryStatus.QUEUED, run_id=run_id)
        self._record(
            ServerAction.RUN_TRIGGERED,
            f"run/{run_id}",
            Outcome.SUCCESS,
            forge=forge.value,
            delivery=delivery,
            author=event.author,
        )
        self._record_ci_changes(repository, trigger, event, run_id)
        self._record_dependency_changes(repository, trigger, event, run_id, previous)
        return run_id

    def _default_tip_before(self, repository: Repository, event: ForgeEvent) -> str | None:
        """A push to the default branch is compared with that branch's tip as the server
        knew it before this delivery's fetch moves it (None: this is the first)."""
        if event.trigger is Trigger.PUSH and event.ref == f"refs/heads/{repository.default_branch}":
            return protected_tip(repository.path, f"{NAMESPACE}/heads/{repository.default_branch}")
        return None

    def _record_dependency_changes(
        self,
        repository: Repository,
        trigger: ForgeTrigger,
        event: ForgeEvent,
        run_id: int,
        previous: str | None,
    ) -> None:
        """``dependencies.changed`` for each lock file the commit changes that adds packages
        against the protected ref: the monitor's ``new-dependency`` rule raises the alert."""
        branch = repository.default_branch
        reference: str | None
        if event.trigger is Trigger.PULL_REQUEST:
            reference = trigger.config_commit
        elif event.trigger is Trigger.PUSH and event.ref == f"refs/heads/{branch}":
            reference = previous
        else:
            reference = f"{NAMESPACE}/heads/{branch}"
        try:
            changes, initial = dependency_changes(repository.path, reference, trigger.commit)
        except (OSError, subprocess.SubprocessError) as exc:  # git failed: unknown is reported
            changes, initial = [ManifestChange("*", (), f"git failed: {exc}")], False
        for change in changes:
            details: dict[str, object] = {"repo": repository.name, "ref": trigger.ref}
            details |= {"commit": trigger.commit, "run": run_id, "initial": initial}
            details |= change.to_details()
            self._audit.record(
                AuditEvent(
                    event.author or "webhook",
                    ServerAction.DEPENDENCIES_CHANGED.value,
                    f"repo/{repository.name}",
                    Outcome.SUCCESS,
                    details,
                )
            )

    def _record_ci_changes(
        self, repository: Repository, trigger: ForgeTrigger, event: ForgeEvent, run_id: int
    ) -> None:
        """``source.changed`` when the delivery's commit changes CI files against the
        protected ref (a pull request's base; else the default branch): the monitor's
        ``pipeline-changed`` and ``new-pipeline-file`` rules raise the alert."""
        branch = repository.default_branch
        if event.trigger is Trigger.PUSH and event.ref == f"refs/heads/{branch}":
            return  # its commit is on that ref: no diff (saves a git call per delivery)
        if event.trigger is Trigger.PULL_REQUEST:
            reference: str | None = trigger.config_commit
        else:
            reference = f"{NAMESPACE}/heads/{branch}"
        files = ci_changes(repository.path, reference, trigger.commit)
        if not files:
            return
        details = {
            "repo": repository.name,
            "ref": trigger.ref,
            "commit": trigger.commit,
            "files": files,
            "run": run_id,
        }
        self._audit.record(
            AuditEvent(
                event.author or "webhook",
                ServerAction.SOURCE_CHANGED.value,
                f"repo/{repository.name}",
                Outcome.SUCCESS,
                details,
            )
        )

    def _fail(self, forge: Forge, delivery: str, subject: str, reason: str) -> None:
        self._deliveries.finish(forge, delivery, DeliveryStatus.FAILED, reason=reason)
        self._record(
            ServerAction.WEBHOOK_FAILED, subject, Outcome.FAILURE, delivery=delivery, reason=reason
        )

    def _account_of(self, login: str) -> str | None:
        """The Bastion account named like the forge sender (None: no such account)."""
        try:
            return self._accounts.by_name(login).name if login else None
        except BastionError:
            return None

    def _is_developer(self, login: str, repo: str) -> bool:
        """Whether the forge login is a Bastion account (same name, enabled) holding a role
        that may start runs on ``repo``. Unknown logins are not developers."""
        try:
            user = self._accounts.by_name(login)
        except BastionError:
            return False
        if user.disabled:
            return False
        return any(
            g.role in _BUILDERS
            and (
                g.scope is ScopeKind.INSTANCE
                or (g.scope is ScopeKind.REPOSITORY and g.name == repo)
            )
            for g in user.grants
        )
