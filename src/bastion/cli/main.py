"""The ``bastion`` command: registers each command group and maps errors to exit codes.

Exit codes: 0 ok, 1 blocked by findings or a failed job, 2 usage or pipeline-file error,
3 Bastion could not operate (see :mod:`bastion.errors`).
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from typer.exceptions import TyperException

from bastion import __version__
from bastion.cli.console import err_console
from bastion.errors import BastionError

__all__ = ["app", "run"]

app = typer.Typer(
    name="bastion",
    help="Self-hosted CI/CD in which security is the pipeline itself.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(wanted: bool) -> None:
    """``--version``: the package's version on stdout, then stop."""
    if wanted:
        typer.echo(f"bastion {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Self-hosted CI/CD in which security is the pipeline itself."""


def _register_for(argv: list[str]) -> None:
    """Register only the group ``argv`` names when it is a light one, else every group.

    ``bastion scan`` (a pre-commit hook, a CI step) then loads no store, audit log or
    signer: about half a second and 50 MB less. ``bastion --version`` needs none of them.
    """
    if len(argv) > 1 and argv[1] in ("scan", "--version"):
        from bastion.cli import scan as scan_cli

        scan_cli.register(app)
    else:
        _register()


def _register() -> None:
    # One module per command group; each exposes ``register(app)``.
    from bastion.cli import alerts as alerts_cli
    from bastion.cli import approvals as approvals_cli
    from bastion.cli import artifacts as artifacts_cli
    from bastion.cli import audit as audit_cli
    from bastion.cli import db as db_cli
    from bastion.cli import deploy as deploy_cli
    from bastion.cli import gitops as gitops_cli
    from bastion.cli import hook as hook_cli
    from bastion.cli import image as image_cli
    from bastion.cli import keys as keys_cli
    from bastion.cli import run as run_cli
    from bastion.cli import runs as runs_cli
    from bastion.cli import scan as scan_cli
    from bastion.cli import schema as schema_cli
    from bastion.cli import secrets as secrets_cli
    from bastion.cli import serve as serve_cli
    from bastion.cli import tools as tools_cli
    from bastion.cli import users as users_cli
    from bastion.cli import verify as verify_cli
    from bastion.cli import webhooks as webhooks_cli
    from bastion.cli import worker as worker_cli
    from bastion.cli import workers as workers_cli

    keys_cli.register(app)
    alerts_cli.register(app)
    approvals_cli.register(app)
    db_cli.register(app)
    audit_cli.register(app)
    artifacts_cli.register(app)
    deploy_cli.register(app)
    gitops_cli.register(app)
    verify_cli.register(app)
    webhooks_cli.register(app)
    hook_cli.register(app)
    image_cli.register(app)
    run_cli.register(app)
    runs_cli.register(app)
    schema_cli.register(app)
    secrets_cli.register(app)
    tools_cli.register(app)
    scan_cli.register(app)
    serve_cli.register(app)
    users_cli.register(app)
    worker_cli.register(app)
    workers_cli.register(app)


def run() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _register_for(sys.argv)
    try:
        # Without standalone mode Click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
    except BastionError as exc:
        err_console.print(f"[bold red]error:[/] {exc.diagnostics()}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except TyperException as exc:
        # Click's usage errors (missing option, bad value, unknown command): exit 2.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"error: {exc}", markup=False)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
