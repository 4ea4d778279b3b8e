"""The app factory: one FastAPI app over the given settings and services.

>>> from bastion.store import open_database
>>> db = open_database("sqlite://")
>>> app = create_app(ServerSettings("127.0.0.1", 8080, "sqlite://"),
...                  ServerServices(db, audit=my_sink))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from bastion.server import (
    api,
    api_approvals,
    api_audit,
    api_findings,
    api_monitor,
    api_runs,
    api_secrets,
    api_supplychain,
    api_webhook_config,
    api_webhooks,
    api_workers,
    oidc,
    openapi,
    pages,
    pages_approvals,
    pages_monitor,
    pages_resources,
    pages_runs,
    pages_workers,
)
from bastion.server.context import ServerContext, ServerServices, build_context
from bastion.server.log_stream import LogViewers
from bastion.server.middleware import BodyLimit, SecurityHeaders
from bastion.server.problems import install_handlers
from bastion.server.routing import check_routes
from bastion.server.settings import ServerSettings

__all__ = ["create_app"]


def _lifespan(
    context: ServerContext,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """At start, watch the registered repositories and start the monitor; at shutdown
    (SIGTERM, Ctrl-C), stop the monitor and watching, cancel the runs still going and close
    the audit sink: what is unsealed is checkpointed."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        monitor = context.services.monitor
        if context.watcher is not None:
            context.watcher.start()
        if monitor is not None:
            monitor.start()
        try:
            yield
        finally:
            try:
                if monitor is not None:
                    monitor.stop()
                if context.watcher is not None:
                    context.watcher.stop()
                if context.services.launcher is not None:
                    context.services.launcher.close()
            finally:
                context.services.audit.close()

    return lifespan


def create_app(settings: ServerSettings, services: ServerServices) -> FastAPI:
    """The server's ASGI app; ServerError if a route names no permission of the table.

    No interactive docs (Swagger/ReDoc would load script from elsewhere) and no FastAPI
    ``/openapi.json``: the API's document is ``/api/openapi.json`` (:mod:`.openapi`), for
    signed-in callers; ``app.openapi()`` describes every route, pages included.
    """
    context = build_context(settings, services)
    app = FastAPI(
        title="Bastion",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan(context),
    )
    app.state.bastion = context
    app.state.log_viewers = LogViewers.for_settings(settings)
    app.include_router(api.router)
    for resource in (api_runs, api_findings, api_supplychain, api_audit, api_secrets, openapi):
        app.include_router(resource.router)
    app.include_router(api_webhooks.router)
    app.include_router(api_webhook_config.router)
    app.include_router(oidc.router)
    app.include_router(pages.router)
    app.include_router(pages_resources.router)
    app.include_router(pages_runs.router)
    app.include_router(api_monitor.router)
    app.include_router(api_approvals.router)
    app.include_router(pages_approvals.router)
    app.include_router(pages_monitor.router)
    app.include_router(api_workers.router)
    app.include_router(pages_workers.router)
    install_handlers(app)
    # Added last, so it runs first: nothing reads a body over the limit.
    app.add_middleware(SecurityHeaders, tls=settings.tls)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    check_routes(app)
    return app
