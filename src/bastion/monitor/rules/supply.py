"""Supply chain: a new dependency in a lock-file diff, ``bastion verify`` failing, a
signature by an unknown or revoked key."""

from __future__ import annotations

from collections.abc import Iterable

from bastion.monitor.events import DEPENDENCIES_CHANGED, KEY_REVOKED, VERIFY_PERFORMED
from bastion.monitor.interface import Baseline, Observation, Severity, Signal
from bastion.monitor.rules.base import BuiltinRule, short

__all__ = ["NewDependency", "UntrustedSignature", "VerifyFailed"]

_KEY_REASONS = frozenset({"signature-untrusted", "key-revoked"})


class NewDependency(BuiltinRule):
    """A package a lock-file diff adds that the repository never depended on (a version
    bump of a known package is not new). An initial inventory (``initial``: the first
    delivery of a repository, nothing to compare with) is learned silently; a lock file
    whose dependencies could not be read (``unreadable``) alerts, as what it adds is unknown."""

    name = "new-dependency"
    actions = frozenset({DEPENDENCIES_CHANGED})
    default_severity = Severity.LOW

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        repo, lockfile = event.text("repo"), event.text("lockfile")
        unreadable = event.details.get("unreadable")
        if unreadable is not None:
            title = f"dependencies of {short(lockfile or '?')} in {short(repo)} unknown"
            detail = f"{short(unreadable)} at {event.text('commit')}"
            yield self.signal(event, title, detail, f"{repo}:{lockfile}:{event.seq}", repo)
        added = event.details.get("added")
        for item in added if isinstance(added, list) else ():
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            package = f"{item.get('ecosystem', '?')}:{item['name']}"
            new = baseline.learn("dependency", repo, package)
            if new and event.details.get("initial") is not True:
                title = f"new dependency {short(package)}@{short(item.get('version', '?'))}"
                detail = f"added to {short(lockfile)} of {short(repo)} at {event.text('commit')}"
                yield self.signal(event, title, detail, f"{repo}:{package}", repo)


def _failed_checks(event: Observation) -> list[tuple[str, str]]:
    failed = event.details.get("failed")
    return [
        (str(item.get("check", "?")), str(item.get("reason", "?")))
        for item in (failed if isinstance(failed, list) else ())
        if isinstance(item, dict)
    ]


class VerifyFailed(BuiltinRule):
    """``bastion verify`` refused an artifact."""

    name = "verify-failed"
    actions = frozenset({VERIFY_PERFORMED})
    default_severity = Severity.HIGH

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        if event.outcome == "success":
            return
        reasons = ", ".join(f"{check}: {reason}" for check, reason in _failed_checks(event))
        title = f"verify refused {short(event.subject)}"
        detail = f"by {event.actor}; failed checks: {short(reasons or 'none named')}"
        yield self.signal(
            event, title, detail, f"{event.subject}:{event.seq}", event.text("repo") or None
        )


class UntrustedSignature(BuiltinRule):
    """A signature by a key that is not trusted or was revoked: from ``verify.performed``
    reason codes, and ``signature.*`` events naming a ``keyid`` revoked before."""

    name = "untrusted-signature"
    actions = frozenset({VERIFY_PERFORMED, KEY_REVOKED, "signature.created", "signature.verified"})
    default_severity = Severity.CRITICAL

    def evaluate(self, event: Observation, baseline: Baseline) -> Iterable[Signal]:
        if event.action == KEY_REVOKED:
            baseline.learn("revoked-key", "*", event.text("keyid"))
            return
        if event.action == VERIFY_PERFORMED:
            for check, reason in _failed_checks(event):
                if reason in _KEY_REASONS:
                    kind = "untrusted" if reason == "signature-untrusted" else "revoked"
                    title = f"{short(event.subject)} signed by an {kind} key"
                    yield self.signal(
                        event, title, f"check {check}: {reason}", f"{event.subject}:{reason}"
                    )
            return
        keyid = event.text("keyid")
        if keyid and baseline.seen("revoked-key", "*", keyid):
            title = f"{short(event.subject)} signed by revoked key {short(keyid)}"
            yield self.signal(
                event, title, f"{event.action} by {event.actor}", f"{event.subject}:{keyid}"
            )
