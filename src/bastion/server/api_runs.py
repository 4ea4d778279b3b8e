"""Runs and repositories over the API: list, show, trigger, cancel, re-run, live job logs,
and registering local git repositories. Thin routes over :mod:`bastion.server.runs`,
:mod:`bastion.server.launcher` and :mod:`bastion.server.repositories`.

A route acting on a repository checks ``runs.read`` on it first (404, alike for unknown and
hidden ones), then ``runs.write`` (403): the refusal tells nothing the caller could not see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from bastion.audit import Outcome
from bastion.server.auditing import ServerAction, auth_event
from bastion.server.auth import authorize, client_address, require_on
from bastion.server.context import ServerContext, context_of
from bastion.server.errors import ConflictError
from bastion.server.launcher import Launcher, RunRequest
from bastion.server.log_stream import EVENT_SCHEMA, parse_last_event_id, stream_log, viewers_of
from bastion.server.params import Cursor, Offset, RowId
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.repo_watch import install_hook
from bastion.server.repositories import Repository
from bastion.server.resources import UnavailableError
from bastion.server.routing import guarded
from bastion.server.runs import (
    RunFilter,
    get_run,
    get_run_detail,
    job_of,
    job_status,
    list_runs,
)
from bastion.server.schemas import JobOut, RunOut
from bastion.server.schemas_runs import (
    ArtifactOut,
    JobDetailOut,
    RepositoryBody,
    RepositoryOut,
    RunDetailOut,
    RunListOut,
    StartedOut,
    StepOut,
    TriggerBody,
)
from bastion.store import RunRecord

__all__ = ["router", "visible_run"]

router = APIRouter(prefix="/api")
RunsReader = Annotated[Principal, Depends(authorize(Permission.RUNS_READ))]
RunsWriter = Annotated[Principal, Depends(authorize(Permission.RUNS_WRITE))]
ReposReader = Annotated[Principal, Depends(authorize(Permission.REPOS_READ))]
ReposManager = Annotated[Principal, Depends(authorize(Permission.REPOS_MANAGE))]
_STATUSES = "^(queued|running|passed|failed|blocked|error|cancelled)$"


def _launcher(ctx: ServerContext) -> Launcher:
    if ctx.services.launcher is None:
        raise UnavailableError("this server does not start runs")
    return ctx.services.launcher


def _audit(request: Request, actor: str, action: ServerAction, subject: str) -> None:
    event = auth_event(actor, action, subject, Outcome.SUCCESS, client_address(request))
    context_of(request).services.audit.record(event)


def visible_run(request: Request, principal: Principal, run_id: int) -> RunRecord:
    missing = f"no run {run_id}"
    record = get_run(context_of(request).services.db, run_id)
    require_on(request, principal, Permission.RUNS_READ, record.repo, missing=missing)
    return record


def _writable_repository(request: Request, principal: Principal, name: str) -> Repository:
    missing = f"no repository {name}"
    require_on(request, principal, Permission.RUNS_READ, name, missing=missing)
    repository = context_of(request).repositories.get(name)
    require_on(request, principal, Permission.RUNS_WRITE, name)
    return repository


@router.get("/runs", **guarded(Permission.RUNS_READ))
def runs(
    request: Request,
    principal: RunsReader,
    status: Annotated[str | None, Query(pattern=_STATUSES)] = None,
    repo: Annotated[str | None, Query(max_length=128)] = None,
    branch: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> RunListOut:
    """Runs the caller may see, newest first, a page of ``limit`` older than ``cursor``."""
    db = context_of(request).services.db
    where = RunFilter(status=status, repo=repo, branch=branch, before=cursor)
    rows = list_runs(db, principal.visible(Permission.RUNS_READ), limit=limit, where=where)
    more = len(rows) == limit
    return RunListOut(
        runs=[RunOut.model_validate(r, from_attributes=True) for r in rows],
        limit=limit,
        next_cursor=rows[-1].id if rows and more else None,
    )


@router.get("/runs/{run_id}", **guarded(Permission.RUNS_READ))
def run(request: Request, run_id: RowId, principal: RunsReader) -> RunDetailOut:
    """One run: its jobs and steps, how many findings, its artifacts; 404 alike for unknown
    runs and runs the caller may not see."""
    record, findings = get_run_detail(context_of(request).services.db, run_id)  # one session
    require_on(request, principal, Permission.RUNS_READ, record.repo, missing=f"no run {run_id}")
    jobs = [
        JobDetailOut(
            **JobOut.model_validate(j, from_attributes=True).model_dump(),
            steps=[StepOut.model_validate(s, from_attributes=True) for s in j.steps],
        )
        for j in record.jobs
    ]
    return RunDetailOut(
        **RunOut.model_validate(record, from_attributes=True).model_dump(),
        pipeline_path=record.pipeline_path,
        pipeline_digest=record.pipeline_digest,
        jobs=jobs,
        findings=findings,
        artifacts=[
            ArtifactOut.model_validate(a, from_attributes=True) for a in record.attestations
        ],
    )


@router.post("/runs", status_code=202, **guarded(Permission.RUNS_WRITE))
def trigger(request: Request, body: TriggerBody, principal: RunsWriter) -> StartedOut:
    """Start a run of a registered repository: a branch's head, or a commit."""
    ctx = context_of(request)
    repository = _writable_repository(request, principal, body.repo)
    run_request = RunRequest(
        repository, body.branch, body.commit, event="manual", actor=principal.name
    )
    run_id = _launcher(ctx).submit(run_request)
    _audit(request, principal.actor, ServerAction.RUN_TRIGGERED, f"run/{run_id}")
    return StartedOut(id=run_id, status="queued")


