"""``bastion tools list|install|requirements``: scanner environments under the Bastion home."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.cli.console import err_console, out_console
from bastion.errors import UsageError
from bastion.scanners.tools import (
    InstallSource,
    Tool,
    ToolEnvironment,
    install_line,
    list_tools,
    parse_tool,
    set_up,
    spec_for,
)
from bastion.scanners.warm_ups import warm_up_for

__all__ = ["register"]

tools_app = typer.Typer(
    help="Scanner tool environments (Bandit, Semgrep, Checkov).", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 1024**2:.0f} MB" if size_bytes else "-"


@tools_app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """Each tool, its pinned version, whether it is installed, where, and its size."""
    statuses = list_tools()
    if as_json:
        out_console.print_json(json.dumps([status.to_dict() for status in statuses]))
        return
    table = Table(show_edge=False)
    for column in ("tool", "version", "installed", "path", "size"):
        table.add_column(column)
    for status in statuses:
        table.add_row(
            status.tool,
            status.version,
            "yes" if status.installed else "no",
            str(status.path),
            _size(status.size_bytes),
        )
    out_console.print(table)


@tools_app.command("install")
def install_command(
    tools: Annotated[
        list[str] | None, typer.Argument(help="Tools to install (default: every tool).")
    ] = None,
    index_url: Annotated[
        str | None, typer.Option("--index-url", help="A package index mirror.")
    ] = None,
    find_links: Annotated[
        Path | None,
        typer.Option("--find-links", help="A folder of wheels (offline unless --index-url)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if installed.")] = False,
) -> None:
    """Create tool environments ahead of time from Bastion's pinned, hashed requirements,
    and do each tool's first-run work (Checkov's grammar cache) so a first scan does not."""
    if find_links is not None and not find_links.is_dir():
        raise UsageError(
            f"--find-links {find_links} is not a directory",
            hint="point it at a folder holding the pinned wheels",
        )
    chosen = [parse_tool(name) for name in tools] if tools else list(Tool)
    source = InstallSource(index_url=index_url, find_links=find_links)
    envs = [ToolEnvironment.for_tool(tool) for tool in chosen]
    total = sum(1 for env in envs if force or not env.is_installed())
    done = 0
    for tool, env in zip(chosen, envs, strict=True):
        already = env.is_installed() and not force
        if not already:
            done += 1
            err_console.print(install_line(env, done, total), markup=False, highlight=False)
        manifest = set_up(env, source, force=force, warm_up=warm_up_for(tool))
        verb = "already installed" if already else "installed"
        err_console.print(f"{tool.value} {manifest.version} {verb}: {env.path}")


@tools_app.command("requirements")
def requirements_command(
    tool: Annotated[str, typer.Argument(help="bandit, semgrep or checkov.")],
) -> None:
    """Print a tool's pinned, hashed requirement set (to fill a wheel folder offline).

    On a connected machine: ``bastion tools requirements checkov > checkov.txt`` then
    ``pip download --no-deps --only-binary=:all: -r checkov.txt -d wheels/``; carry
    ``wheels/`` over and run ``bastion tools install checkov --find-links wheels/``.
    """
    out_console.out(spec_for(parse_tool(tool)).requirements.decode(), end="", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``tools`` command group to ``app``."""
    app.add_typer(tools_app, name="tools")
