"""Webhook payloads in the forges' documented shapes (written from their docs), minimal:
only the fields the server reads, plus a few it must ignore."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

ZERO = "0" * 40


def github_push(ref: str, after: str, *, pusher: str = "alice") -> dict[str, Any]:
    """GitHub ``push`` (docs: webhook events and payloads, push)."""
    return {
        "ref": ref,
        "before": ZERO,
        "after": after,
        "created": True,
        "deleted": after == ZERO,
        "forced": False,
        "repository": {"full_name": "acme/app", "clone_url": "https://evil.example/x.git"},
        "pusher": {"name": pusher, "email": f"{pusher}@example.com"},
        "sender": {"login": pusher},
        "commits": [],
    }


def github_pull(
    action: str,
    number: int,
    head_sha: str,
    *,
    base: str = "main",
    head_repo: str | None = "acme/app",
    author: str = "alice",
) -> dict[str, Any]:
    """GitHub ``pull_request`` (action opened, synchronize, reopened, closed, ...)."""
    head: dict[str, Any] = {"ref": "feature", "sha": head_sha, "repo": None}
    if head_repo is not None:
        head["repo"] = {"full_name": head_repo, "fork": head_repo != "acme/app"}
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "user": {"login": author},
            "head": head,
            "base": {"ref": base, "sha": ZERO, "repo": {"full_name": "acme/app"}},
        },
        "repository": {"full_name": "acme/app"},
        "sender": {"login": author},
    }


def gitea_pull(
    action: str, number: int, head_sha: str, *, author: str = "alice", head_repo: str = "acme/app"
) -> dict[str, Any]:
    """Gitea/Forgejo ``pull_request`` (action opened, synchronized, reopened)."""
    payload = github_pull(action, number, head_sha, author=author, head_repo=head_repo)
    payload["pull_request"]["user"] = {"login": author, "username": author}
    return payload


def gitea_push(ref: str, after: str, *, pusher: str = "alice") -> dict[str, Any]:
    """Gitea/Forgejo ``push``: pusher carries ``login``."""
    payload = github_push(ref, after)
    payload["pusher"] = {"login": pusher, "username": pusher}
    return payload


def gitlab_push(ref: str, after: str, *, kind: str = "push") -> dict[str, Any]:
    """GitLab Push Hook / Tag Push Hook (``object_kind`` push or tag_push)."""
    return {
        "object_kind": kind,
        "event_name": kind,
        "ref": ref,
        "before": ZERO,
        "after": after,
        "checkout_sha": after,
        "user_username": "alice",
        "project": {"path_with_namespace": "acme/app", "git_http_url": "https://evil.example"},
    }


def gitlab_merge_request(
    action: str,
    iid: int,
    last_commit: str,
    *,
    fork: bool = False,
    author: str = "alice",
    oldrev: str | None = ZERO,
) -> dict[str, Any]:
    """GitLab Merge Request Hook (object_attributes.action open, update, reopen, close...)."""
    attributes: dict[str, Any] = {
        "iid": iid,
        "action": action,
        "source_branch": "feature",
        "target_branch": "main",
        "source_project_id": 2 if fork else 1,
        "target_project_id": 1,
        "last_commit": {"id": last_commit},
    }
    if oldrev is not None:
        attributes["oldrev"] = oldrev
    return {
        "object_kind": "merge_request",
        "user": {"username": author},
        "project": {"id": 1},
        "object_attributes": attributes,
    }


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def hub_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
