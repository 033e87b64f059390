"""The HTTP server: Starlette routes over the same schema the SDK runs in-process."""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import logging
import re
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from api.auth import Principal, Tokens, TokensUnavailable, check_bind, is_loopback, require_scope
from api.collector import serve_thresholds
from api.embedded import ensure_schema
from api.errors import (
    ApiError,
    BadRequest,
    BadUserInput,
    Forbidden,
    LimitExceeded,
    Unauthenticated,
)
from api.graphiql import graphiql_page
from api.graphql.context import Context
from api.graphql.extensions import check_json_value, convert_error, json_depth_error
from api.graphql.loaders import Loaders
from api.graphql.schema import schema
from api.limits import BodySizeLimit, BodyTooLarge, check_batch
from api.lineage_ingest import route as lineage_route
from api.persisted import PersistedDocuments, resolve
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
    def __init__(
        self,
        settings: Settings,
        *,
        persisted: PersistedDocuments | None = None,
        **options: Any,
    ) -> None:
        super().__init__(schema, **options)
        self.settings = settings
        # Automatic persisted operations (api.persisted): this process's documents by hash.
        self.persisted = PersistedDocuments() if persisted is None else persisted

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state
        context = HttpContext(
            db=state.db,
            settings=state.settings,
            loaders=Loaders.create(state.db),
            principal=getattr(request.state, "principal", None),
            response=response,
        )
        response.headers[REQUEST_ID_HEADER] = context.request_id
        request.state.request_id = context.request_id  # for errors answered outside GraphQL
        return context

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL bundled in the package (no CDN): see api/graphiql.py."""
        return await graphiql_page()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As Strawberry's, but its plain-text refusals (a body that is not JSON, no query, an
        unsupported content type or method) answered as GraphQL-style JSON errors."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = error_response(
                request, exc.status_code, BadRequest(exc.reason or "bad request")
            )
        await response(scope, receive, send)

    def encode_json(self, data: object) -> bytes | str:
        """The response's JSON, by orjson: a 10,000-node lineage page encodes in a tenth of the
        standard library's time. What orjson refuses (an integer past 64 bits in a JSON
        value) is encoded by the standard library instead."""
        try:
            return orjson.dumps(data)
        except TypeError:  # orjson.JSONEncodeError
            return json.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        """The request's JSON: an object (one operation) or a non-empty array of objects (a
        batch), nested at most `max_json_depth` deep, whose strings are all text."""
        try:
            value = json.loads(data)
        except RecursionError:  # nested deeper than the decoder can follow
            raise json_depth_error(self.settings.max_json_depth) from None
        except ValueError:  # not JSON, or not UTF-8
            raise BadRequest(
                "the request body is not JSON: send a JSON object such as "
                '{"query": "{ artifacts { totalCount } }", "variables": {}}'
            ) from None
        if isinstance(value, list):
            if not value or not all(isinstance(item, dict) for item in value):
                raise BadRequest(
                    "a batch must be a non-empty JSON array of objects, each with a `query`"
                )
        elif not isinstance(value, dict):
            raise BadRequest(
                f"the request body is JSON {type(value).__name__}, not an object: send "
                '{"query": "...", "variables": {...}, "operationName": "..."}'
            )
        check_json_value(value, self.settings.max_json_depth, "")
        return value

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        check_batch(data, self.settings.max_batch_operations)
        return data

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """As Strawberry's, for one operation (alone or in a batch), with automatic persisted
        operations: a hash the process knows stands for its text, a text sent with its hash
        is checked and remembered once it has run. The text then takes the path any text
        takes (scope, limits, validation). An unknown hash without text, or a hash that is
        not the text's, is that operation's only error; nothing runs."""
        try:
            resolved = resolve(request_data.query, request_data.extensions, self.persisted)
        except ApiError as exc:
            error = GraphQLError(exc.message, original_error=exc, extensions=exc.extensions)
            request_id = getattr(context, "request_id", None)
            return ExecutionResult(data=None, errors=[convert_error(error, request_id)])
        if resolved.query is not request_data.query:
            request_data = dataclasses.replace(request_data, query=resolved.query)
        async with request.app.state.db.shared_reads():  # one read connection, in turns
            result = await super().execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=request_data,
            )
        if resolved.remember is not None and resolved.query is not None and _ran(result):
            self.persisted.put(resolved.remember, resolved.query)
        return result

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """HTTP 400 for a refused request: one operation that did not run because of its
        input (no `data`, no error with a `path`, each a BAD_REQUEST, BAD_USER_INPUT or
        LIMIT_EXCEEDED error). Syntax and validation errors keep HTTP 200, as before."""
        response = super().create_response(response_data, sub_response)
        if response.status_code == 200 and is_refused_request(response_data):
            response.status_code = 400
        return response


def _ran(result: ExecutionResult) -> bool:
    """Whether an operation got past parsing, limits, scope and validation: it has data, or
    an error raised while it ran (with a path). Only such documents are remembered."""
    return result.data is not None or any(error.path for error in result.errors or ())


REFUSED_CODES = {BadRequest.code, BadUserInput.code, LimitExceeded.code}


def is_refused_request(response_data: Any) -> bool:
    if not isinstance(response_data, dict) or response_data.get("data") is not None:
        return False
    errors = response_data.get("errors") or []
    return bool(errors) and all(
        not error.get("path") and (error.get("extensions") or {}).get("code") in REFUSED_CODES
        for error in errors
    )


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


HTTP_STATUS: dict[type[ApiError], int] = {  # the first class that matches wins
    TokensUnavailable: 503,
    Unauthenticated: 401,
    Forbidden: 403,
    BodyTooLarge: 413,
    LimitExceeded: 400,
    BadRequest: 400,
    BadUserInput: 400,
}


async def api_error_response(request: Request, exc: Exception) -> Response:
    """An API error raised outside GraphQL execution (auth, body size, batch size, a body that
    is not a GraphQL request; any route calling `api.auth.require_scope`), as a GraphQL-style
    error body with its HTTP status."""
    assert isinstance(exc, ApiError)
    status = next(code for cls, code in HTTP_STATUS.items() if isinstance(exc, cls))
    return error_response(request, status, exc)


def error_response(request: Request, status: int, exc: ApiError) -> Response:
    request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    headers = {REQUEST_ID_HEADER: request_id}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="lineageql"'
    extensions = exc.extensions
    # As in GraphQL responses: the request id in the errors' extensions too, but for limit
    # errors (their extensions are the limit and its maximum).
    if not isinstance(exc, LimitExceeded):
        extensions = {**extensions, "requestId": request_id}
    body = {"errors": [{"message": exc.message, "extensions": extensions}]}
    return JSONResponse(body, status_code=status, headers=headers)


async def healthz(request: Request) -> Response:
    async with request.app.state.db.read() as session:
        await session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]/@\s]+)(?::\d{1,5})?")


def trusted_hosts(settings: Settings) -> tuple[str, ...] | None:
    """The Host header names a server accepts, or None for any.

    Checked when `serve` binds loopback (against DNS rebinding: a web page whose name
    resolves to 127.0.0.1 must not reach the API from a browser): the loopback names, the
    address bound and LINEAGEQL_ALLOWED_HOSTS; on another address only when
    LINEAGEQL_ALLOWED_HOSTS is set (a proxy in front usually checks names there). An app built
    without a bind address (tests, embedding) checks names only when the list is set."""
    host = settings.bind_host
    if not settings.allowed_hosts and (host is None or not is_loopback(host)):
        return None
    names = {*LOOPBACK_HOSTS, *(name.lower() for name in settings.allowed_hosts)}
    if host is not None:
        names.add(f"[{host.strip('[]')}]" if ":" in host else host.lower())
    return tuple(sorted(names))


class HostCheck:
    """Refuse a request whose Host header names another host than `allowed` (any port), with
    HTTP 400 and a GraphQL-style error."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.exact = {name for name in allowed if not name.startswith("*.")}
        self.suffixes = tuple(name[1:] for name in allowed if name.startswith("*."))

    def allows(self, header: str | None) -> bool:
        match = _HOST.fullmatch(header or "")
        if match is None:
            return False
        host = match.group(1).lower()
        return host in self.exact or host.endswith(self.suffixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self.allows(
            Headers(scope=scope).get("host")
        ):
            names = ", ".join(sorted(self.exact | {"*" + s for s in self.suffixes}))
            exc = BadRequest(
                f"this server does not answer to the host name in the Host header; it accepts "
                f"{names} (any port). Add names with `lineageql serve --allowed-hosts` or "
                "LINEAGEQL_ALLOWED_HOSTS."
            )
            log.warning("refused a request for host %r", Headers(scope=scope).get("host"))
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await error_response(Request(scope), 400, exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(settings: Settings, *, freeze_heap: bool = False) -> Starlette:
    """The ASGI app; the database is opened (and migrated if needed) in the lifespan.

    `freeze_heap` (a served process's own app, see `app_factory`): once started, every object
    alive then (modules, the schema, the database's metadata: about a million) is moved out of
    the garbage collector's reach with `gc.freeze()`, so that its full collections, which a
    large answer's allocations trigger, stop walking them each time (a third of a 10,000-node
    lineage page's time). They live as long as the process anyway; objects made later are
    collected as before, in batches of 10,000 allocations rather than 700 (see
    api/collector.py)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database.from_settings(settings)
        await ensure_schema(db, settings.database_url, settings.artifact_store)
        app.state.db = db
        app.state.settings = settings
        if freeze_heap:
            gc.collect()  # what is garbage already is freed, not frozen
            gc.freeze()
            serve_thresholds()
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
        lineage_route,  # OpenLineage events: POST /api/v1/lineage
    ]
    hosts = trusted_hosts(settings)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={cls: api_error_response for cls in HTTP_STATUS},
        middleware=[] if hosts is None else [Middleware(HostCheck, allowed=hosts)],
    )
    # Read here, not in the lifespan: a broken tokens file stops the app from being built,
    # and no request can ever meet an app without its tokens (access would be open). Tokens
    # are required from the start on a non-loopback address, even if none exists.
    exposed = settings.bind_host is not None and not is_loopback(settings.bind_host)
    app.state.tokens = Tokens(settings, require=exposed and not settings.insecure_no_auth)
    app.state.persisted = graphql.persisted  # this process's persisted operations
    return app


def app_from_env() -> Starlette:
    """Factory for uvicorn (`uvicorn --factory api.app:app_from_env`): settings from the
    LINEAGEQL_* environment."""
    return create_app(Settings.from_env())


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    insecure_no_auth: bool = False,
    allowed_hosts: tuple[str, ...] | None = None,
) -> None:
    """Run uvicorn on `settings`, all of them: with several workers each process builds its
    app from a pickled copy (limits set in code included). The caller's environment is left
    as it is.

    Raises api.auth.InsecureBindError (a ValueError) for a non-loopback `host` while no token
    is configured, unless `insecure_no_auth`. `allowed_hosts` (else the settings') are Host
    header names accepted besides the loopback ones."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from api import workers as workers_module

    warning = check_bind(settings, host, insecure_no_auth=insecure_no_auth)
    if warning:
        print(warning, file=sys.stderr, flush=True)
        log.warning("%s", warning)
    config = uvicorn.Config(
        app_factory(settings, host, insecure_no_auth=insecure_no_auth, allowed_hosts=allowed_hosts),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )
    # What uvicorn.run does, which takes an import string rather than a factory for workers.
    server = uvicorn.Server(config)
    try:
        if config.workers > 1 and workers_module.BALANCED:
            try:
                reserve = workers_module.reserve_address(config)
            except OSError as exc:  # as uvicorn's own bind: the reason, and a failed start
                log.error("%s", exc)
                sys.exit(STARTUP_FAILURE)
            workers_module.BalancedWorkers(config, reserve).run()
        elif config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)


def app_factory(
    settings: Settings,
    host: str,
    *,
    insecure_no_auth: bool = False,
    allowed_hosts: tuple[str, ...] | None = None,
) -> functools.partial[Starlette]:
    """The app factory `serve` hands to its workers: `create_app` with `settings` as served on
    `host` (the address bound, the insecure flag, the Host names accepted). Picklable, as
    uvicorn's worker processes (spawned) need."""
    served = dataclasses.replace(
        settings,
        bind_host=host,
        insecure_no_auth=insecure_no_auth,
        allowed_hosts=settings.allowed_hosts if allowed_hosts is None else allowed_hosts,
    )
    return functools.partial(create_app, served, freeze_heap=True)
