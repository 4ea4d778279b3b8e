"""The approvals API of a Bastion server, for ``bastion approvals``::

    client = RemoteApprovals.connect("http://127.0.0.1:8080", token_file=None)  # BASTION_TOKEN
    for request in client.list_approvals():
        print(request["id"], request["environment"], request["state"])

The same transport, token and error translation as :class:`~bastion.cli.runs_remote.RemoteRuns`:
a refusal (a wrong TOTP code, four-eyes, a decided request) is a
:class:`~bastion.errors.RemoteRefusedError` carrying the server's reason.
"""

from __future__ import annotations

from typing import Any

from bastion.cli.runs_remote import RemoteRuns

__all__ = ["RemoteApprovals"]


class RemoteApprovals(RemoteRuns):
    """List, show, approve and reject approval requests on one server."""

    def list_approvals(self) -> list[dict[str, Any]]:
        """Pending requests the token may see, oldest first."""
        page = self._call("GET", "/api/approvals")
        found: list[dict[str, Any]] = page["approvals"]
        return found

    def get_approval(self, request_id: int) -> dict[str, Any]:
        """One request with what it ships and its votes."""
        found: dict[str, Any] = self._call("GET", f"/api/approvals/{request_id}")
        return found

    def decide(
        self, request_id: int, decision: str, code: str, comment: str = ""
    ) -> dict[str, Any]:
        """Approve or reject (``decision``) with the TOTP ``code``; the request after."""
        if decision not in ("approve", "reject"):
            raise ValueError(f"not a decision: {decision!r}")
        body = {"code": code, "comment": comment}
        found: dict[str, Any] = self._call(
            "POST", f"/api/approvals/{request_id}/{decision}", json=body
        )
        return found
