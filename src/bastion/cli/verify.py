"""``bastion verify DIGEST|FILE``: check signature, provenance, SBOM and policy; exit 0 or 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from bastion.audit import Action, AuditEvent, Outcome
from bastion.cli.console import err_console, out_console
from bastion.cli.keys import HomeOption, JsonOption, default_home
from bastion.engine.audit_trail import record_actions, user_actor
from bastion.supplychain import (
    ArtifactVerificationReport,
    Expectations,
    LocalBlobStore,
    TrustedKeys,
    verify_artifact,
)

__all__ = ["register", "render_report"]


def render_report(report: ArtifactVerificationReport) -> None:
    """Each check on its own line, then the verdict (to stderr)."""
    for check in report.checks:
        line = Text("ok   " if check.ok else "FAIL ", style="green" if check.ok else "red")
        line.append(f"{check.name:<15}{check.detail}")
        if not check.ok:
            line.append(f" ({check.reason})", style="bold")
        err_console.print(line, highlight=False)
    verdict = Text("verified " if report.ok else "NOT verified ", style="bold")
    verdict.append(report.digest or report.target)
    if report.bundle:
        verdict.append(f" (attestations {report.bundle}, {report.bundles_checked} build(s) seen)")
    err_console.print(verdict, highlight=False)


def verify_command(
    target: Annotated[str, typer.Argument(help="An artifact file or its sha256:<hex> digest.")],
    builder: Annotated[str, typer.Option("--builder", help="Expected builder id.")],
    repo: Annotated[str, typer.Option("--repo", help="Expected source repository URL/path.")],
    ref: Annotated[
        str | None, typer.Option("--ref", help="Expected git ref (default: any).")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="A Rego policy (package bastion.verify).")
    ] = None,
    allow_local: Annotated[
        bool, typer.Option("--allow-local", help="Accept builds of trust 'local'.")
    ] = False,
    store: Annotated[
        Path | None, typer.Option("--store", help="Artifact store (default <home>/artifacts).")
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Verify an artifact before it goes anywhere; exit 0 only if every check passes."""
    root = home or default_home()
    report = verify_artifact(
        LocalBlobStore(store or root / "artifacts"),
        target,
        TrustedKeys(root).entries(),
        Expectations(builder_id=builder, repository=repo, ref=ref, allow_local=allow_local),
        policy,
    )
    failed = [c for c in report.checks if not c.ok]
    event = AuditEvent(
        user_actor(),
        Action.VERIFY_PERFORMED.value,
        target if target.startswith("sha256:") else f"file/{Path(target).name}",
        Outcome.SUCCESS if report.ok else Outcome.DENIED,
        details={
            "builder": builder,
            "repo": repo,
            "ref": ref,
            "failed": [{"check": c.name, "reason": c.reason} for c in failed],
        },
    )
    record_actions([event], home=root)
    if as_json:
        out_console.print_json(json.dumps(report.to_dict()))
    render_report(report)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``bastion verify`` to the app."""
    app.command("verify")(verify_command)
