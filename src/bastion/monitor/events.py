"""The audit actions the rules read, including the shapes this package defines.

Actions Bastion already records (:class:`bastion.audit.Action` and the server's) are used as
they are; the shapes this package reads from other producers are these:

``source.changed``
    subject ``repo/<repo>``; details ``{"repo", "ref", "commit", "files": [{"path",
    "change": "added" | "modified" | "deleted" | "renamed"}]}``: the files a push changed.
``dependencies.changed``
    recorded by the server's webhook intake (``bastion.server.webhook_dependencies``), one
    per lock file a delivery's commit changes that adds packages against the protected ref:
    subject ``repo/<repo>``; details ``{"repo", "ref", "commit", "run", "lockfile", "initial":
    bool, "added": [{"ecosystem", "name", "version"}]}``, plus ``"unreadable": reason`` when
    the new lock file could not be parsed. ``initial`` is true for the first delivery of a
    repository (no protected tip to compare with: everything pinned is listed).
``egress.request``
    recorded by the engine (``bastion.engine.job_resources``) for each request through a
    job's egress proxy: subject ``run/<id>/job/<job>``; outcome ``success`` or ``denied``;
    details ``{"repo", "job", "host", "port", "reason"}``, masked like the job's log.
``deploy.started``
    recorded by :mod:`bastion.deploy` once the digest verified: subject
    ``deploy/<environment>``; details ``{"environment", "digest", "strategy", "slot",
    "steps", "repo", "ref", "commit", "trust", "protected": bool}``, the source fields read
    from the digest's verified provenance; ``protected`` is true when that trust is
    ``trusted`` or ``release`` (granted only to a protected branch's head or a signed tag).
``deploy.rolled_back``
    recorded by :mod:`bastion.deploy`: subject ``deploy/<environment>``; outcome
    ``failure`` (a failed step rolled back) or ``success`` (``bastion deploy rollback``);
    details ``{"environment", "digest", "reason", "restored"}``.
``deploy.drift_detected``
    recorded by :mod:`bastion.deploy`: details ``{"environment", "differences": [{"what",
    "expected", "found"}]}``.
``secret.overdue``
    recorded by ``bastion secrets due --record``: subject ``secret/<name>``; details
    ``{"name", "rotated", "age", "max_age"}`` (ages as ``90d``), never the value.
``approval.granted``
    actor ``user:<name>``; details ``{"environment", "repo", "run"}``.
``approval.approve``
    recorded by the server's approvals (``bastion.server.approvals``) for each vote to
    approve: actor ``user:<name>``, subject ``approval:<id>``, details ``{"environment",
    "run", "job", "comment"}``; outcome ``success`` when the vote counted, ``denied`` when it
    was refused (``reason``: a wrong TOTP code, four-eyes, outside the environment's deploy
    window). The approval rules judge the votes that counted, as ``approval.granted``.
``audit.verified``
    recorded by ``bastion audit verify --record`` in the user's log: outcome ``failure`` when
    the audit log does not verify; details ``{"source", "size", "problems": [text], "more"}``.
"""

from __future__ import annotations

__all__ = [
    "APPROVAL_GRANTED",
    "APPROVAL_VOTE",
    "AUDIT_VERIFIED",
    "DEPENDENCIES_CHANGED",
    "DEPLOY_DRIFT_DETECTED",
    "DEPLOY_ROLLED_BACK",
    "DEPLOY_STARTED",
    "EGRESS_REQUEST",
    "KEY_OVERDUE",
    "KEY_REVOKED",
    "LOGIN",
    "RUN_FINISHED",
    "RUN_STARTED",
    "SECRET_OVERDUE",
    "SECRET_RELEASED",
    "SOURCE_CHANGED",
    "VERIFY_PERFORMED",
]

RUN_STARTED = "run.started"
RUN_FINISHED = "run.finished"
SECRET_RELEASED = "secret.released"  # noqa: S105 - an action name, not a secret
SECRET_OVERDUE = "secret.overdue"  # noqa: S105 - an action name, not a secret
APPROVAL_GRANTED = "approval.granted"
APPROVAL_VOTE = "approval.approve"
VERIFY_PERFORMED = "verify.performed"
KEY_REVOKED = "key.revoked"
KEY_OVERDUE = "key.overdue"
LOGIN = "auth.login"
SOURCE_CHANGED = "source.changed"
DEPENDENCIES_CHANGED = "dependencies.changed"
EGRESS_REQUEST = "egress.request"
DEPLOY_STARTED = "deploy.started"
DEPLOY_ROLLED_BACK = "deploy.rolled_back"
DEPLOY_DRIFT_DETECTED = "deploy.drift_detected"
AUDIT_VERIFIED = "audit.verified"
