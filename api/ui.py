"""The lineage explorer: the built single-page app under `/ui/`, with a strict content policy.

The app in `api/ui_static/` is built from `ui/` (`make ui`); it only talks to `POST /graphql`.
The same build holds GraphiQL's page and files (served at `GET /graphql`, see api/graphiql.py).
Any path under `/ui/` that is not a file answers with the page itself, so the app can route.
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "ui_static"
ASSETS = "assets"
# GraphiQL's page, built beside the explorer and served at GET /graphql (api/graphiql.py); its
# files are under /ui/assets/, and the page itself is not served under /ui/.
GRAPHIQL_PAGE = "graphiql.html"

# No inline script or style; data only from this server. HTML visualizations are fetched by
# the page, sanitised (DOMPurify) and written into a frame whose `sandbox` allows no script
# (`allow-same-origin` only, so that the page can size the frame to its content); the frame
# inherits this policy too (ui/src/visualizations.ts).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self' blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Frame-Options": "DENY",
}
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
IMMUTABLE = "public, max-age=31536000, immutable"  # asset names carry a content hash


class ExplorerFiles(StaticFiles):
    """Static files of the explorer; `index.html` for `/ui/` and for client-side routes."""

    async def check_config(self) -> None:
        """A missing build is not a server error: `index` answers it with how to build."""
        if self.directory is not None and os.path.isdir(self.directory):
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path not in (".", "index.html", GRAPHIQL_PAGE):
            try:
                response = await super().get_response(path, scope)
            except HTTPException as exc:
                if exc.status_code != 404 or path.split(os.sep)[0] == ASSETS:
                    raise
            else:
                if path.startswith(ASSETS + os.sep):
                    response.headers["Cache-Control"] = IMMUTABLE
                response.headers.update(COMMON_HEADERS)
                return response
        return await self.index(scope)

    async def index(self, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        full_path, stat_result = await anyio.to_thread.run_sync(self.lookup_path, "index.html")
        if stat_result is None:
            return PlainTextResponse(
                "The lineage explorer is not built: run `make ui` in the source tree.",
                status_code=503,
            )
        response = self.file_response(full_path, stat_result, scope)
        response.headers.update({**PAGE_HEADERS, **COMMON_HEADERS})
        return response


async def to_explorer(request: Request) -> Response:
    """`/ui` → `/ui/`: the page refers to its assets relative to its own URL."""
    return RedirectResponse(request.url.replace(path=request.url.path + "/"), status_code=308)


def ui_routes(directory: Path = STATIC_DIR) -> list[BaseRoute]:
    """`GET /ui` and everything under `/ui/`."""
    return [
        Route("/ui", to_explorer, methods=["GET", "HEAD"]),
        Mount("/ui", app=ExplorerFiles(directory=directory, check_dir=False), name="ui"),
    ]
