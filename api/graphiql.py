"""GraphiQL at `GET /graphql`, bundled: the page and its files come from this server.

The page (`ui_static/graphiql.html`) is built from `ui/` with the explorer (`make ui`): GraphiQL,
its explorer plugin and React are files under `/ui/assets/`, so the IDE loads without any
network beyond this server. Queries go to `POST /graphql` with the API token the lineage
explorer keeps in the tab's sessionStorage (or the headers the editor sets).
"""

from __future__ import annotations

from pathlib import Path

import anyio
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from api.ui import COMMON_HEADERS, GRAPHIQL_PAGE, STATIC_DIR

# Scripts and styles from this server only (GraphiQL's editors set inline styles, and its
# stylesheet embeds fonts and icons as data: URLs); requests only to this server.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Frame-Options": "DENY",
    **COMMON_HEADERS,
}


async def graphiql_page(directory: Path = STATIC_DIR) -> Response:
    """The GraphiQL page, or how to build it when the package was installed without it."""
    path = anyio.Path(directory / GRAPHIQL_PAGE)
    try:
        html = await path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return PlainTextResponse(
            "GraphiQL is not built: run `make ui` in the source tree.", status_code=503
        )
    return HTMLResponse(html, headers=PAGE_HEADERS)
