"""What the API needs to know of artifact data: whether it is still there. It never reads it."""

from __future__ import annotations

import os

import anyio.to_thread


async def uri_exists(uri: str) -> bool:
    """Whether a version's data exists (a plain path, or any fsspec URI). A local path is one
    stat, checked in place; a remote store is asked in a worker thread, so a slow object store
    never blocks the event loop."""
    if "://" not in uri or uri.startswith("file://"):
        return os.path.exists(uri.removeprefix("file://"))
    return await anyio.to_thread.run_sync(_remote_exists, uri)


def _remote_exists(uri: str) -> bool:
    import fsspec

    fs, path = fsspec.core.url_to_fs(uri)
    return bool(fs.exists(path))
