"""Secrets, masking and egress proxies prepared for a run's jobs (no sandbox needed)."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bastion.audit import AuditEvent
from bastion.engine.job_resources import (
    AuditRecord,
    JobResources,
    Locator,
    prepare_job_resources,
)
from bastion.engine.model import RunContext, Trust
from bastion.errors import PipelineError, StoreError, VaultError
from bastion.executors import JobSpec, WorkspaceSource
from bastion.pipeline import parse_pipeline, plan_pipeline
from bastion.vault import Scope, open_default_vault

_VALUE = "sk_live_9fQ2xLr7Tz4WmNb8"
_CONTEXT = RunContext(
    repo="acme/api", commit="c0ffee", ref="refs/heads/main", event="local", trust=Trust.LOCAL
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A vault holding TOKEN (local runs of main) and OTHER (release branches only)."""
    monkeypatch.setenv("BASTION_VAULT_KEK", base64.b64encode(os.urandom(32)).decode())
    path = tmp_path / "home"
    vault = open_default_vault(path, os.environ)
    vault.set("TOKEN", _VALUE, Scope.build(branches=["main"], trust=["local"]))
    vault.set("OTHER", "rk_Zp4mQ8vN2xT7wL9c", Scope.build(branches=["release/*"], trust=["local"]))
    return path


def _prepare(
    tmp_path: Path,
    home: Path,
    jobs: str,
    *,
    learn: bool = False,
    locate: Locator | None = None,
    record: AuditRecord | None = None,
) -> JobResources:
    loaded = parse_pipeline(f"jobs:\n{jobs}", source="pipeline.yml")
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return prepare_job_resources(
        plan=plan_pipeline(loaded.pipeline, source=loaded.source),
        context=_CONTEXT,
        run_id=7,
        pipeline_source=loaded.source,
        home=home,
        scratch=scratch,
        log_dir=tmp_path / "logs" / "7",
        record=record or (lambda _events: None),
        learn_egress=learn,
        locate=locate,
    )


def _spec(job: str) -> JobSpec:
    return JobSpec(run_id=7, job=job, steps=(), source=WorkspaceSource(path="."))


def test_secrets_reach_only_their_job_and_are_audited(tmp_path: Path, home: Path) -> None:
    jobs = (
        "  deploy:\n    secrets: [TOKEN]\n    steps: [{run: 'true'}]\n"
        "  lint:\n    steps: [{run: 'true'}]\n"
    )
    audited: list[AuditEvent] = []
    resources = _prepare(tmp_path, home, jobs, record=audited.extend)
    assert resources.env_for == {"deploy": {"TOKEN": _VALUE}}
    assert resources.files_for == {"deploy": {"TOKEN": _VALUE.encode()}}
    assert [(e.action, e.subject, e.details) for e in audited] == [
        ("secret.released", "secret/TOKEN", {"job": "deploy", "run": "7"})
    ]
    resources.close()


def test_a_release_that_cannot_be_audited_hands_out_nothing(tmp_path: Path, home: Path) -> None:
    def refuse(_events: Sequence[AuditEvent]) -> None:
        raise StoreError("cannot write the audit log in sqlite:///x: disk full")

    jobs = "  deploy:\n    secrets: [TOKEN]\n    steps: [{run: 'true'}]\n"
    with pytest.raises(StoreError, match="disk full"):
        _prepare(tmp_path, home, jobs, record=refuse)


def test_the_output_filter_masks_across_chunks_in_every_job(tmp_path: Path, home: Path) -> None:
    resources = _prepare(tmp_path, home, "  deploy:\n    secrets: [TOKEN]\n    steps: [{run: x}]\n")
    masked = resources.output_filter(_spec("another-job")).stream()
    half = len(_VALUE) // 2
    out = masked(f"token={_VALUE[:half]}".encode()) + masked(f"{_VALUE[half:]}\n".encode())
    out += masked(base64.b64encode(_VALUE.encode()) + b"\n") + masked(None)
    assert out == b"token=***\n***\n"


