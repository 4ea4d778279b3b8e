"""``bastion runs list|show|trigger --server URL``: the same commands over a server's API.

The answers are mapped to the shapes :mod:`bastion.engine.history` gives for local runs, so
``bastion runs`` renders both with the same tables and ``--json``::

    client = RemoteRuns.connect("http://127.0.0.1:8080", token_file=None)  # BASTION_TOKEN
    for run in client.list_runs(limit=5):
        print(run["id"], run["status"])

httpx's errors are translated here: 401, 403 and 404 (and any other refusal of the request)
are :class:`~bastion.errors.RemoteRefusedError` (exit 2) with the server's one-line detail;
a server that cannot be reached, times out or answers 5xx is
:class:`~bastion.errors.RemoteError` (exit 3).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import httpx

from bastion.errors import RemoteError, RemoteRefusedError, UsageError

__all__ = ["TOKEN_ENV", "RemoteRuns", "read_token"]

TOKEN_ENV = "BASTION_TOKEN"  # noqa: S105 - the variable's name, not a token
TIMEOUT = 30.0  # seconds; every call here is a small JSON request


def read_token(token_file: Path | None, environ: Mapping[str, str] = os.environ) -> str:
    """The API token: the first line of ``token_file`` if given, else ``$BASTION_TOKEN``."""
    if token_file is not None:
        try:
            lines = token_file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the token file {token_file}: {exc}") from exc
        token = lines[0].strip() if lines else ""
        if not token:
            raise UsageError(f"the token file {token_file} is empty")
        return token
    token = environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(
            "--server needs an API token",
            hint=f"set {TOKEN_ENV} or pass --token-file (a token from the server's Tokens page)",
        )
    return token


class RemoteRuns:
    """The runs API of one Bastion server, called with a bearer token."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client
        self._server = str(client.base_url).rstrip("/")

    @classmethod
    def connect(
        cls,
        server: str,
        *,
        token_file: Path | None,
        transport: httpx.BaseTransport | None = None,
    ) -> Self:
        """A client of ``server`` (``http(s)://host:port``); UsageError for another URL."""
        url = httpx.URL(server)
        if url.scheme not in ("http", "https") or not url.host:
            raise UsageError(f"--server {server!r} is not an http(s) URL")
        headers = {"Authorization": f"Bearer {read_token(token_file)}"}
        client = httpx.Client(
            base_url=server, headers=headers, timeout=TIMEOUT, transport=transport
        )
        return cls(client)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def list_runs(self, limit: int) -> list[dict[str, Any]]:
        """The newest runs the token may see, in the local list shape."""
        page = self._call("GET", "/api/runs", params={"limit": min(limit, 200)})
        return [run_fields(run) for run in page["runs"]]

    def get_run(self, run_id: int) -> dict[str, Any]:
        """One run with its jobs and steps, in the local detail shape."""
        return run_detail(self._call("GET", f"/api/runs/{run_id}"))

    def trigger(self, repo: str, branch: str | None, commit: str | None) -> dict[str, Any]:
        """Start a run of a registered repository; ``{"id": ..., "status": "queued"}``."""
        body = {"repo": repo, "branch": branch, "commit": commit}
        started: dict[str, Any] = self._call("POST", "/api/runs", json=body)
        return started

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of one request; every failure as a RemoteError."""
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RemoteError(
                f"cannot reach {self._server}: {str(exc) or type(exc).__name__}",
                hint="is `bastion serve` running there, and is the URL right?",
            ) from exc
        if response.status_code >= 500:
            raise RemoteError(
                f"{self._server} failed: {response.status_code} {_detail(response)}",
                hint="try again later; the server's log has the cause",
            )
        if response.status_code >= 400:
            raise RemoteRefusedError(f"{response.status_code}: {_detail(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise RemoteError(f"{self._server} answered {method} {path} with no JSON") from exc


def _detail(response: httpx.Response) -> str:
    """The problem's one-line detail, or the reason phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    text = detail if isinstance(detail, str) and detail else response.reason_phrase
    return " ".join(text.split())[:300]


def _seconds(started: str | None, finished: str | None) -> float | None:
    if not started or not finished:
        return None
    took = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
    return round(took.total_seconds(), 3)


def run_fields(run: Mapping[str, Any]) -> dict[str, Any]:
    """A server's run (``RunOut``) as :func:`bastion.engine.history.run_to_dict` shapes it;
    the list gives no pipeline path, so it shows as ``-``."""
    data: dict[str, Any] = {
        key: run.get(key)
        for key in ("id", "status", "repo", "commit", "ref", "event", "trust", "reason")
    }
    data["pipeline"] = run.get("pipeline_path") or "-"
    data["pipeline_digest"] = run.get("pipeline_digest")
    for key in ("created_at", "started_at", "finished_at"):
        data[key] = run.get(key)
    took = _seconds(run.get("started_at"), run.get("finished_at"))
    if took is not None:
        data["duration_seconds"] = took
    return data


def run_detail(run: Mapping[str, Any]) -> dict[str, Any]:
    """A server's run detail (``RunDetailOut``) in the local detail shape: jobs with steps,
    no log paths (they are on the server), its artifacts and findings count kept apart."""
    data = run_fields(run)
    data["jobs"] = [
        {
            "name": job["name"],
            "kind": job["kind"],
            "status": job["status"],
            "reason": job["reason"],
            "duration_seconds": _seconds(job["started_at"], job["finished_at"]),
            "log": None,
            "result": job["result"],
            "steps": [
                {key: step[key] for key in ("index", "name", "status", "exit_code")}
                for step in job["steps"]
            ],
        }
        for job in run["jobs"]
    ]
    data["attestations"] = []  # the local record's files; the server lists its artifacts
    data["artifacts"] = list(run.get("artifacts", []))
    data["findings"] = run.get("findings")
    return data
