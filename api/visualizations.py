"""Serving visualization files: `GET /artifact-versions/{id}/visualizations/{index}`.

The file is the one recorded for that version in the database, read through fsspec; nothing in
the request names a path. It is served only when it lies inside both the version's directory
and this server's artifact store (after resolving symlinks on a local store), with the content
type of its kind, `nosniff`, and a Content-Security-Policy that sandboxes it: no scripts, no
forms, no requests to anywhere, so an artifact cannot run code in the viewer's browser.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Iterator
from typing import IO

import fsspec
from fsspec.implementations.local import LocalFileSystem
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from api.auth import require_scope
from api.storage.artifacts import version_visualizations
from api.storage.locations import locate

PATH = "/artifact-versions/{version_id:str}/visualizations/{index:int}"
CHUNK = 1 << 16
CONTENT_TYPES = {
    "HTML": "text/html; charset=utf-8",
    "MARKDOWN": "text/markdown; charset=utf-8",
    "IMAGE": "image/png",
    "CSV": "text/csv; charset=utf-8",
    "JSON": "application/json",
}
# `sandbox` (no allow-* tokens) gives the document an opaque origin and blocks scripts, forms,
# popups and top-level navigation; `default-src 'none'` blocks every fetch, except inline
# styles and data: images, which the HTML previews may use. `base-uri` and `form-action` do not
# fall back to default-src, so they are closed explicitly. `frame-ancestors 'self'` lets this
# server's own pages embed the file and no other site.
HTML_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
# Other kinds are not HTML and `nosniff` keeps browsers from treating them as HTML; the policy
# still sandboxes them, allowing only what a browser's own image or text viewer needs.
OTHER_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'self'"
)


async def visualization(request: Request) -> Response:
    require_scope(request, "read")  # 401/403 through the app's error handlers
    version_id: str = request.path_params["version_id"]
    index: int = request.path_params["index"]
    if not _is_uuid(version_id):
        return _not_found()
    async with request.app.state.db.read() as session:
        found = await version_visualizations(session, version_id)
    if found is None or not 0 <= index < len(found[1]):
        return _not_found()
    store = request.app.state.settings.artifact_store
    version_uri = locate(store, found[0])
    entry = found[1][index]
    kind, uri = str(entry.get("type")), locate(store, str(entry.get("uri")))
    content_type = CONTENT_TYPES.get(kind)
    file = await run_in_threadpool(_open, uri, version_uri, store)
    if content_type is None or file is None:
        return _not_found()
    headers = {
        "Content-Security-Policy": HTML_POLICY if kind == "HTML" else OTHER_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": "private, max-age=300",
    }
    return StreamingResponse(_chunks(file), media_type=content_type, headers=headers)


def _not_found() -> Response:
    return PlainTextResponse("No such visualization.", status_code=404)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _open(uri: str, version_uri: str, store_uri: str) -> IO[bytes] | None:
    """The file at `uri`, opened for reading, when it is a file inside both the version
    directory and the artifact store; else None."""
    try:
        fs, path = fsspec.core.url_to_fs(uri)
        store_fs, root = fsspec.core.url_to_fs(store_uri)
        version_fs, version = fsspec.core.url_to_fs(version_uri)
    except (ValueError, ImportError):
        return None
    if not (type(fs) is type(store_fs) is type(version_fs)):
        return None
    path, root, version = (posixpath.normpath(p) for p in (path, root, version))
    if version.strip("/") in {"", "."}:
        return None
    if not (_below(path, version) and _below(path, root)):
        return None
    if isinstance(fs, LocalFileSystem):
        real = os.path.realpath(path)
        if not (_below(real, os.path.realpath(version)) and _below(real, os.path.realpath(root))):
            return None
        path = real
    try:
        if not fs.isfile(path):
            return None
        opened: IO[bytes] = fs.open(path, "rb")
    except OSError:
        return None
    return opened


def _below(path: str, folder: str) -> bool:
    """Whether `path` lies strictly below `folder` (everything does below a root of "/")."""
    base = folder.strip("/")
    return not base or path.lstrip("/").startswith(base + "/")


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK):
            yield chunk


route = Route(PATH, visualization, methods=["GET"])
