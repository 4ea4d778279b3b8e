"""``bastion webhooks set|show|rm REPO --server URL``: a repository's forge webhook on a
Bastion server (issue 14).

The secret is never a command-line argument (other users see those in ``ps``): it is read
from stdin (first line), asked for on a terminal without echo, or made here with
``--generate`` and printed once to stdout, after the server took it, for pasting into the
forge. GitLab's signing token (``--signed``) is read the same way, on the next line.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from bastion.cli.console import err_console, out_console
from bastion.cli.runs_remote import TOKEN_ENV
from bastion.cli.secret_input import read_secret
from bastion.cli.webhooks_remote import RemoteWebhooks
from bastion.errors import UsageError

__all__ = ["generated_secret", "register"]

webhooks_app = typer.Typer(
    help="A repository's forge webhook on a Bastion server.", no_args_is_help=True
)
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
FORGES = ("github", "gitlab", "gitea")


def generated_secret() -> str:
    """A new random secret: 32 bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


@contextmanager
def _client(server: str, token_file: Path | None) -> Iterator[RemoteWebhooks]:
    client = RemoteWebhooks.connect(server, token_file=token_file)
    try:
        yield client
    finally:
        client.close()


def _read(what: str) -> str:
    """One line of stdin, or a no-echo prompt on a terminal; UsageError if empty."""
    hint = "pipe it in (bastion webhooks set REPO ... < secret.txt) or pass --generate"
    return read_secret(what, hint=hint)


def _render(hook: dict[str, Any]) -> None:
    secret = "set" if hook["secret_set"] else "not set"
    signed = ", signed webhooks required" if hook["signed"] else ""
    lines = [
        f"repository {hook['repo']}: {hook['forge']} webhook",
        f"clone URL {hook['clone_url']}",
        f"secret {secret}{signed}",
        f"created {hook.get('created_at') or '-'}, secret rotated {hook.get('rotated_at') or '-'}",
    ]
    for line in lines:
        out_console.print(line, markup=False, highlight=False)


@webhooks_app.command("set")
def set_command(
    repo: str,
    server: ServerOption,
    forge: Annotated[str, typer.Option("--forge", help="github, gitlab or gitea.")],
    clone_url: Annotated[
        str, typer.Option("--clone-url", help="Where the server fetches the commits from.")
    ],
    generate: Annotated[
        bool, typer.Option("--generate", help="Make a random secret; printed once to stdout.")
    ] = False,
    signed: Annotated[
        bool,
        typer.Option("--signed", help="GitLab: also require signed webhooks (key on stdin)."),
    ] = False,
    token_file: TokenFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set (or replace) REPO's webhook; the secret comes from stdin or --generate."""
    if forge not in FORGES:
        raise UsageError(f"--forge {forge!r} is not one of {', '.join(FORGES)}")
    secret = generated_secret() if generate else _read("webhook secret")
    signing_key = _read("GitLab signing token") if signed else None
    with _client(server, token_file) as client:
        hook = client.set(repo, forge, clone_url, secret, signing_key)
    err_console.print(f"webhook of {repo} set ({hook['forge']})", highlight=False)
    if as_json:
        shown = hook | {"secret": secret} if generate else hook
        out_console.print_json(json.dumps(shown))
    elif generate:
        err_console.print("the new secret (shown once: paste it into the forge):")
        print(secret)  # plain, so it can be piped; never through Rich markup
    else:
        _render(hook)


@webhooks_app.command("show")
def show_command(
    repo: str, server: ServerOption, token_file: TokenFileOption = None, as_json: JsonOption = False
) -> None:
    """REPO's webhook: forge, clone URL (credentials masked), whether a secret is set."""
    with _client(server, token_file) as client:
        hook = client.show(repo)
    if as_json:
        out_console.print_json(json.dumps(hook))
    else:
        _render(hook)


@webhooks_app.command("rm")
def remove_command(
    repo: str, server: ServerOption, token_file: TokenFileOption = None, as_json: JsonOption = False
) -> None:
    """Remove REPO's webhook: the forge's deliveries are refused from now on."""
    with _client(server, token_file) as client:
        hook = client.remove(repo)
    err_console.print(f"webhook of {repo} removed", highlight=False)
    if as_json:
        out_console.print_json(json.dumps(hook))


def register(app: typer.Typer) -> None:
    """Add ``webhooks``."""
    app.add_typer(webhooks_app, name="webhooks")
