"""``bastion deploy``: verified deploys of the local target, their status, rollback, drift.

``bastion deploy DIGEST --env ENV --strategy canary|blue-green|direct [--steps 10,50,100]``
verifies the digest with the environment's rules (``<home>/deploy/ENV/environment.json``)
and refuses (exit 1) before anything changes if it does not verify; a rollout that rolls
back exits 1 too. ``bastion deploy status|rollback|drift --env ENV`` report and act.
``--target gitops --repo URL_OR_PATH [--path envs/ENV/app.yaml]`` verifies the same way, then
commits the manifest signed to the GitOps repository instead (``bastion gitops sync`` applies it).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bastion.audit import AuditEvent
from bastion.cli.console import err_console, out_console
from bastion.cli.keys import HomeOption, JsonOption, default_home
from bastion.deploy import (
    DEFAULT_STEPS,
    AuditSink,
    DriftReport,
    EnvironmentConfig,
    EnvironmentState,
    GitOpsTarget,
    LocalDeployer,
    StepResult,
    Strategy,
    check_drift,
    default_manifest_path,
    deploy_gitops,
    environment_dir,
    watch_drift,
)
from bastion.engine.audit_trail import record_actions, user_actor
from bastion.errors import UsageError
from bastion.supplychain import (
    ArtifactStoreError,
    Digest,
    LocalBlobStore,
    TrustedKeys,
    parse_digest,
)

__all__ = ["register"]


class Target(StrEnum):
    """Deploy targets this command drives."""

    LOCAL = "local"
    GITOPS = "gitops"


_ACTIONS = ("status", "rollback", "drift")


def _steps(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError as exc:
        raise UsageError(f"--steps {text!r} is not a comma-separated list of percents") from exc


def _digest(text: str) -> Digest:
    try:
        return parse_digest(text)
    except ArtifactStoreError as exc:
        raise UsageError(f"{text!r} is not a digest nor one of {_ACTIONS}") from exc


def _emit(data: dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        out_console.print_json(json.dumps(data))
    else:
        out_console.print(line, highlight=False, markup=False)


def _show_step(step: StepResult) -> None:
    err_console.print(
        f"  {step.percent:>3} %  {'ok' if step.ok else step.reason:<10} "
        f"{step.errors}/{step.responses} errors",
        highlight=False,
        markup=False,
    )


def _status(root: Path, environment: str, as_json: bool) -> None:
    state = EnvironmentState.load(environment_dir(root, environment))
    running = state.running()
    line = f"{environment}: {running.digest if running else 'nothing deployed'}"
    _emit(state.to_dict(), as_json, line)


def _drift(
    root: Path,
    config: EnvironmentConfig,
    sink: AuditSink,
    every: tuple[float, int],
    as_json: bool,
) -> None:
    def check() -> DriftReport:
        return check_drift(root, config, sink, user_actor())

    report = watch_drift(check, *every)
    lines = [f"{w}: expected {e}, found {f}" for w, e, f in report.differences]
    _emit(report.to_dict(), as_json, "\n".join(lines) or f"{config.name}: no drift")
    if report.drifted:
        raise typer.Exit(1)


def deploy_command(
    target: Annotated[str, typer.Argument(help="sha256:<hex> digest, or status|rollback|drift.")],
    environment: Annotated[str, typer.Option("--env", help="The environment.")],
    kind: Annotated[Target, typer.Option("--target", help="Deploy target.")] = Target.LOCAL,
    strategy: Annotated[Strategy, typer.Option("--strategy")] = Strategy.CANARY,
    steps: Annotated[str, typer.Option("--steps", help="Canary percents.")] = "10,50,100",
    interval: Annotated[float, typer.Option("--interval", help="drift: seconds apart.")] = 60.0,
    rounds: Annotated[int, typer.Option("--rounds", help="drift: checks at most.")] = 1,
    store: Annotated[Path | None, typer.Option("--store", help="Artifact store.")] = None,
    repo: Annotated[str | None, typer.Option("--repo", help="gitops: repository.")] = None,
    path: Annotated[str | None, typer.Option("--path", help="gitops: manifest path.")] = None,
    branch: Annotated[str, typer.Option("--branch", help="gitops: branch.")] = "main",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy a verified digest (exit 1 if refused or rolled back), or report/act on ENV."""
    root = home or default_home()
    config = EnvironmentConfig.load(root, environment)

    def sink(event: AuditEvent) -> None:
        record_actions([event], home=root)

    if target == "status":
        _status(root, environment, as_json)
        return
    if target == "drift":
        _drift(root, config, sink, (interval, rounds), as_json)
        return
    blobs = LocalBlobStore(store or root / "artifacts")
    trusted = TrustedKeys(root).entries()
    observer = None if as_json else _show_step
    deployer = LocalDeployer(root, config, blobs, trusted, sink, user_actor(), observer)
    plan = _steps(steps) if strategy is Strategy.CANARY else DEFAULT_STEPS
    if kind is Target.GITOPS:
        if repo is None:
            raise UsageError("--target gitops needs --repo URL_OR_PATH")
        where = GitOpsTarget(repo, branch, path or default_manifest_path(environment))
        digest = _digest(target)
        published = deploy_gitops(root, deployer, digest, (strategy, plan), where)
        _emit(published.to_dict(), as_json, f"published: {digest} in {published.commit}")
        return
    if target == "rollback":
        result = deployer.rollback()
    else:
        result = deployer.deploy(_digest(target), strategy, plan)
    _emit(result.to_dict(), as_json, f"{result.outcome}: {result.digest} ({result.reason})")
    if target != "rollback" and not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``bastion deploy``."""
    app.command("deploy")(deploy_command)
