"""``bastion approvals list|show|approve|reject --server URL``: the deploy approvals waiting
on a Bastion server (issue 14). A vote carries the caller's TOTP code of that moment, from
``--code`` or asked for on the terminal (never echoed); the server refuses a wrong or
replayed code, the run's triggerer and the authors of what ships (exit 2, with why)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bastion.cli.approvals_remote import RemoteApprovals
from bastion.cli.console import err_console, out_console
from bastion.cli.runs_remote import TOKEN_ENV
from bastion.cli.secret_input import read_secret
from bastion.errors import UsageError

__all__ = ["register"]

approvals_app = typer.Typer(help="Deploy approvals on a Bastion server.", no_args_is_help=True)
ServerOption = Annotated[
    str,
    typer.Option(
        "--server",
        envvar="BASTION_SERVER",
        help=f"A Bastion server's URL (token from ${TOKEN_ENV} or --token-file).",
    ),
]
TokenFileOption = Annotated[
    Path | None, typer.Option("--token-file", help="A file holding the API token.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
CodeOption = Annotated[
    str | None, typer.Option("--code", help="Your TOTP code now (asked for if omitted).")
]
CommentOption = Annotated[str, typer.Option("--comment", help="Why (kept in the audit log).")]
_CODE = re.compile(r"[0-9]{6}")


@contextmanager
def _client(server: str, token_file: Path | None) -> Iterator[RemoteApprovals]:
    client = RemoteApprovals.connect(server, token_file=token_file)
    try:
        yield client
    finally:
        client.close()


def _code(given: str | None) -> str:
    """The TOTP code from ``--code``, stdin or the terminal; UsageError unless six digits."""
    if given is None:
        given = read_secret("TOTP code", hint="a vote needs your TOTP code: pass --code")
    code = given.strip().replace(" ", "")
    if not _CODE.fullmatch(code):
        raise UsageError("a TOTP code is six digits", hint="from your authenticator app")
    return code


def _votes(request: dict[str, Any]) -> str:
    return ", ".join(f"{v['user']} {v['decision']}" for v in request.get("votes", [])) or "-"


@approvals_app.command("list")
def list_command(
    server: ServerOption, token_file: TokenFileOption = None, as_json: JsonOption = False
) -> None:
    """Pending approval requests, oldest first."""
    with _client(server, token_file) as client:
        found = client.list_approvals()
    if as_json:
        out_console.print_json(json.dumps(found))
        return
    table = Table("id", "repo", "run", "job", "environment", "triggered by", "votes")
    for r in found:
        who = r["triggered_by"] or "-"
        table.add_row(
            str(r["id"]), r["repo"], str(r["run_id"]), r["job"], r["environment"], who, _votes(r)
        )
    out_console.print(table)


@approvals_app.command("show")
def show_command(
    request_id: int,
    server: ServerOption,
    token_file: TokenFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """One request: where it ships, what (artifacts, changed pipeline files), the votes."""
    with _client(server, token_file) as client:
        found = client.get_approval(request_id)
    if as_json:
        out_console.print_json(json.dumps(found))
        return
    _render(found)


def _render(r: dict[str, Any]) -> None:
    shipped = r.get("shipped") or {}
    lines = [
        f"request {r['id']}: {r['state']}",
        f"run {r['run_id']} job {r['job']} -> {r['environment']}",
        f"repo {r['repo']} commit {r['commit'] or '-'} ref {r['ref'] or '-'} trust {r['trust']}",
        f"triggered by {r['triggered_by'] or '-'}; expires {r['expires_at']}",
    ]
    lines += [f"artifact {path} {digest}" for path, digest in shipped.get("artifacts") or []]
    lines += [f"pipeline change {c}" for c in shipped.get("config_changes") or []]
    lines.append(f"votes: {_votes(r)}")
    for line in lines:
        out_console.print(line, markup=False, highlight=False)


def _decide(
    decision: str, request_id: int, server: str, token_file: Path | None, code: str, note: str
) -> dict[str, Any]:
    with _client(server, token_file) as client:
        found = client.decide(request_id, decision, code, note)
    err_console.print(f"request {request_id}: {found['state']}", highlight=False)
    return found


@approvals_app.command("approve")
def approve_command(
    request_id: int,
    server: ServerOption,
    token_file: TokenFileOption = None,
    code: CodeOption = None,
    comment: CommentOption = "",
    as_json: JsonOption = False,
) -> None:
    """Approve a request with your TOTP code (it ships once enough people have)."""
    found = _decide("approve", request_id, server, token_file, _code(code), comment)
    if as_json:
        out_console.print_json(json.dumps(found))


@approvals_app.command("reject")
def reject_command(
    request_id: int,
    server: ServerOption,
    token_file: TokenFileOption = None,
    code: CodeOption = None,
    comment: CommentOption = "",
    as_json: JsonOption = False,
) -> None:
    """Reject a request with your TOTP code: the job does not run."""
    found = _decide("reject", request_id, server, token_file, _code(code), comment)
    if as_json:
        out_console.print_json(json.dumps(found))


def register(app: typer.Typer) -> None:
    """Add ``approvals``."""
    app.add_typer(approvals_app, name="approvals")