@router.post("/runs/{run_id}/cancel", status_code=202, **guarded(Permission.RUNS_WRITE))
def cancel(request: Request, run_id: RowId, principal: RunsWriter) -> StartedOut:
    """Stop a queued or running run of this server (every job stopped, recorded cancelled)."""
    record = visible_run(request, principal, run_id)
    require_on(request, principal, Permission.RUNS_WRITE, record.repo)
    if not _launcher(context_of(request)).cancel(run_id):
        raise ConflictError(f"run {run_id} is not running on this server (it is {record.status})")
    _audit(request, principal.actor, ServerAction.RUN_CANCELLED, f"run/{run_id}")
    return StartedOut(id=run_id, status="cancelling")


@router.post("/runs/{run_id}/rerun", status_code=202, **guarded(Permission.RUNS_WRITE))
def rerun(request: Request, run_id: RowId, principal: RunsWriter) -> StartedOut:
    """A new run of the same commit (trust decided again: through its branch only while the
    branch still points at it)."""
    record = visible_run(request, principal, run_id)
    repository = _writable_repository(request, principal, record.repo)
    if record.commit is None:
        raise ConflictError(f"run {run_id} ran no commit; nothing to run again")
    branch = record.ref.removeprefix("refs/heads/") if record.ref else None
    started = _launcher(context_of(request)).submit(
        RunRequest(repository, branch, record.commit, event="rerun", actor=principal.name)
    )
    _audit(request, principal.actor, ServerAction.RUN_TRIGGERED, f"run/{started}")
    return StartedOut(id=started, status="queued")


class EventStream(StreamingResponse):
    """Server-Sent Events (so the OpenAPI document names the media type)."""

    media_type = "text/event-stream"


@router.get(
    "/runs/{run_id}/jobs/{job}/log",
    response_class=EventStream,
    responses={200: {"content": {"text/event-stream": {"schema": EVENT_SCHEMA}}}},
    **guarded(Permission.RUNS_READ),
)
async def job_log(
    request: Request,
    run_id: RowId,
    job: str,
    principal: RunsReader,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
    after: Offset = 0,
) -> EventStream:
    """The job's log as Server-Sent Events, live while it runs (masked, as on disk), from
    byte ``after`` (the page shows what came before) or ``Last-Event-ID`` on a reconnect."""
    record = visible_run(request, principal, run_id)
    found = job_of(record, job)
    offset = parse_last_event_id(last_event_id) if last_event_id else after
    db, name = context_of(request).services.db, found.name
    viewers = viewers_of(request)
    slot = viewers.slots.hold(principal.actor)
    slot.__enter__()  # 429 here, before the response starts

    async def events() -> AsyncIterator[str]:
        try:
            if found.log_path:
                async for event in stream_log(
                    Path(found.log_path),
                    offset,
                    lambda: job_status(db, run_id, name),
                    watches=viewers.watches,
                ):
                    yield event
        finally:
            slot.__exit__(None, None, None)

    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return EventStream(events(), headers=headers)


def _repository_out(repository: Repository, hook: bool | None = None) -> RepositoryOut:
    return RepositoryOut(
        name=repository.name,
        path=str(repository.path),
        default_branch=repository.default_branch,
        protected_branches=list(repository.protected_branches),
        signed_branches=list(repository.signed_branches),
        added_by=repository.added_by,
        poll_seconds=repository.poll_seconds,
        created_at=repository.created_at,
        hook_installed=hook,
    )


@router.get("/repositories", **guarded(Permission.REPOS_READ))
def repositories(request: Request, principal: ReposReader) -> list[RepositoryOut]:
    """The registered repositories the caller may see."""
    visible = principal.visible(Permission.REPOS_READ)
    listed = context_of(request).repositories.all()
    return [_repository_out(r) for r in listed if visible is None or r.name in visible]


@router.post("/repositories", status_code=201, **guarded(Permission.REPOS_MANAGE))
def register(request: Request, body: RepositoryBody, principal: ReposManager) -> RepositoryOut:
    """Register a local git repository (400 for a path that is not exactly one) and install
    its post-receive hook."""
    repository = context_of(request).repositories.register(
        body.name,
        body.path,
        added_by=principal.name,
        default_branch=body.default_branch,
        protected=body.protected_branches,
        poll_seconds=body.poll_seconds,
        signed=body.signed_branches,
    )
    _audit(request, principal.actor, ServerAction.REPOSITORY_REGISTERED, f"repo/{body.name}")
    return _repository_out(repository, install_hook(repository))
