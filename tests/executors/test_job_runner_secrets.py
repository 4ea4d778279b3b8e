"""A job holding a secret that writes it into what Bastion keeps (real bubblewrap).

Artifacts and cache entries holding any form of a released secret are refused, and nothing
of them is kept; reports collected for gates and every reason are masked.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bastion.engine.run_masking import RunMasking
from bastion.executors import CacheSpec, JobEvent, JobOutcome, JobSpec, StepSpec, WorkspaceSource
from bastion.executors.job_runner import run_job
from bastion.executors.secret_guard import JobMasking
from bastion.sandbox import BubblewrapSandbox

pytestmark = pytest.mark.integration

SECRET = "Qm7vR2xLkP4wZ8tN-only-for-tests"
_MASKING = RunMasking.build({"DEPLOY_TOKEN": SECRET})


def _masking(_spec: JobSpec) -> JobMasking:
    return _MASKING


def _run(tmp_path: Path, script: str, **extra: object) -> JobOutcome:
    source = tmp_path / "project"
    source.mkdir(exist_ok=True)
    (tmp_path / "scratch").mkdir(exist_ok=True)
    spec = JobSpec(
        run_id=1,
        job="build",
        steps=(StepSpec("make", ("/bin/sh", "-c", script), timeout_seconds=60),),
        source=WorkspaceSource(str(source)),
        **extra,  # type: ignore[arg-type]
    )
    events: list[JobEvent] = []
    return run_job(
        spec,
        sandbox=BubblewrapSandbox(),
        workspace_parent=tmp_path / "scratch",
        on_event=events.append,
        cancelled=threading.Event(),
        secret_env={"DEPLOY_TOKEN": SECRET},
        output_filter=_masking,
    )


@pytest.mark.parametrize(
    ("command", "form"),
    [
        ('printf "token=%s\\n" "$DEPLOY_TOKEN"', "raw"),
        ('printf "%s" "$DEPLOY_TOKEN" | base64', "base64"),
        ('printf "%s" "$DEPLOY_TOKEN" | rev', "reversed"),
    ],
)
def test_an_artifact_holding_the_secret_fails_the_job_and_is_not_kept(
    tmp_path: Path, command: str, form: str
) -> None:
    staging = tmp_path / "staging"
    script = f"mkdir -p dist && echo fine > dist/a.txt && {{ {command}; }} > dist/x"
    outcome = _run(tmp_path, script, artifacts=("dist/*",), artifact_dir=str(staging))
    assert outcome.status == "failed"
    assert outcome.reason is not None
    assert outcome.reason.startswith(
        f"artifact dist/x contains the value of secret DEPLOY_TOKEN (as {form}); it was not stored"
    )
    assert outcome.artifacts == ()
    assert not (staging / "dist" / "x").exists()


def test_a_secret_in_an_artifact_name_is_refused_and_not_quoted(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    script = 'mkdir -p dist && echo hi > "dist/$DEPLOY_TOKEN.txt"'
    outcome = _run(tmp_path, script, artifacts=("dist/*",), artifact_dir=str(staging))
    assert outcome.status == "failed"
    assert SECRET not in (outcome.reason or "")
    assert "secret DEPLOY_TOKEN (as raw) in its path" in (outcome.reason or "")
    assert list(staging.rglob("*.txt")) == []


def test_an_artifact_without_the_secret_is_kept(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    outcome = _run(
        tmp_path,
        "mkdir dist && echo fine > dist/a.txt",
        artifacts=("dist/*",),
        artifact_dir=str(staging),
    )
    assert outcome.status == "passed"
    assert (staging / "dist" / "a.txt").read_text() == "fine\n"


def test_a_cache_entry_holding_the_secret_fails_the_job_and_is_not_saved(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    script = 'mkdir -p .cache/deep && printf "%s" "$DEPLOY_TOKEN" | base64 > .cache/deep/cred'
    outcome = _run(
        tmp_path,
        script,
        cache=(CacheSpec(key=("deps-1",), paths=(".cache",)),),
        cache_dir=str(cache),
    )
    assert outcome.status == "failed"
    assert outcome.reason is not None
    assert outcome.reason.startswith(
        "cache entry deps-1 (.cache) contains the value of secret DEPLOY_TOKEN (as base64); "
        "it was not saved"
    )
    assert not (cache / "keys" / "deps-1").exists()
    assert [p.name for p in (cache / "objects").iterdir()] == []


def test_a_report_collected_for_a_gate_is_masked(tmp_path: Path) -> None:
    script = 'printf \'{"message": "found %s"}\' "$DEPLOY_TOKEN" > report.sarif'
    outcome = _run(tmp_path, script, collect=("report.sarif",))
    assert outcome.status == "passed"
    assert outcome.collected == {"report.sarif": b'{"message": "found ***"}'}
