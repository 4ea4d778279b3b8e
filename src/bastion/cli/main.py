"""The ``bastion`` command: registers each command group and maps errors to exit codes.

Exit codes: 0 ok, 1 blocked by findings or a failed job, 2 usage or pipeline-file error,
3 Bastion could not operate (see :mod:`bastion.errors`).
"""

from __future__ import annotations

import logging
import sys

import typer

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


def _register() -> None:
    # One module per command group; each exposes ``register(app)``.
    from bastion.cli import run as run_cli
    from bastion.cli import runs as runs_cli
    from bastion.cli import schema as schema_cli
    from bastion.cli import tools as tools_cli

    run_cli.register(app)
    runs_cli.register(app)
    schema_cli.register(app)
    tools_cli.register(app)


def run() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _register()
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
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
