"""The webhook settings API of a Bastion server, for ``bastion webhooks``::

    client = RemoteWebhooks.connect("http://127.0.0.1:8080", token_file=None)  # BASTION_TOKEN
    print(client.show("app")["clone_url"])

The same transport, token and error translation as :class:`~bastion.cli.runs_remote.RemoteRuns`:
a refusal (a weak secret, a clone URL the server refuses, a role that may not) is a
:class:`~bastion.errors.RemoteRefusedError` carrying the server's reason.
"""

from __future__ import annotations

from typing import Any

from bastion.cli.runs_remote import RemoteRuns

__all__ = ["RemoteWebhooks"]


def _path(repo: str) -> str:
    return f"/api/repositories/{repo}/webhook"


class RemoteWebhooks(RemoteRuns):
    """Set, show and remove a repository's webhook on one server."""

    def set(
        self, repo: str, forge: str, clone_url: str, secret: str, signing_key: str | None
    ) -> dict[str, Any]:
        """Set (or replace) ``repo``'s webhook; the server's view of it (no secret)."""
        body = {"forge": forge, "clone_url": clone_url, "secret": secret}
        if signing_key is not None:
            body["signing_key"] = signing_key
        found: dict[str, Any] = self._call("PUT", _path(repo), json=body)
        return found

    def show(self, repo: str) -> dict[str, Any]:
        """``repo``'s webhook: forge, clone URL (credentials masked), whether a secret is set."""
        found: dict[str, Any] = self._call("GET", _path(repo))
        return found

    def remove(self, repo: str) -> dict[str, Any]:
        """Remove ``repo``'s webhook; what it was."""
        found: dict[str, Any] = self._call("DELETE", _path(repo))
        return found
