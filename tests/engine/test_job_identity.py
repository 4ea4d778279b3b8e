"""Job identity tokens handed to ``id-token:`` jobs (issue 14): who gets one, where it goes,
how it is masked and audited (no sandbox needed)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from bastion.audit import AuditEvent
from bastion.engine.job_identity import ID_TOKEN_FILE, TokenSource
from bastion.engine.job_resources import JobResources, prepare_job_resources
from bastion.errors import PipelineError
from bastion.executors import JobSpec, WorkspaceSource
from bastion.pipeline import parse_pipeline, plan_pipeline
from bastion.trust import RunContext, Trust
from bastion.vault import IdentityIssuer

ISSUER = "https://ci.example"
JOBS = """\
jobs:
  build:
    steps: [{run: make}]
  deploy:
    environment: prod
    id-token: {audience: sts.amazonaws.com}
    steps: [{run: ./deploy}]
"""


def _context(trust: Trust, commit: str | None = "c" * 40) -> RunContext:
    return RunContext("acme/api", commit, "refs/heads/main", "push", trust)


def _prepare(
    tmp_path: Path, trust: Trust, source: TokenSource | None, events: list[AuditEvent]
) -> JobResources:
    loaded = parse_pipeline(JOBS, source="pipeline.yml")
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)

    def record(batch: Sequence[AuditEvent]) -> None:
        events.extend(batch)

    return prepare_job_resources(
        plan=plan_pipeline(loaded.pipeline, source=loaded.source),
        context=_context(trust, None if trust is Trust.DIRTY else "c" * 40),
        run_id=7,
        pipeline_source=loaded.source,
        home=tmp_path / "home",
        scratch=scratch,
        log_dir=tmp_path / "logs",
        record=record,
        locate=loaded.locate,
        identity=source,
    )


def _held_files(resources: JobResources) -> dict[str, bytes]:
    """The deploy job's files once its environment's approval hands them over (its token is
    minted then: tests/engine/test_held_id_token.py)."""
    assert ID_TOKEN_FILE not in resources.held_for.get("deploy", ({}, {}))[1]
    resources.hand_over("deploy")
    return resources.files_for["deploy"]


def _public(issuer: IdentityIssuer) -> ec.EllipticCurvePublicKey:
    key = jwt.PyJWK(issuer.jwks()["keys"][0]).key
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


@pytest.mark.parametrize("trust", [Trust.TRUSTED, Trust.RELEASE])
def test_a_trusted_job_gets_a_verifiable_token_in_its_tmpfs(tmp_path: Path, trust: Trust) -> None:
    issuer, events = IdentityIssuer(ISSUER), list[AuditEvent]()
    resources = _prepare(tmp_path, trust, issuer, events)
    token = _held_files(resources)[ID_TOKEN_FILE].decode()
    assert "build" not in resources.files_for  # only the job that asked
    assert "deploy" not in resources.env_for  # a file, never an environment variable
    events = [e for e in events if e.action != "secret.handed_over"]
    claims = jwt.decode(
        token, _public(issuer), algorithms=["ES256"], audience="sts.amazonaws.com", issuer=ISSUER
    )
    assert claims["sub"] == "repo:acme/api:ref:refs/heads/main:environment:prod"
    assert (claims["job"], claims["run_id"], claims["trust"]) == ("deploy", 7, trust.value)
    [event] = events
    assert event.action == "identity.issued"
    assert event.subject == "job/deploy"
    assert event.details["jti"] == claims["jti"]
    assert event.details["sub"] == claims["sub"]
    assert token not in json.dumps(dict(event.details))
    assert token.rsplit(".", 1)[1] not in json.dumps(dict(event.details))


def test_the_token_is_masked_in_logs(tmp_path: Path) -> None:
    resources = _prepare(tmp_path, Trust.TRUSTED, IdentityIssuer(ISSUER), [])
    token = _held_files(resources)[ID_TOKEN_FILE].decode()
    spec = JobSpec(run_id=7, job="deploy", steps=(), source=WorkspaceSource(path="."))
    masking = resources.output_filter(spec)
    assert token not in masking.text(f"cat /run/bastion/id-token: {token}")
    signature = token.rsplit(".", 1)[1]
    assert signature not in masking.text(f"sig={signature}")
    encoded = base64.b64encode(token.encode()).decode()
    assert encoded not in masking.text(encoded)


@pytest.mark.parametrize("trust", [Trust.INTERNAL, Trust.DIRTY, Trust.LOCAL])
def test_lower_trust_runs_stop_before_any_token(tmp_path: Path, trust: Trust) -> None:
    issuer, events = IdentityIssuer(ISSUER), list[AuditEvent]()
    with pytest.raises(PipelineError, match=f"a {trust.value} run gets no identity token") as exc:
        _prepare(tmp_path, trust, issuer, events)
    assert (exc.value.path, exc.value.line) == ("pipeline.yml", 6)
    assert events == []


def test_an_untrusted_run_refuses_the_job_alone_and_mints_nothing(tmp_path: Path) -> None:
    events = list[AuditEvent]()
    resources = _prepare(tmp_path, Trust.UNTRUSTED, IdentityIssuer(ISSUER), events)
    assert list(resources.withheld) == ["deploy"]  # the scheduler blocks it; build still runs
    assert (events, resources.files_for, resources.held_for) == ([], {}, {})


def test_a_local_run_without_an_issuer_stops_naming_why(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="no identity issuer") as exc:
        _prepare(tmp_path, Trust.TRUSTED, None, [])
    assert "jobs.deploy.id-token" in exc.value.message
    assert exc.value.hint is not None
    assert "server" in exc.value.hint


def test_an_issuer_widened_to_internal_issues_for_internal(tmp_path: Path) -> None:
    issuer = IdentityIssuer(ISSUER, issuing=frozenset({Trust.TRUSTED, Trust.INTERNAL}))
    resources = _prepare(tmp_path, Trust.INTERNAL, issuer, [])
    assert ID_TOKEN_FILE in _held_files(resources)
    with pytest.raises(PipelineError):
        _prepare(tmp_path, Trust.RELEASE, issuer, [])  # the setting is the set, not a floor


def test_an_audit_failure_hands_no_token(tmp_path: Path) -> None:
    loaded = parse_pipeline(JOBS, source="pipeline.yml")

    def broken(_batch: Sequence[AuditEvent]) -> None:
        raise OSError("disk full")

    resources = prepare_job_resources(
        plan=plan_pipeline(loaded.pipeline, source=loaded.source),
        context=_context(Trust.TRUSTED),
        run_id=7,
        pipeline_source=loaded.source,
        home=tmp_path,
        scratch=tmp_path,
        log_dir=tmp_path / "logs",
        record=broken,
        identity=IdentityIssuer(ISSUER),
    )
    with pytest.raises(OSError, match="disk full"):
        resources.hand_over("deploy")  # the held job's token is minted, and audited, now
    assert "deploy" not in resources.files_for
    assert ID_TOKEN_FILE not in resources.held_for.get("deploy", ({}, {}))[1]


def test_an_unheld_jobs_token_is_minted_at_run_start_and_audited_first(tmp_path: Path) -> None:
    loaded = parse_pipeline(JOBS.replace("    environment: prod\n", ""), source="pipeline.yml")

    def broken(_batch: Sequence[AuditEvent]) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        prepare_job_resources(
            plan=plan_pipeline(loaded.pipeline, source=loaded.source),
            context=_context(Trust.TRUSTED),
            run_id=7,
            pipeline_source=loaded.source,
            home=tmp_path,
            scratch=tmp_path,
            log_dir=tmp_path / "logs",
            record=broken,
            identity=IdentityIssuer(ISSUER),
        )