def test_without_secrets_output_passes_unchanged(tmp_path: Path, home: Path) -> None:
    resources = _prepare(tmp_path, home, "  lint:\n    steps: [{run: x}]\n")
    masked = resources.output_filter(_spec("lint")).stream()
    assert masked(b"plain output") == b"plain output"
    assert masked(None) == b""


def test_an_out_of_scope_secret_stops_everything(tmp_path: Path, home: Path) -> None:
    jobs = (
        "  fetch:\n    network: [pypi.org]\n    steps: [{run: x}]\n"
        "  ship:\n    secrets: [OTHER]\n    steps: [{run: x}]\n"
    )
    with pytest.raises(VaultError) as raised:
        _prepare(tmp_path, home, jobs)
    assert "secret OTHER is not released to job ship" in raised.value.message
    assert "branch 'main' does not match ['release/*']" in raised.value.message
    assert list((tmp_path / "scratch").iterdir()) == []  # no proxy was left listening


def test_an_allow_listed_job_gets_a_proxy_that_close_stops(tmp_path: Path, home: Path) -> None:
    jobs = (
        "  fetch:\n    network: [pypi.org, '10.1.2.3:8080']\n    steps: [{run: x}]\n"
        "  offline:\n    steps: [{run: x}]\n"
        "  open:\n    network: host\n    steps: [{run: x}]\n"
    )
    resources = _prepare(tmp_path, home, jobs)
    socket_path = Path(resources.proxy_sockets["fetch"])
    assert set(resources.proxy_sockets) == {"fetch"}
    assert socket_path.is_socket()
    resources.close()
    resources.close()  # idempotent
    assert not socket_path.exists()


def test_learn_mode_proxies_every_job_but_host(tmp_path: Path, home: Path) -> None:
    jobs = "  offline:\n    steps: [{run: x}]\n  open:\n    network: host\n    steps: [{run: x}]\n"
    resources = _prepare(tmp_path, home, jobs, learn=True)
    assert resources.learner is not None
    assert set(resources.proxy_sockets) == {"offline"}
    resources.close()


def test_a_bad_allow_list_entry_names_the_job_and_entry(tmp_path: Path, home: Path) -> None:
    with pytest.raises(PipelineError) as raised:
        _prepare(tmp_path, home, "  fetch:\n    network: ['*.com']\n    steps: [{run: x}]\n")
    error = raised.value
    assert error.path == "pipeline.yml"
    assert "jobs.fetch.network: network entry 1 '*.com'" in error.message
    assert "two labels" in error.message
    assert error.hint is not None


def test_a_bad_allow_list_entry_is_located_when_positions_are_known(
    tmp_path: Path, home: Path
) -> None:
    asked: list[tuple[str | int, ...]] = []

    def locate(path: tuple[str | int, ...]) -> tuple[int, int] | None:
        asked.append(path)
        return (4, 22)

    jobs = "  fetch:\n    network: [pypi.org, 'pypi.org:99999']\n    steps: [{run: x}]\n"
    with pytest.raises(PipelineError) as raised:
        _prepare(tmp_path, home, jobs, locate=locate)
    assert asked == [("jobs", "fetch", "network", 1)]
    assert raised.value.location() == "pipeline.yml:4:22"


def test_a_job_name_of_the_maximum_length_gets_its_proxy(tmp_path: Path, home: Path) -> None:
    # A Unix socket path holds at most 107 bytes: the job's name (up to 64 characters) must
    # not be part of it, or a valid pipeline cannot run.
    name = "j" * 64
    resources = _prepare(
        tmp_path, home, f"  {name}:\n    network: [pypi.org]\n    steps: [{{run: x}}]\n"
    )
    try:
        assert Path(resources.proxy_sockets[name]).is_socket()
    finally:
        resources.close()


