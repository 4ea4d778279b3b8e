"""``bastion hook install|uninstall``: the secrets gate in git's pre-commit hook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bastion.cli.console import err_console, out_console
from bastion.scanners.secrets.hook import HookResult, install_hook, uninstall_hook

__all__ = ["register"]

hook_app = typer.Typer(help="Run Bastion's secrets gate before every commit.", no_args_is_help=True)
RepoOption = Annotated[
    Path, typer.Option("--repo", help="The git repository (default: the current directory).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _emit(result: HookResult, as_json: bool, text: str) -> None:
    if as_json:
        out_console.print_json(
            json.dumps(
                {
                    "hook": str(result.hook),
                    "chained": str(result.chained) if result.chained else None,
                    "updated": result.updated,
                }
            )
        )
    else:
        err_console.print(text, highlight=False)


@hook_app.command("install")
def install_command(
    repo: RepoOption = Path("."),
    bastion: Annotated[
        Path | None,
        typer.Option("--bastion", help="Absolute path of the bastion executable to call."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the pre-commit hook; an existing hook is kept and runs first."""
    result = install_hook(repo, bastion)
    verb = "updated" if result.updated else "installed"
    chained = f"; chained to the existing hook {result.chained}" if result.chained else ""
    _emit(result, as_json, f"{verb} {result.hook}{chained}")


@hook_app.command("uninstall")
def uninstall_command(repo: RepoOption = Path("."), as_json: JsonOption = False) -> None:
    """Remove Bastion's pre-commit hook and restore the hook it chained."""
    result = uninstall_hook(repo)
    restored = f"; restored {result.chained}" if result.chained else ""
    _emit(result, as_json, f"removed Bastion's hook from {result.hook.parent}{restored}")


def register(app: typer.Typer) -> None:
    """Add the ``hook`` command group to ``app``."""
    app.add_typer(hook_app, name="hook")
