"""``bastion gitops sync``: reconcile a local environment with its GitOps repository.

``bastion gitops sync --repo URL_OR_PATH --env ENV [--path envs/ENV/app.yaml]`` reads the
manifest at the branch head, refuses (exit 1) a commit not signed by an allowed signer
(``<home>/keys/gitops/allowed_signers`` unless ``--allowed-signers``), and deploys the
digest with the local target (verified again) only if what runs differs: a second sync is a
no-op. A rolled-back deploy exits 1; a repository that cannot be read exits 3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bastion.audit import AuditEvent
from bastion.cli.console import out_console
from bastion.cli.keys import HomeOption, JsonOption, default_home
from bastion.deploy import (
    EnvironmentConfig,
    GitOpsKey,
    LocalDeployer,
    default_manifest_path,
    sync,
)
from bastion.engine.audit_trail import record_actions, user_actor
from bastion.supplychain import LocalBlobStore, TrustedKeys

__all__ = ["register"]

gitops_app = typer.Typer(help="GitOps: reconcile environments from a signed repository.")


@gitops_app.command("sync")
def sync_command(
    repo: Annotated[str, typer.Option("--repo", help="GitOps repository (URL or path).")],
    environment: Annotated[str, typer.Option("--env", help="The environment.")],
    path: Annotated[str | None, typer.Option("--path", help="Manifest path.")] = None,
    branch: Annotated[str, typer.Option("--branch", help="Branch to follow.")] = "main",
    signers: Annotated[
        Path | None, typer.Option("--allowed-signers", help="ssh allowed-signers file.")
    ] = None,
    store: Annotated[Path | None, typer.Option("--store", help="Artifact store.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy what the signed head of the repository asks for, if it does not run already."""
    root = home or default_home()
    config = EnvironmentConfig.load(root, environment)

    def sink(event: AuditEvent) -> None:
        record_actions([event], home=root)

    blobs = LocalBlobStore(store or root / "artifacts")
    trusted = TrustedKeys(root).entries()
    deployer = LocalDeployer(root, config, blobs, trusted, sink, user_actor())
    allowed = signers or GitOpsKey.of(root).allowed_signers
    manifest = path or default_manifest_path(environment)
    result = sync(repo, branch, manifest, deployer, allowed, sink)
    data = result.to_dict()
    if as_json:
        out_console.print_json(json.dumps(data))
    else:
        line = f"{data['outcome']}: {result.manifest.digest} at {result.commit}"
        out_console.print(line, highlight=False, markup=False)
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``bastion gitops``."""
    app.add_typer(gitops_app, name="gitops")
