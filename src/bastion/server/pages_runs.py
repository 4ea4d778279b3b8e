"""Pages of runs and repositories: the run list (status colours, durations), a run with its
DAG drawn as SVG on the server, a job's log following live output, registered repositories.

Only the log page runs script: ``/static/log.js``, served here, allowed by that page's own
CSP (``script-src 'self'; connect-src 'self'``); every other page keeps the no-script CSP.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from bastion.server import api_runs
from bastion.server.auth import authorize
from bastion.server.context import context_of
from bastion.server.dag import layout, needs_at
from bastion.server.errors import BadRequestError, NotFoundError
from bastion.server.log_stream import read_from
from bastion.server.middleware import CSP
from bastion.server.page_render import render
from bastion.server.params import Cursor, RowId
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.routing import guarded
from bastion.server.runs import RunFilter, count_findings, job_of, list_runs
from bastion.server.schemas_runs import RepositoryBody
from bastion.store import RunRecord

__all__ = ["LOG_PAGE_CSP", "duration", "router"]

router = APIRouter()
RunsReader = Annotated[Principal, Depends(authorize(Permission.RUNS_READ))]
RunsWriter = Annotated[Principal, Depends(authorize(Permission.RUNS_WRITE))]
ReposReader = Annotated[Principal, Depends(authorize(Permission.REPOS_READ))]
ReposManager = Annotated[Principal, Depends(authorize(Permission.REPOS_MANAGE))]
Field = Annotated[str, Form(max_length=4096)]
LOG_PAGE_CSP = CSP.replace(
    "default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';"
)
_STATUSES = ("queued", "running", "passed", "failed", "blocked", "error", "cancelled")
_FINAL = frozenset({"passed", "failed", "blocked", "error", "cancelled", "skipped"})
_SHOWN = 2 * 1024 * 1024


class _Timed(Protocol):
    started_at: datetime | None
    finished_at: datetime | None


def duration(record: _Timed) -> str:
    """``1m 05s`` from start to finish ('' before it started, '…' while running)."""
    if record.started_at is None:
        return ""
    if record.finished_at is None:
        return "…"
    seconds = int((record.finished_at - record.started_at).total_seconds())
    minutes, seconds = divmod(max(seconds, 0), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


@router.get("/static/log.js", **guarded(Permission.PUBLIC))
def log_script() -> Response:
    """The one script: it follows a job's log page live."""
    text = resources.files("bastion.server").joinpath("static/log.js").read_text("utf-8")
    return Response(text, media_type="text/javascript")


@router.get("/runs", **guarded(Permission.RUNS_READ))
def runs_page(
    request: Request,
    principal: RunsReader,
    status: Annotated[str, Query(max_length=16)] = "",
    repo: Annotated[str, Query(max_length=128)] = "",
    branch: Annotated[str, Query(max_length=255)] = "",
    cursor: Cursor = None,
) -> HTMLResponse:
    """Runs the caller may see, newest first, 50 a page, filtered."""
    where = RunFilter(
        status=status if status in _STATUSES else None,
        repo=repo or None,
        branch=branch or None,
        before=cursor,
    )
    db = context_of(request).services.db
    rows = list_runs(db, principal.visible(Permission.RUNS_READ), limit=50, where=where)
    next_cursor = rows[-1].id if len(rows) == 50 else None
    query = {"status": status, "repo": repo, "branch": branch, "cursor": next_cursor or ""}
    return render(
        request,
        principal,
        "runs.html",
        active="/",
        title="Runs",
        runs=rows,
        where=where,
        statuses=_STATUSES,
        duration=duration,
        next_cursor=next_cursor,
        next_query=urlencode(query),
    )


