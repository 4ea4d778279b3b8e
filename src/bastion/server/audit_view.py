"""The audit log as the server shows it: a page of events (newest first, filtered), whether
the whole log verifies, inclusion proofs and the export.

Verification is recomputed for every page (:meth:`AuditLog.inspect`): a page never shows
events as trustworthy from a cached answer.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from bastion.audit import AuditEntry, AuditLog, AuditTamperError, AuditVerificationReport
from bastion.errors import AuditError
from bastion.server.errors import ConflictError, NotFoundError

__all__ = ["AuditFilter", "AuditPage", "audit_page", "export_text", "inclusion_proof"]

_CHUNK = 1000
_MAX_SCANNED = 100_000  # a filtered page looks at most this many events back


@dataclass(frozen=True)
class AuditFilter:
    """Exact actor, action and outcome; ``subject`` matches as a substring. Empty: any."""

    actor: str = ""
    action: str = ""
    outcome: str = ""
    subject: str = ""

    def keeps(self, entry: AuditEntry) -> bool:
        """True when ``entry`` passes every given criterion."""
        event = entry.event
        return (
            (not self.actor or event.actor == self.actor)
            and (not self.action or event.action == self.action)
            and (not self.outcome or event.outcome.value == self.outcome)
            and (not self.subject or self.subject in event.subject)
        )

    @property
    def empty(self) -> bool:
        """True when nothing is filtered."""
        return not (self.actor or self.action or self.outcome or self.subject)


@dataclass(frozen=True)
class AuditPage:
    """Events newest first, the log's size and whether the log verifies."""

    report: AuditVerificationReport
    entries: list[AuditEntry]
    total: int
    more: bool


def _newest_first(log: AuditLog, stop: int) -> Iterator[AuditEntry]:
    scanned = 0
    while stop > 0 and scanned < _MAX_SCANNED:
        start = max(0, stop - _CHUNK)
        yield from reversed(list(log.entries(start, stop)))
        scanned += stop - start
        stop = start


def audit_page(
    log: AuditLog, wanted: AuditFilter, *, offset: int, limit: int, now: datetime
) -> AuditPage:
    """``limit`` events after skipping ``offset`` matches, newest first, with the report."""
    report = log.inspect(now=now)
    size = log.size()
    if wanted.empty:
        stop = max(0, size - offset)
        entries = list(reversed(list(log.entries(max(0, stop - limit), stop))))
        return AuditPage(report, entries, size, stop - limit > 0)
    matched: list[AuditEntry] = []
    skipped = 0
    for entry in _newest_first(log, size):
        if not wanted.keeps(entry):
            continue
        if skipped < offset:
            skipped += 1
            continue
        if len(matched) == limit:
            return AuditPage(report, matched, size, True)
        matched.append(entry)
    return AuditPage(report, matched, size, False)


def inclusion_proof(log: AuditLog, seq: int) -> dict[str, object]:
    """The verified inclusion proof of event ``seq`` in the newest checkpoint, as JSON;
    NotFoundError when no signed checkpoint covers it yet."""
    try:
        proof = log.prove(seq)
    except AuditTamperError as exc:
        raise ConflictError(f"the log does not verify: {exc.message}") from exc
    except AuditError as exc:
        raise NotFoundError(exc.message) from exc
    return proof.to_json()


def export_text(log: AuditLog) -> str:
    """Every event and checkpoint as JSON lines (``bastion audit export``'s format)."""
    out = io.StringIO()
    log.export(out)
    return out.getvalue()
