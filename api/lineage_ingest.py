"""`POST /api/v1/lineage`: OpenLineage RunEvents from other tools, as Marquez receives them.

The body is one event or a JSON array of events, optionally gzip-compressed
(`Content-Encoding: gzip`). It needs a token with the `write` scope, as GraphQL mutations do.
Every event is checked first: one bad event refuses the whole request with HTTP 400 and the
reason. Then each is stored as sent and applied (api/storage/openlineage.py); the answer,
HTTP 201, lists per event whether it was new, and whether it could be applied."""

from __future__ import annotations

import json
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import require_scope
from api.errors import BadRequest
from api.limits import body_too_large
from api.storage.openlineage import check_event, ingest

PATH = "/api/v1/lineage"
MAX_EVENTS = 1000  # events per request


async def _body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise body_too_large(max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise body_too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    """The decompressed body, refused once it passes the body limit (no zip bombs)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise BadRequest(f"the body is not valid gzip: {exc}") from None
    if len(data) > max_bytes or inflater.unconsumed_tail:
        raise body_too_large(max_bytes)
    if not inflater.eof:
        raise BadRequest("the gzip body is truncated")
    return data


def _events(data: bytes) -> list[Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise BadRequest(
            "the body is not JSON: send one OpenLineage RunEvent or a JSON array of them"
        ) from None
    events = value if isinstance(value, list) else [value]
    if not events:
        raise BadRequest("the array holds no events")
    if len(events) > MAX_EVENTS:
        raise BadRequest(f"at most {MAX_EVENTS} events per request; send the rest in more")
    return events


async def receive_lineage(request: Request) -> Response:
    require_scope(request, "write")
    settings = request.app.state.settings
    body = await _body(request, settings.max_body_bytes)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        body = _gunzip(body, settings.max_body_bytes)
    elif encoding not in {"", "identity"}:
        raise BadRequest(f"Content-Encoding {encoding!r} is not supported; send gzip or none")
    checked = [check_event(event, index) for index, event in enumerate(_events(body))]
    async with request.app.state.db.write() as session:
        results = await ingest(session, checked, settings.artifact_store)
    return JSONResponse({"events": results}, status_code=201)


route = Route(PATH, receive_lineage, methods=["POST"])
