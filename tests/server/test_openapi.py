"""The API against its own OpenAPI document (issue 13): schemathesis sends generated requests,
valid and invalid, to every operation of ``/api/openapi.json`` over ASGI in-process, as an
admin with an API token, on a seeded server; no answer may be a 5xx, and every answer must be
documented (status, content type, body schema)."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bastion.server import (
    Accounts,
    Grant,
    Permission,
    Role,
    ServerServices,
    ServerSettings,
    create_app,
)
from bastion.server.context import ServerContext
from bastion.server.openapi import build_api_document
from bastion.server.principal import TokenScope
from bastion.store import Database, JobRecord, RunRecord, StepRecord, open_database, sqlite_url
from tests.server.conftest import PASSWORD, Clock, ListSink
from tests.server.fake_launcher import QueueingLauncher
from tests.server.resource_server import add_gate_run, make_resources

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # as conftest: Starlette's nudge towards httpx2
    from starlette.testclient import TestClient

EXAMPLES = 30  # per operation and mode: ~35 operations x 2 modes (+ seeded paths), < 1 minute
# Path parameters naming what the seed made: run 1 with job "build", the viewer "target",
# the decoy token 1, audit event 0.
KNOWN = {"run_id": 1, "job": "build", "name": "target", "token_id": 1, "seq": 0}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _seed_run(db: Database, log: Path) -> None:
    log.write_text("compiling\nlinking\n")
    with db.session() as session:
        run = RunRecord(
            repo="app",
            commit="b" * 40,
            ref="refs/heads/main",
            event="push",
            trust="trusted",
            pipeline_path=".bastion/pipeline.yml",
            pipeline_digest="sha256:" + "1" * 64,
            status="passed",
        )
        job = JobRecord(name="build", kind="build", status="passed", log_path=str(log))
        job.steps.append(StepRecord(index=0, name="make", status="passed", exit_code=0))
        run.jobs.append(job)
        session.add(run)


@dataclass
class Admin:
    """An admin's API token, issued again if a generated request revoked it."""

    ctx: ServerContext
    user_id: int
    value: str = ""

    def headers(self) -> dict[str, str]:
        if not self.value or self.ctx.tokens.authenticate(self.value) is None:
            scope = TokenScope(frozenset({"*"}), frozenset(Permission))
            _info, self.value = self.ctx.tokens.create(self.user_id, "schemathesis", scope, 1)
        return {"Authorization": f"Bearer {self.value}"}


@dataclass
class Seeded:
    client: TestClient
    admin: Admin


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A server with every store, a registered repository, runs with a log and a finding."""
    root = tmp_path_factory.mktemp("openapi")
    db = open_database(sqlite_url(root / "server.db"))
    clock = Clock()
    settings_ = ServerSettings("127.0.0.1", 8080, "unused")
    services = ServerServices(
        db,
        ListSink(),
        clock,
        resources=make_resources(db, root / "home"),
        launcher=QueueingLauncher(db),
    )
    app = create_app(settings_, services)
    ctx: ServerContext = app.state.bastion
    repo = root / "app"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    ctx.repositories.register("app", str(repo), added_by="setup")
    _seed_run(db, root / "build.log")
    add_gate_run(db, "app")
    accounts = Accounts(db, settings_, clock)
    user, setup = accounts.add("admin", Role.ADMIN)
    accounts.complete_setup(setup, PASSWORD)
    accounts.grant("admin", Grant(Role.SECURITY))  # triage too
    accounts.add("target", Role.VIEWER)  # the account the generated requests act on
    decoy = TokenScope(frozenset({"app"}), frozenset({Permission.RUNS_READ}))
    ctx.tokens.create(user.id, "decoy", decoy, 1)  # token 1, for the routes that revoke one
    client = TestClient(app, base_url="http://testserver")
    try:
        yield Seeded(client, Admin(ctx, user.id))
    finally:
        client.close()
        db.dispose()


@pytest.fixture(scope="module")
def api_schema(seeded: Seeded) -> Any:
    """The document as the server serves it, bound to the app."""
    return schemathesis.openapi.from_asgi(
        "/api/openapi.json", seeded.client.app, headers=seeded.admin.headers()
    )


def test_the_document_is_openapi_3_1_of_the_api_only(seeded: Seeded) -> None:
    response = seeded.client.get("/api/openapi.json", headers=seeded.admin.headers())
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert all(path.startswith("/api/") for path in document["paths"])
    assert "/api/openapi.json" in document["paths"]
    health = document["paths"]["/api/health"]["get"]
    assert "security" not in health
    assert "401" not in health["responses"]


def test_every_error_is_documented_as_problem_json(seeded: Seeded) -> None:
    document = build_api_document(seeded.client.app.openapi())  # type: ignore[attr-defined]
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], status
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_document_needs_a_signed_in_caller(seeded: Seeded) -> None:
    response = seeded.client.get("/api/openapi.json")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def _failures(
    operation: Any, mode: GenerationMode, admin: Admin, known: dict[str, Any] | None = None
) -> list[str]:
    """What schemathesis finds on one operation in one mode (valid or invalid input), with
    generated path parameters or ``known`` ones (objects the seed made)."""

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=known))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # report, do not spend minutes shrinking
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=admin.headers(), checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # an operation without input has none invalid
    except FailureGroup as group:
        return [
            f"{operation.label} ({mode.value}): {f.title}: {f.message}" for f in group.exceptions
        ]
    return []


def _known_paths(operation: Any) -> dict[str, Any] | None:
    """The seeded objects' path parameters for ``operation`` (None: one it does not know)."""
    names = {p.name for p in operation.path_parameters}
    if not names or not names <= set(KNOWN):
        return None
    return {name: KNOWN[name] for name in names}


@pytest.mark.slow
def test_every_operation_answers_as_documented(api_schema: Any, seeded: Seeded) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30
    found = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for failure in _failures(operation, mode, seeded.admin)
    ]
    for operation in operations:
        known = _known_paths(operation)
        if known is not None:
            found += _failures(operation, GenerationMode.POSITIVE, seeded.admin, known)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("DELETE", "/api/tokens/36454868935020150784"),  # found by schemathesis: was a 500
        ("GET", "/api/runs/2147483648"),  # past int4: PostgreSQL would refuse the query
        ("GET", "/api/runs?cursor=99999999999999999999"),
        ("GET", "/api/runs/1/jobs/build/log?after=99999999999999999999"),
        ("DELETE", "/api/suppressions/99999999999999999999"),
        ("GET", "/api/audit/99999999999999999999/proof"),
    ],
)
def test_an_id_no_row_can_have_is_invalid_not_a_server_error(
    seeded: Seeded, method: str, url: str
) -> None:
    response = seeded.client.request(method, url, headers=seeded.admin.headers())
    assert response.status_code == 422
    assert response.json()["type"] == "urn:bastion:problem:invalid-request"