@router.get("/runs/{run_id}", **guarded(Permission.RUNS_READ))
def run_page(request: Request, run_id: RowId, principal: RunsReader) -> HTMLResponse:
    """One run: facts, the DAG of its jobs, the jobs with their logs, its artifacts."""
    record = api_runs.visible_run(request, principal, run_id)
    ctx = context_of(request)
    needs: Any = {}
    try:
        repository = ctx.repositories.get(record.repo)
        needs = needs_at(repository.path, record.commit, record.pipeline_path)
    except NotFoundError:
        pass  # not a registered repository's run (e.g. recorded by the CLI): no edges
    picture = layout([(j.name, j.status) for j in record.jobs], needs)
    return render(
        request,
        principal,
        "run.html",
        active="/",
        title=f"Run #{record.id}",
        run=record,
        picture=picture,
        duration=duration,
        findings=count_findings(ctx.services.db, run_id),
        may_write=principal.may(Permission.RUNS_WRITE, record.repo),
    )


def _shown_log(record: RunRecord, job: str) -> tuple[str, int]:
    """The log's text so far, up to its last whole line, and the offset after it."""
    found = job_of(record, job)
    if not found.log_path:
        return "", 0
    data, offset = b"", 0
    while len(data) < _SHOWN:
        chunk = read_from(Path(found.log_path), offset)
        if not chunk:
            break
        data, offset = data + chunk, offset + len(chunk)
    whole = data[: data.rfind(b"\n") + 1] if found.status not in _FINAL else data
    return whole.decode("utf-8", errors="replace"), len(whole)


@router.get("/runs/{run_id}/jobs/{job}/log", **guarded(Permission.RUNS_READ))
def job_log_page(request: Request, run_id: RowId, job: str, principal: RunsReader) -> HTMLResponse:
    """A job's log; while the job runs, a script appends new lines as they are written."""
    record = api_runs.visible_run(request, principal, run_id)
    found = job_of(record, job)
    text, offset = _shown_log(record, job)
    live = found.status not in _FINAL
    page = render(
        request,
        principal,
        "job_log.html",
        active="/",
        title=f"{found.name} · run #{run_id}",
        run=record,
        job=found,
        text=text,
        offset=offset,
        live=live,
        stream=f"/api/runs/{run_id}/jobs/{quote(found.name, safe='')}/log",
    )
    if live:
        page.headers["content-security-policy"] = LOG_PAGE_CSP
    return page


@router.post("/runs/{run_id}/cancel", **guarded(Permission.RUNS_WRITE))
def cancel_form(request: Request, run_id: RowId, principal: RunsWriter) -> Response:
    """The run page's Cancel button."""
    api_runs.cancel(request, run_id, principal)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/rerun", **guarded(Permission.RUNS_WRITE))
def rerun_form(request: Request, run_id: RowId, principal: RunsWriter) -> Response:
    """The run page's Run again button."""
    started = api_runs.rerun(request, run_id, principal)
    return RedirectResponse(f"/runs/{started.id}", status_code=303)


@router.get("/repositories", **guarded(Permission.REPOS_READ))
def repositories_page(request: Request, principal: ReposReader) -> HTMLResponse:
    """Registered repositories; admins also get the form to register one."""
    return render(
        request,
        principal,
        "repositories.html",
        active="/repositories",
        title="Repositories",
        repositories=api_runs.repositories(request, principal),
        may_manage=principal.may(Permission.REPOS_MANAGE),
    )


@router.post("/repositories", **guarded(Permission.REPOS_MANAGE))
def register_form(
    request: Request,
    principal: ReposManager,
    name: Field,
    path: Field,
    protected: Field = "",
    signed: Field = "",
) -> Response:
    """Register a repository from the page's form."""
    branches = [b.strip() for b in protected.split(",") if b.strip()]
    signed_branches = [b.strip() for b in signed.split(",") if b.strip()]
    try:
        body = RepositoryBody(
            name=name, path=path, protected_branches=branches, signed_branches=signed_branches
        )
    except ValidationError as exc:
        raise BadRequestError("a protected branch or the name is malformed") from exc
    api_runs.register(request, body, principal)
    return RedirectResponse("/repositories", status_code=303)
