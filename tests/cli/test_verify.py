"""``bastion verify``: the report, exit codes 0/1/2, ``--json``, ``--allow-local``."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli import verify as verify_cli
from bastion.supplychain import (
    BuildContext,
    GateResult,
    LocalBlobStore,
    attest_artifacts,
    load_local_signer,
)
from bastion.trust import Trust

BUILDER = "https://bastion.example/builder/v1"
REPO = "https://git.example/acme/app"
BASTION = str(Path(sys.executable).with_name("bastion"))


def _context(trust: Trust) -> BuildContext:
    return BuildContext(
        builder_id=BUILDER,
        build_type="https://bastion.example/build/v1",
        pipeline_path=".bastion/pipeline.yml",
        pipeline_sha256=hashlib.sha256(b"").hexdigest(),
        job="build",
        repository=REPO,
        commit="a" * 40,
        ref="refs/heads/main",
        trigger="push",
        trust=trust,
        started=datetime(2026, 11, 1, tzinfo=UTC),
        finished=datetime(2026, 11, 1, 0, 1, tzinfo=UTC),
        run_id="r1",
        gates=(GateResult("secrets", "pass", 0),),
    )


def _built(home: Path, trust: Trust = Trust.TRUSTED) -> tuple[Path, str]:
    artifact = home.parent / "app.bin"
    artifact.write_bytes(b"release bytes\n")
    signer = load_local_signer(home, create=True).signer
    [done] = attest_artifacts(
        LocalBlobStore(home / "artifacts"), [artifact], _context(trust), signer
    )
    return artifact, done.record.digest


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    verify_cli.register(application)

    @application.callback()
    def _root() -> None:
        """Keep 'verify' a sub-command."""

    return application


def _args(home: Path, *extra: str) -> list[str]:
    return ["--builder", BUILDER, "--repo", REPO, "--home", str(home), *extra]


def test_verified_artifact_exits_zero(app: typer.Typer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    artifact, digest = _built(home)
    result = CliRunner().invoke(app, ["verify", digest, *_args(home, "--ref", "refs/heads/main")])
    assert result.exit_code == 0, result.output
    assert "verified" in result.stderr
    assert "NOT" not in result.stderr
    by_file = CliRunner().invoke(app, ["verify", str(artifact), *_args(home, "--json")])
    report = json.loads(by_file.stdout)
    assert report["ok"] is True
    assert report["digest"] == digest
    assert {c["name"] for c in report["checks"]} >= {"signature", "subject", "policy"}


def test_local_build_needs_allow_local(app: typer.Typer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _, digest = _built(home, Trust.LOCAL)
    refused = CliRunner().invoke(app, ["verify", digest, *_args(home)])
    assert refused.exit_code == 1
    assert "FAIL" in refused.stderr
    assert "(policy-denied)" in refused.stderr
    allowed = CliRunner().invoke(app, ["verify", digest, *_args(home, "--allow-local")])
    assert allowed.exit_code == 0, allowed.output


def test_store_option_points_elsewhere(app: typer.Typer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _, digest = _built(home)
    result = CliRunner().invoke(
        app, ["verify", digest, *_args(home, "--store", str(tmp_path / "empty"))]
    )
    assert result.exit_code == 1
    assert "artifact-missing" in result.stderr


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BASTION_HOME": str(home)}
    return subprocess.run(
        [BASTION, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_exit_codes_through_the_real_entry_point(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _, digest = _built(home, Trust.UNTRUSTED)
    failed = _run("verify", digest, "--builder", BUILDER, "--repo", REPO, home=home)
    assert failed.returncode == 1, failed.stderr
    assert "unsigned" in failed.stderr
    usage = _run("verify", "not-a-digest", "--builder", BUILDER, "--repo", REPO, home=home)
    assert usage.returncode == 2
    assert "neither a file nor an artifact digest" in usage.stderr
