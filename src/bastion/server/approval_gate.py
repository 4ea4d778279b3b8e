"""The engine's approval gate, served: a job with ``environment:`` waits here until its
environment's approvers decide (:mod:`bastion.server.approvals`).

Refused without asking anyone: an environment not configured on this server, a run of a
trust or ref the environment does not allow, commits git cannot read (four-eyes could not
be checked). Otherwise a request is opened with what ships (artifact digests, their
CycloneDX components, the people behind the commits since the last deploy, pipeline-file
changes) and the gate waits on the run's cancel event, polling the request's state. Once
approved and past the wait timer, a job whose environment's deploy window has closed
meanwhile waits for the next window to open (approvals themselves are only taken inside one).
That last look reads the environment's settings again: removed, or no longer taking the
run's trust or ref, the job is refused; a window added meanwhile is waited for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.engine import ApprovalDecision, ApprovalRequest
from bastion.errors import BastionError
from bastion.server.approvals import Approvals, RequestState
from bastion.server.environments import admissible, outside_window
from bastion.server.release_facts import commit_people, components_of, config_changes
from bastion.supplychain import AttestationKind, BlobStore, parse_digest

__all__ = ["ServerApprovalGate"]

_CANCELLED = "cancelled while waiting for the deploy window"


def _components(store: BlobStore | None, artifacts: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The CycloneDX components of the shipped artifacts (their newest bundle each)."""
    found: dict[str, str] = {}
    if store is None:
        return found
    for _path, digest in artifacts:
        try:
            parsed = parse_digest(digest)
            bundles = store.bundles(parsed)
            if bundles:
                envelope = store.get_attestation(parsed, bundles[-1], AttestationKind.CYCLONEDX)
                found.update(components_of(envelope) if envelope else {})
        except (BastionError, ValueError):
            continue  # no SBOM for this one: the page says there is none
    return found


@dataclass
class ServerApprovalGate:
    """One run's gate: who triggered it and where its repository is."""

    approvals: Approvals
    repository: Path
    triggered_by: str | None
    artifacts: BlobStore | None = None
    poll_seconds: float = 1.0

    def __call__(self, request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
        settings = self.approvals.environments.get(request.environment)
        reason = (
            f"environment {request.environment!r} is not configured on this server"
            if settings is None
            else admissible(settings, request.context)
        )
        shipped = self._shipped(request) if reason is None else {}
        if reason is None and shipped.get("people") is None:
            reason = "the commits since the last deploy could not be read"
        if reason is not None or settings is None:
            self.approvals.refuse(request, reason or "refused")
            return ApprovalDecision(False, reason or "refused")
        request_id = self.approvals.open(request, settings, self.triggered_by, shipped)
        while not cancel.wait(self.poll_seconds):
            state = self.approvals.poll(request_id)
            if state is RequestState.APPROVED:
                if cancel.wait(settings.wait_timer):
                    break
                refused = self._ready(request, cancel)
                if refused is _CANCELLED:
                    break
                if refused is not None:
                    self.approvals.refuse(request, refused)
                    return ApprovalDecision(False, f"approval request {request_id}: {refused}")
                return ApprovalDecision(True, f"approved (request {request_id})")
            if state is not RequestState.PENDING:
                return ApprovalDecision(False, f"approval request {request_id} {state.value}")
        self.approvals.cancel(request_id)
        return ApprovalDecision(False, "cancelled while waiting for approval")

    def _ready(self, request: ApprovalRequest, cancel: threading.Event) -> str | None:
        """Wait until the environment *as configured now* takes the approved deploy: its
        deploy window open (None). The settings are read again at every look, never the
        ones the request opened under: an environment removed, or no longer taking this
        run's trust or ref, while the job waited is a reason to refuse; a window added or
        narrowed meanwhile is waited for. :data:`_CANCELLED` if the run stopped first."""
        while True:
            settings = self.approvals.environments.get(request.environment)
            if settings is None:
                return f"environment {request.environment!r} is no longer configured"
            refused = admissible(settings, request.context)
            if refused is not None:
                return refused
            if outside_window(settings, self.approvals.clock()) is None:
                return None
            if cancel.wait(self.poll_seconds):
                return _CANCELLED

    def _shipped(self, request: ApprovalRequest) -> dict[str, Any]:
        """What the approvers are shown and four-eyes is checked against."""
        _digest, since, _components_now = self.approvals.environments.deployed(request.environment)
        commit = request.context.commit or ""
        people = commit_people(self.repository, commit, since) if commit else None
        return {
            "artifacts": [list(a) for a in request.artifacts],
            "components": _components(self.artifacts, request.artifacts),
            "people": sorted(people) if people is not None else None,
            "config_changes": config_changes(self.repository, commit, since) if commit else None,
            "since": since,
        }
