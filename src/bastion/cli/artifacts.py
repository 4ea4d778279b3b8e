"""``bastion artifacts``: names, promotions and what the store holds, always by digest.

A name is only a pointer to a digest; ``promote`` records that an environment received a
digest, and only after ``bastion verify``'s checks all pass for it (fail closed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.audit import AuditEvent, Outcome
from bastion.cli.console import err_console, out_console
from bastion.cli.keys import HomeOption, JsonOption, default_home
from bastion.cli.verify import render_report
from bastion.engine.audit_trail import record_actions, user_actor
from bastion.errors import UsageError
from bastion.supplychain import (
    ArtifactStoreError,
    Digest,
    Expectations,
    LocalBlobStore,
    TrustedKeys,
    parse_digest,
    verify_artifact,
)

__all__ = ["register"]

artifacts_app = typer.Typer(help="Stored artifacts: names, promotions.", no_args_is_help=True)
StoreOption = Annotated[
    Path | None, typer.Option("--store", help="Artifact store (default <home>/artifacts).")
]


def _store(store: Path | None, home: Path) -> LocalBlobStore:
    return LocalBlobStore(store or home / "artifacts")


def _digest(store: LocalBlobStore, target: str) -> Digest:
    try:
        digest = parse_digest(target) if target.startswith("sha256:") else store.resolve_ref(target)
        store.record(digest)
    except (ArtifactStoreError, ValueError) as exc:
        raise UsageError(
            f"no stored artifact {target!r}: {exc}", hint="give a sha256:<hex> digest or a name"
        ) from exc
    return digest


@artifacts_app.command("show")
def show_command(
    target: Annotated[str, typer.Argument(help="sha256:<hex> digest or a name.")],
    store: StoreOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """An artifact's record and its attestation bundles (one per build of these bytes)."""
    blobs = _store(store, home or default_home())
    digest = _digest(blobs, target)
    record = blobs.record(digest)
    data = {
        "digest": digest,
        "name": record.name,
        "size": record.size,
        "media_type": record.media_type,
        "bundles": blobs.bundles(digest),
    }
    if as_json:
        out_console.print_json(json.dumps(data))
        return
    for key, value in data.items():
        out_console.print(f"{key:<11}{value}", highlight=False, markup=False)


@artifacts_app.command("tag")
def tag_command(
    name: Annotated[str, typer.Argument(help="The name to point.")],
    target: Annotated[str, typer.Argument(help="sha256:<hex> digest.")],
    store: StoreOption = None,
    home: HomeOption = None,
) -> None:
    """Point a name at a digest (the name is only a pointer)."""
    blobs = _store(store, home or default_home())
    digest = _digest(blobs, target)
    blobs.set_ref(name, digest)
    err_console.print(f"{name} -> {digest}", highlight=False)


@artifacts_app.command("promote")
def promote_command(
    target: Annotated[str, typer.Argument(help="sha256:<hex> digest or a name.")],
    environment: Annotated[str, typer.Option("--env", help="The environment it goes to.")],
    builder: Annotated[str, typer.Option("--builder", help="Expected builder id.")],
    repo: Annotated[str, typer.Option("--repo", help="Expected source repository.")],
    ref: Annotated[str | None, typer.Option("--ref", help="Expected git ref.")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="A Rego policy.")] = None,
    allow_local: Annotated[bool, typer.Option("--allow-local")] = False,
    store: StoreOption = None,
    home: HomeOption = None,
) -> None:
    """Verify the artifact, then record that ``--env`` received its digest; exit 1 if not."""
    root = home or default_home()
    blobs = _store(store, root)
    digest = _digest(blobs, target)
    report = verify_artifact(
        blobs,
        digest,
        TrustedKeys(root).entries(),
        Expectations(builder_id=builder, repository=repo, ref=ref, allow_local=allow_local),
        policy,
    )
    render_report(report)
    details = {"environment": environment, "verified": report.ok}
    if not report.ok:
        record_actions(
            [AuditEvent(user_actor(), "artifact.promoted", digest, Outcome.DENIED, details)],
            home=root,
        )
        err_console.print(f"not promoted: {digest} did not verify", highlight=False)
        raise typer.Exit(1)
    promotion = blobs.promote(environment, digest)
    record_actions(
        [AuditEvent(user_actor(), "artifact.promoted", digest, Outcome.SUCCESS, details)],
        home=root,
    )
    err_console.print(
        f"promoted {digest} to {environment} at {promotion.time.isoformat()}", highlight=False
    )


@artifacts_app.command("history")
def history_command(
    environment: Annotated[str, typer.Argument(help="An environment.")],
    store: StoreOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every digest the environment received, oldest first."""
    promotions = _store(store, home or default_home()).promotions(environment)
    rows = [{"digest": p.digest, "time": p.time.isoformat()} for p in promotions]
    if as_json:
        out_console.print_json(json.dumps(rows))
        return
    table = Table(show_edge=False)
    table.add_column("time")
    table.add_column("digest")
    for row in rows:
        table.add_row(row["time"], row["digest"])
    out_console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``bastion artifacts``."""
    app.add_typer(artifacts_app, name="artifacts")
