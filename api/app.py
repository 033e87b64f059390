"""The HTTP server: Starlette routes over the same schema the SDK runs in-process."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.embedded import ensure_schema
from api.graphql.context import Context, build_context
from api.graphql.schema import schema
from api.settings import Settings
from api.storage.engine import Database

log = logging.getLogger("lineageql.api")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state
        return build_context(state.db, state.settings)


async def healthz(request: Request) -> Response:
    async with request.app.state.db.read() as session:
        await session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings) -> Starlette:
    """The ASGI app; the database is opened (and migrated if needed) in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database.connect(settings.database_url)
        await ensure_schema(db, settings.database_url)
        app.state.db = db
        app.state.settings = settings
        try:
            yield
        finally:
            await db.dispose()

    graphql = GraphQLApp(schema, graphql_ide="graphiql", allow_queries_via_get=False)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def app_from_env() -> Starlette:
    """Factory for uvicorn workers: settings come from the LINEAGEQL_* environment."""
    return create_app(Settings.from_env())


def serve(
    settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1
) -> None:
    """Run uvicorn; with several workers each process builds the app from the environment."""
    import uvicorn

    if host not in LOOPBACK:
        log.warning("binding %s exposes the API without authentication", host)
    os.environ["LINEAGEQL_HOME"] = str(settings.home)
    os.environ["LINEAGEQL_DATABASE_URL"] = settings.database_url
    os.environ["LINEAGEQL_ARTIFACT_STORE"] = settings.artifact_store
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )
