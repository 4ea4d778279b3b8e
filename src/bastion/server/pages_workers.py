"""The worker registry page: each Celery worker's pool, state, last heartbeat (the server's
clock) and the jobs it runs now. Draining and revoking are the API's and the CLI's
(``POST /api/workers/{name}/revoke``, ``bastion workers revoke``), audited there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bastion.server import api_workers
from bastion.server.auth import authorize
from bastion.server.page_render import render
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.routing import guarded

__all__ = ["router"]

router = APIRouter()
WorkerReader = Annotated[Principal, Depends(authorize(Permission.WORKERS_READ))]


@router.get("/workers", **guarded(Permission.WORKERS_READ))
def workers_page(request: Request, principal: WorkerReader) -> HTMLResponse:
    """Every worker seen, by pool and name."""
    found = api_workers.workers(request, principal).workers
    return render(request, principal, "workers.html", title="Workers", active="/workers",
                  workers=found)  # fmt: skip
