"""The artifact store: one fsspec filesystem and the layout of version directories in it."""

from __future__ import annotations

import contextlib
import posixpath
import re
import uuid

import fsspec
from fsspec.implementations.local import LocalFileSystem

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_NAME = 128


def sanitize(name: str) -> str:
    """One safe path component: `[A-Za-z0-9._-]` only, never empty, `.` or `..`."""
    safe = _UNSAFE.sub("_", name)[:_MAX_NAME]
    return "_" * max(len(safe), 1) if safe in {"", ".", ".."} else safe


class ArtifactStore:
    """A folder of artifact versions on any fsspec filesystem.

    `uri` is the store as URIs are written (a local store uses plain absolute paths), `fs` the
    filesystem and `root` the store's path in `fs` terms.
    """

    def __init__(self, uri: str) -> None:
        fs, root = fsspec.core.url_to_fs(uri)
        self.fs: fsspec.AbstractFileSystem = fs
        self.root: str = _normalize(root)
        self.local = isinstance(fs, LocalFileSystem)
        self.uri: str = self.root if self.local else _strip_trailing_slashes(uri)

    def __repr__(self) -> str:
        return f"ArtifactStore({self.uri!r})"

    def new_version_uri(self, step: str, output: str) -> str:
        """Create and return a new, empty directory `{store}/{step}/{output}/{uuid}/`."""
        parts = (sanitize(step), sanitize(output), uuid.uuid4().hex)
        self.fs.makedirs(posixpath.join(self.root, *parts), exist_ok=False)
        separator = "" if self.uri.endswith("/") else "/"
        return f"{self.uri}{separator}{'/'.join(parts)}/"

    def contains(self, uri: str) -> bool:
        fs, path = fsspec.core.url_to_fs(uri)
        return type(fs) is type(self.fs) and _is_within(_normalize(path), self.root)

    def path(self, uri: str) -> str:
        """The `fs` path of `uri`, which must lie inside this store."""
        fs, path = fsspec.core.url_to_fs(uri)
        path = _normalize(path)
        if type(fs) is not type(self.fs) or not _is_within(path, self.root):
            raise ValueError(
                f"{uri!r} is not inside the artifact store {self.uri!r}. Use a URI returned by "
                "new_version_uri(), or point LINEAGEQL_ARTIFACT_STORE at the store that holds it."
            )
        return path

    def exists(self, uri: str) -> bool:
        return bool(self.fs.exists(self.path(uri)))

    def remove(self, uri: str) -> None:
        """Delete `uri` and everything below it; a missing `uri` is not an error."""
        path = self.path(uri)
        if path == self.root:
            raise ValueError(f"Refusing to remove the whole artifact store {self.uri!r}.")
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(path, recursive=True)


def _normalize(path: str) -> str:
    if not path:
        return path
    normalized = posixpath.normpath(path)
    return "" if normalized == "." else normalized


def _is_within(path: str, root: str) -> bool:
    if path == root:
        return True
    if root in {"", "/"}:
        return not path.startswith("..") and not path.startswith("/..")
    return path.startswith(root.rstrip("/") + "/")


def _strip_trailing_slashes(uri: str) -> str:
    stripped = uri.rstrip("/")
    return uri if stripped.endswith(":") else stripped
