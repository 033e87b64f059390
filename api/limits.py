"""The HTTP-level limits of a request: its body size and its number of batched operations.

The document limits (tokens, depth, aliases) and the page and lineage limits are checked by the
schema (`api.graphql.extensions.RequestPipeline`, the resolvers), in-process as over HTTP."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import LimitExceeded


class BodyTooLarge(LimitExceeded):
    """A request body over `max_body_bytes`; answered with HTTP 413."""


def body_too_large(maximum: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"request body limit exceeded: the maximum is {maximum} bytes "
        "(LINEAGEQL_MAX_BODY_BYTES); send less per request, such as smaller metadata or "
        "fewer outputs at once",
        limit="maxBodyBytes",
        maximum=maximum,
    )


class BodySizeLimit:
    """ASGI wrapper refusing a body over `max_bytes` before the app parses it: at once when
    Content-Length says so, else as soon as the streamed body passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise body_too_large(self.max_bytes)
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise body_too_large(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def check_batch(data: Any, maximum: int) -> None:
    """Refuse a batch (a JSON array of operations) longer than `maximum`."""
    if isinstance(data, list) and len(data) > maximum:
        raise LimitExceeded(
            f"batch limit exceeded: the request holds {len(data)} operations, the maximum is "
            f"{maximum} (LINEAGEQL_MAX_BATCH_OPERATIONS); send the rest in further requests",
            limit="maxBatchOperations",
            maximum=maximum,
        )
