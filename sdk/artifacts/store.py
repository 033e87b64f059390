"""The artifact store: one fsspec filesystem and the layout of version directories in it."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import posixpath
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from sdk.errors import InputError, StoreFullError

IDENTITY_FILE = ".lineageql/store.json"  # {"id": the store id the database records}
_WHOLE_STORE = "it is the whole artifact store; register one file or folder inside it"
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
        try:
            self.fs.makedirs(posixpath.join(self.root, *parts), exist_ok=False)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise StoreFullError(
                f"The artifact store {self.uri} is full: no new version folder can be created "
                f"({exc.strerror}). Nothing was written or registered. Free space "
                "(`lineageql artifacts prune`) or point LINEAGEQL_ARTIFACT_STORE elsewhere."
            ) from exc
        separator = "" if self.uri.endswith("/") else "/"
        return f"{self.uri}{separator}{'/'.join(parts)}/"

    def contains(self, uri: str) -> bool:
        fs, path = fsspec.core.url_to_fs(uri)
        return type(fs) is type(self.fs) and _is_within(_normalize(path), self.root)

    def path(self, uri: str) -> str:
        """The `fs` path of `uri`, which must lie inside this store."""
        prefix = self.uri.rstrip("/") + "/"
        if uri.startswith(prefix) and _PLAIN.fullmatch(uri, len(prefix)):
            # The store's own spelling followed by plain path segments (what new_version_uri
            # and the API hand out): the same path fsspec would parse, without parsing.
            path = _normalize(posixpath.join(self.root, uri[len(prefix) :]))
            if _is_within(path, self.root):
                return path
        fs, path = fsspec.core.url_to_fs(uri)
        path = _normalize(path)
        if type(fs) is not type(self.fs) or not _is_within(path, self.root):
            raise ValueError(
                f"{uri!r} is not inside the artifact store {self.uri!r}. Use a URI returned by "
                "new_version_uri(), or point LINEAGEQL_ARTIFACT_STORE at the store that holds it."
            )
        return path

    def registrable(self, uri: str) -> str:
        """`uri` as this store spells it, when it names an existing file or folder inside the
        store (not the store itself). Refused with InputError, saying where the store is: `..`
        segments, another scheme, a path elsewhere, and (local stores) symlinks leading out."""
        if ".." in re.split(r"[/\\]", uri):
            raise self._refusal(uri, "it has a '..' segment; give the path without '..'")
        protocol, _ = fsspec.core.split_protocol(uri)
        if not self._same_scheme(protocol):
            raise self._refusal(uri, f"its scheme {protocol or 'local path'!r} is not the store's")
        if self.local:
            return self._registrable_local(uri)
        path = _normalize(fsspec.core.url_to_fs(uri)[1])
        if path == self.root:
            raise self._refusal(uri, _WHOLE_STORE)
        if not _is_within(path, self.root):
            raise self._refusal(uri, "it lies outside the store")
        if not self.fs.exists(path):
            raise self._missing(uri)
        relative = posixpath.relpath(path.lstrip("/"), self.root.lstrip("/"))
        return f"{self.uri}{'' if self.uri.endswith('/') else '/'}{relative}"

    def _registrable_local(self, uri: str) -> str:
        given = Path(fsspec.core.url_to_fs(uri)[1])
        root = Path(self.root).resolve()
        real = given.resolve()
        if real == root:
            raise self._refusal(uri, _WHOLE_STORE)
        if not real.is_relative_to(root):
            inside = Path(os.path.abspath(given)).is_relative_to(os.path.abspath(self.root))
            why = f"it is a symlink (or lies under one) to {str(real)!r}" if inside else ""
            raise self._refusal(uri, why or "it lies outside the store")
        if not real.exists():
            raise self._missing(uri)
        _check_links_inside(real, root, lambda why: self._refusal(uri, why))
        return posixpath.join(self.root, real.relative_to(root).as_posix())

    def _same_scheme(self, protocol: str | None) -> bool:
        if protocol is None:
            return self.local
        known = self.fs.protocol
        return protocol in ((known,) if isinstance(known, str) else known)

    def _refusal(self, uri: str, why: str) -> InputError:
        return InputError(
            f"Cannot register {uri!r}: {why}. Only files and folders inside the artifact store "
            f"{self.uri!r} can be registered: write or copy the data under it (for example "
            f"{self.uri.rstrip('/')}/registered/<name>/), then register that path."
        )

    def _missing(self, uri: str) -> InputError:
        return InputError(
            f"Cannot register {uri!r}: there is no file or folder there (the artifact store is "
            f"{self.uri!r}). Write the data first, then register it."
        )

    def relative(self, uri: str) -> str:
        """`uri`'s location relative to the store's root, as the database records it (a
        trailing `/` kept): what stays true when the whole store is moved."""
        path = self.path(uri)
        root = self.root.rstrip("/")
        relative = path[len(root) :].lstrip("/") if root else path.lstrip("/")
        if not relative:
            raise ValueError(f"{uri!r} is the artifact store itself, not a location inside it")
        return relative + "/" if uri.endswith("/") else relative

    def identity(self) -> str | None:
        """The store id written at the store's root (`.lineageql/store.json`), or None."""
        try:
            with self.fs.open(posixpath.join(self.root, IDENTITY_FILE), "rb") as file:
                found = json.loads(file.read()).get("id")
        except (FileNotFoundError, ValueError, AttributeError):
            return None
        return found if isinstance(found, str) else None

    def claim(self, store_id: str) -> str | None:
        """Write `store_id` at the store's root unless an id is there; returns the id that is
        there now (another store's id when this folder belongs to another store)."""
        found = self.identity()
        if found is not None:
            return found
        path = posixpath.join(self.root, IDENTITY_FILE)
        with contextlib.suppress(OSError):
            self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
            with self.fs.open(path, "wb") as file:
                file.write(json.dumps({"id": store_id}).encode())
            return store_id
        return None

    def exists(self, uri: str) -> bool:
        return bool(self.fs.exists(self.path(uri)))

    def remove(self, uri: str) -> None:
        """Delete `uri` and everything below it; a missing `uri` is not an error."""
        path = self.path(uri)
        if path == self.root:
            raise ValueError(f"Refusing to remove the whole artifact store {self.uri!r}.")
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(path, recursive=True)


def _check_links_inside(folder: Path, root: Path, refuse: Callable[[str], InputError]) -> None:
    """Refuse a folder holding a symlink that leads out of `root` or to nothing."""
    if not folder.is_dir():
        return
    for parent, dirs, files in os.walk(folder):
        for entry in (Path(parent, name) for name in [*dirs, *files]):
            if not entry.is_symlink():
                continue
            target = entry.resolve()
            if not target.is_relative_to(root):
                raise refuse(f"it holds the symlink {str(entry)!r} to {str(target)!r}")
            if not target.exists():
                raise refuse(f"it holds the broken symlink {str(entry)!r}")


_PLAIN = re.compile(r"[A-Za-z0-9._/-]*")  # path characters no URL parser reads differently


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
