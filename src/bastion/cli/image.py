"""``bastion image push LAYOUT REGISTRY/REPO:TAG``: the image gate, then a signed push.

Exit codes as ``bastion scan``: 0 pushed, 1 blocked by the policy (nothing pushed), 2 usage
or policy-file error, 3 Bastion could not operate (the registry refused or failed: the
registry's message is shown, and the tag was not moved).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bastion.cli.console import err_console
from bastion.cli.scan import render_decision, render_table
from bastion.engine import ImagePush, PushResult, push_image
from bastion.home import bastion_home
from bastion.oci import Reference
from bastion.sandbox import BubblewrapSandbox, Limits, Sandbox, UnsafeHostRunner

__all__ = ["image_push_command", "register"]


def _sandbox(unsafe: bool) -> Sandbox:
    return UnsafeHostRunner() if unsafe else BubblewrapSandbox()


def _report(result: PushResult) -> dict[str, object]:
    return {
        "pushed": result.pushed,
        "digest": result.digest,
        "tags": list(result.tags),
        "bundle": result.attested.bundle if result.attested else None,
        "signed": result.attested.signed if result.attested else False,
        "decision": result.decision.to_dict(),
    }


def image_push_command(
    image: Annotated[Path, typer.Argument(help="OCI image layout directory or OCI archive.")],
    reference: Annotated[str, typer.Argument(help="REGISTRY/REPOSITORY:TAG to push to.")],
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy folder.")] = None,
    suppressions: Annotated[
        Path | None, typer.Option("--suppressions", help="Suppressions file.")
    ] = None,
    plain_http: Annotated[
        bool, typer.Option("--plain-http", help="Talk HTTP, not HTTPS (a local test registry).")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="Gate seconds.")] = 1800.0,
    unsafe_no_sandbox: Annotated[
        bool, typer.Option("--unsafe-no-sandbox", help="Run the gate WITHOUT isolation.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Report as JSON on stdout.")] = False,
) -> None:
    """Judge IMAGE with the image gate under policy; push it, signed, only if it passes."""
    request = ImagePush(
        image=image,
        reference=Reference.parse(reference),
        home=bastion_home(),
        policy_dir=policy,
        suppressions_file=suppressions,
        plain_http=plain_http,
        limits=Limits(timeout_seconds=timeout),
        say=lambda line: err_console.print(line, markup=False, highlight=False),
    )
    result = push_image(request, _sandbox(unsafe_no_sandbox))
    if as_json:
        typer.echo(json.dumps(_report(result), indent=2))
    else:
        render_table(err_console, result.decision)
        render_decision(err_console, result.decision)
        if result.pushed:
            typer.echo(f"{request.reference}@{result.digest}")
            err_console.print(f"pushed with {', '.join(result.tags[:2])}", highlight=False)
        else:
            err_console.print("not pushed: the policy blocked the image", highlight=False)
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    """Add the ``image`` command group."""
    group = typer.Typer(help="Container images: judge, sign and push.", no_args_is_help=True)
    group.command("push")(image_push_command)
    app.add_typer(group, name="image")
