"""What a verified forge delivery asks for: a push, a tag, or a pull/merge request.

>>> parse_event(Forge.GITHUB, "ping", b'{"zen": "x"}') is None
True

Only the events that start runs are read: pushes to a branch, tag pushes, and pull (merge)
requests opened, synchronised (new commits) or reopened. Everything else (a ping, a closed
or edited request, a deleted branch) is ``None``: recorded, starts nothing. A payload that
is not the documented shape is a :class:`~bastion.server.errors.BadRequestError`.

The payload says which commit and which refs; the server then fetches them itself from the
repository's configured clone URL (never a URL from the payload), and a pull request's head
through the base repository's own pull refs (``refs/pull/N/head``,
``refs/merge-requests/N/head``), never from the fork.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bastion.server.errors import BadRequestError
from bastion.server.trust_policy import Trigger
from bastion.server.webhook_signatures import Forge

__all__ = ["ForgeEvent", "parse_event"]

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_ZERO = re.compile(r"0+")
_PR_ACTIONS = {
    Forge.GITHUB: {"opened", "synchronize", "reopened"},
    Forge.GITEA: {"opened", "synchronized", "reopened"},
}
_MR_ACTIONS = {"open", "reopen", "update"}


@dataclass(frozen=True)
class ForgeEvent:
    """A run the forge asks for.

    ``ref`` is the full ref that names the commit (``refs/heads/x``, ``refs/tags/v1``) or,
    for a pull request, the base repository's pull ref to fetch; ``base_branch`` the pull
    request's target; ``author`` the forge login of the pull request's author (pushes: the
    pusher); ``fork`` whether the head lives in another repository.
    """

    trigger: Trigger
    ref: str
    commit: str
    author: str
    base_branch: str | None = None
    number: int | None = None
    fork: bool = False


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            raise BadRequestError(f"the payload has no {'.'.join(path)}")
        data = data[key]
    return data


def _text(data: Any, *path: str) -> str:
    value = _get(data, *path)
    if not isinstance(value, str) or not value or len(value) > 1024 or "\x00" in value:
        raise BadRequestError(f"the payload's {'.'.join(path)} is not a string")
    return value


def _sha(data: Any, *path: str) -> str:
    value = _text(data, *path)
    if not _SHA.fullmatch(value):
        raise BadRequestError(f"the payload's {'.'.join(path)} is not a commit id")
    return value


def _number(data: Any, *path: str) -> int:
    value = _get(data, *path)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
        raise BadRequestError(f"the payload's {'.'.join(path)} is not a number")
    return value


def _push(forge: Forge, data: Any) -> ForgeEvent | None:
    ref = _text(data, "ref")
    after = _text(data, "after")
    if _ZERO.fullmatch(after):
        return None  # a deleted branch or tag
    if forge is Forge.GITLAB:
        author = _text(data, "user_username")
    elif forge is Forge.GITHUB:
        author = _text(data, "pusher", "name")
    else:
        author = _text(data, "pusher", "login")
    if ref.startswith("refs/tags/"):
        # A tag push names the tag (object or commit); the tag ref is what is fetched.
        return ForgeEvent(Trigger.TAG, ref, _sha(data, "after"), author)
    if ref.startswith("refs/heads/"):
        return ForgeEvent(Trigger.PUSH, ref, _sha(data, "after"), author)
    raise BadRequestError("the payload's ref is neither a branch nor a tag")


def _pull_request(forge: Forge, data: Any) -> ForgeEvent | None:
    if _text(data, "action") not in _PR_ACTIONS[forge]:
        return None
    pull = _get(data, "pull_request")
    number = _number(data, "number")
    head_repo = _get(pull, "head").get("repo") if isinstance(pull.get("head"), dict) else None
    base_name = _text(pull, "base", "repo", "full_name")
    head_name = head_repo.get("full_name") if isinstance(head_repo, dict) else None
    return ForgeEvent(
        Trigger.PULL_REQUEST,
        f"refs/pull/{number}/head",
        _sha(pull, "head", "sha"),
        _text(pull, "user", "login"),
        base_branch=_text(pull, "base", "ref"),
        number=number,
        fork=head_name != base_name,  # a deleted fork (no head repo) counts as a fork
    )


def _merge_request(data: Any) -> ForgeEvent | None:
    attributes = _get(data, "object_attributes")
    action = attributes.get("action") if isinstance(attributes, dict) else None
    if action not in _MR_ACTIONS:
        return None
    if action == "update" and "oldrev" not in attributes:
        return None  # an edit of the title or labels, not new commits
    number = _number(attributes, "iid")
    source, target = attributes.get("source_project_id"), attributes.get("target_project_id")
    return ForgeEvent(
        Trigger.PULL_REQUEST,
        f"refs/merge-requests/{number}/head",
        _sha(attributes, "last_commit", "id"),
        _text(data, "user", "username"),
        base_branch=_text(attributes, "target_branch"),
        number=number,
        fork=source is None or source != target,
    )


def parse_event(forge: Forge, event: str, body: bytes) -> ForgeEvent | None:
    """The run ``forge``'s ``event`` delivery asks for, or None if it asks for none."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError("the payload is not JSON") from exc
    if not isinstance(data, dict):
        raise BadRequestError("the payload is not a JSON object")
    if forge is Forge.GITLAB:
        kind = {"Push Hook": "push", "Tag Push Hook": "push", "Merge Request Hook": "mr"}
        chosen = kind.get(event)
        if chosen == "push":
            return _push(forge, data)
        return _merge_request(data) if chosen == "mr" else None
    if event == "push":
        return _push(forge, data)
    if event == "pull_request":
        return _pull_request(forge, data)
    return None
