"""The HTTP server: Starlette routes over the same schema the SDK runs in-process."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData

from api.auth import Principal, Tokens, check_bind, require_scope
from api.embedded import ensure_schema
from api.errors import ApiError, Forbidden, LimitExceeded, Unauthenticated
from api.graphql.context import Context, build_context
from api.graphql.schema import schema
from api.limits import BodySizeLimit, BodyTooLarge, check_batch
from api.settings import Settings
from api.storage.engine import Database
from api.ui import ui_routes
from api.visualizations import route as visualization_route

log = logging.getLogger("lineageql.api")
REQUEST_ID_HEADER = "X-Request-ID"


@dataclass
class HttpContext(Context):
    """The context of an HTTP request: also who sent it, and the response being built (whose
    status an extension may set)."""

    principal: Principal | None = None
    response: Response | None = None


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__(schema, **options)
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state
        base = build_context(state.db, state.settings)
        context = HttpContext(
            **{f.name: getattr(base, f.name) for f in fields(base)},
            principal=getattr(request.state, "principal", None),
            response=response,
        )
        response.headers[REQUEST_ID_HEADER] = context.request_id
        return context

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        check_batch(data, self.settings.max_batch_operations)
        return data


class GraphQLEndpoint:
    """`/graphql`: GET serves GraphiQL to anyone (queries over GET are refused); any other
    method needs a token with the `read` scope (mutations `write`, checked per operation) and
    a body within `max_body_bytes`."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = BodySizeLimit(app, settings.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "GET":
            require_scope(Request(scope), "read")
        await self.app(scope, receive, send)


HTTP_STATUS: dict[type[ApiError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    BodyTooLarge: 413,
    LimitExceeded: 400,
}


async def api_error_response(request: Request, exc: Exception) -> Response:
    """An API error raised outside GraphQL execution (auth, body size, batch size; any route
    calling `api.auth.require_scope`), as a GraphQL-style error body with its HTTP status."""
    assert isinstance(exc, ApiError)
    status = next(code for cls, code in HTTP_STATUS.items() if isinstance(exc, cls))
    headers = {"WWW-Authenticate": 'Bearer realm="lineageql"'} if status == 401 else {}
    body = {"errors": [{"message": exc.message, "extensions": exc.extensions}]}
    return JSONResponse(body, status_code=status, headers=headers)


async def healthz(request: Request) -> Response:
    async with request.app.state.db.read() as session:
        await session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings) -> Starlette:
    """The ASGI app; the database is opened (and migrated if needed) in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database.from_settings(settings)
        await ensure_schema(db, settings.database_url)
        app.state.db = db
        app.state.settings = settings
        try:
            yield
        finally:
            await db.dispose()

    graphql = GraphQLApp(settings, graphql_ide="graphiql", allow_queries_via_get=False)
    routes = [
        Route("/graphql", GraphQLEndpoint(graphql, settings), methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        *ui_routes(),
        visualization_route,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={cls: api_error_response for cls in HTTP_STATUS},
    )
    # Read here, not in the lifespan: a broken tokens file stops the app from being built,
    # and no request can ever meet an app without its tokens (access would be open).
    app.state.tokens = Tokens(settings)
    return app


def app_from_env() -> Starlette:
    """Factory for uvicorn workers: settings come from the LINEAGEQL_* environment."""
    return create_app(Settings.from_env())


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    insecure_no_auth: bool = False,
) -> None:
    """Run uvicorn; with several workers each process builds the app from the environment.

    Raises api.auth.InsecureBindError (a ValueError) for a non-loopback `host` while no token
    is configured, unless `insecure_no_auth`."""
    import uvicorn

    warning = check_bind(settings, host, insecure_no_auth=insecure_no_auth)
    if warning:
        print(warning, file=sys.stderr, flush=True)
        log.warning("%s", warning)
    if settings.tokens_file is not None:
        os.environ["LINEAGEQL_TOKENS_FILE"] = str(settings.tokens_file)
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
