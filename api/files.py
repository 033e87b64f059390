"""What the API needs to know of artifact data: whether it is still there. It never reads it."""

from __future__ import annotations

import os


def uri_exists(uri: str) -> bool:
    """Whether a version's data exists (a plain path, or any fsspec URI)."""
    if "://" not in uri:
        return os.path.exists(uri)
    import fsspec

    fs, path = fsspec.core.url_to_fs(uri)
    return bool(fs.exists(path))