def test_a_secret_in_a_requested_host_name_is_masked_in_the_egress_log(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bastion.engine.job_resources import _egress_writer
    from bastion.engine.run_masking import RunMasking
    from bastion.sandbox.egress import EgressRecord

    path = tmp_path / "job.egress.jsonl"
    write = _egress_writer(path, RunMasking.build({"TOKEN": _VALUE}, lowercase=True))
    write(
        EgressRecord(
            job="deploy",
            host=f"{_VALUE.lower()}.exfil.example",
            port=443,
            method="CONNECT",
            bytes_up=0,
            bytes_down=0,
            allowed=False,
            reason="not in the allow-list",
            started=datetime.now(UTC),
            duration=0.0,
        )
    )
    write(
        EgressRecord(
            job="deploy",
            host=f"{_VALUE}.exfil.example",
            port=443,
            method="CONNECT",
            bytes_up=0,
            bytes_down=0,
            allowed=False,
            reason="not in the allow-list",
            started=datetime.now(UTC),
            duration=0.0,
        )
    )
    # DNS exfiltration: the job base32-encodes the value, the proxy logs it lower-cased.
    encoded = base64.b32encode(_VALUE.encode()).decode().rstrip("=").lower()
    write(
        EgressRecord(
            job="deploy",
            host=f"{encoded}.exfil.example",
            port=443,
            method="CONNECT",
            bytes_up=0,
            bytes_down=0,
            allowed=False,
            reason="not in the allow-list",
            started=datetime.now(UTC),
            duration=0.0,
        )
    )
    text = path.read_text()
    assert _VALUE not in text
    assert _VALUE.lower() not in text
    assert encoded not in text
    assert text.count('"host": "***') == 3  # base32 may keep its last, partial character


def test_the_masking_is_compiled_once_per_run_and_shared_by_every_job_and_step(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bastion.engine import run_masking
    from bastion.vault import MaskingPatterns

    built: list[MaskingPatterns] = []

    class Counted(MaskingPatterns):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(run_masking, "MaskingPatterns", Counted)
    jobs = (
        "  deploy:\n    secrets: [TOKEN]\n    network: [pypi.org]\n    steps: [{run: x}]\n"
        "  lint:\n    steps: [{run: x}]\n"
    )
    resources = _prepare(tmp_path, home, jobs)
    try:
        for job in ("deploy", "lint", "deploy"):
            masking = resources.output_filter(_spec(job))
            for _step in range(5):
                stream = masking.stream()
                assert stream(_VALUE.encode()) + stream(None) == b"***"
            assert masking.text(f"failed near {_VALUE}") == "failed near ***"
            assert masking.scan().feed(_VALUE[::-1].encode()) == "secret TOKEN (as reversed)"
        assert len(built) == 1
    finally:
        resources.close()


def test_operator_addresses_join_allow_lists_only(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bastion.engine.job_resources import _operator_addresses
    from bastion.errors import UsageError

    monkeypatch.setenv("BASTION_EGRESS_TRUSTED_ADDRESSES", "203.0.113.80, 10.1.0.0/16")
    assert _operator_addresses() == ["203.0.113.80", "10.1.0.0/16"]
    jobs = "  fetch:\n    network: [pypi.org]\n    steps: [{run: 'true'}]\n"
    jobs += "  offline:\n    steps: [{run: 'true'}]\n"
    resources = _prepare(tmp_path, home, jobs)
    assert list(resources.proxy_sockets) == ["fetch"]  # `network: none` stays without network
    resources.close()
    monkeypatch.setenv("BASTION_EGRESS_TRUSTED_ADDRESSES", "pypi.org")
    with pytest.raises(UsageError, match="not an IP address or range"):
        _operator_addresses()
    monkeypatch.delenv("BASTION_EGRESS_TRUSTED_ADDRESSES")
    assert _operator_addresses() == []
