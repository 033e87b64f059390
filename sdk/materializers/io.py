"""Saving a value into a version directory and loading it back: the SDK's two entry points."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import pickle
import posixpath
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sdk.artifacts.store import ArtifactStore
from sdk.errors import LineageQLError, StoreFullError
from sdk.materializers.base import (
    BaseMaterializer,
    FileDigest,
    MaterializerError,
    VisualizationType,
    new_hasher,
    tree_hash,
    type_path,
)
from sdk.materializers.registry import (
    FALLBACK,
    import_materializer,
    import_object,
    materializer_for,
)
from sdk.types import JsonObject

log = logging.getLogger("lineageql")

VISUALIZATIONS = "visualizations"  # `{version}/visualizations/`: never part of the content hash
_FULL = (errno.ENOSPC, errno.EDQUOT)
_CHUNK = 4 << 20


@dataclass(frozen=True)
class SavedData:
    uri: str
    materializer: str  # "module:QualName" of the materializer class
    data_type: str  # "module:QualName" of type(data)
    content_hash: str
    size_bytes: int
    metadata: JsonObject
    visualizations: dict[str, VisualizationType]  # uri -> kind (a str enum: "html", ...)


def save_data(
    data: Any,
    uri: str,
    store: ArtifactStore,
    materializer: type[BaseMaterializer] | None = None,
    *,
    visualize: bool = True,
    extract_metadata: bool = True,
) -> SavedData:
    """Save `data` into the empty version directory `uri`; on any error, remove `uri` again.

    With `extract_metadata=False` no metadata is recorded (not the materializer's, not the
    storage size; the size stays in `size_bytes`).

    The content hash and size cover every file the materializer left in `uri` except
    `visualizations/`: files written through `open(relpath, "wb")` were hashed while being
    written, any other (plain `open()` under `uri`, fsspec, a library's own writer) is read
    back once after `save()`.

    With `visualize`, the materializer's visualizations are written too; a failure there is
    logged as a warning and the version is saved without them.

    Raises:
        StoreFullError: the disk under the store filled up (ENOSPC or EDQUOT), cause chained.
        MaterializerError: the materializer failed or refused the value (a pickling error
            included)."""
    cls = _chosen(data) if materializer is None else _checked(materializer, data)
    path = store.path(uri)
    if _has_entries(store, path):
        raise MaterializerError(
            f"The version directory {uri} is not empty; save every version into a new one "
            "from ArtifactStore.new_version_uri()."
        )
    try:
        instance = cls(uri, store)
        instance.save(data)
        files = data_digests(instance)
        size = sum(f.size for f in files)
        metadata = {**instance.extract_metadata(data), "storage_size": size}
        _check_json(metadata, cls)
        if not extract_metadata:
            metadata = {}
        visualizations: dict[str, VisualizationType] = {}
        if visualize:
            visualizations = save_visualizations(instance, data, files)
            # Files a visualization left outside `visualizations/` without naming them count
            # as data, so that verification (which skips only those) finds the same hash.
            shown = {relative_to_version(store, uri, key) for key in visualizations}
            final = data_digests(instance, exclude=shown)
            if final != files:
                files, size = final, sum(f.size for f in final)
                if extract_metadata:
                    metadata["storage_size"] = size
    except BaseException as exc:
        with contextlib.suppress(OSError):  # keep the original error
            store.remove(uri)
        translated = _translated(exc, data, uri, store)
        if translated is None:
            raise
        raise translated from exc
    return SavedData(
        uri=uri,
        materializer=type_path(cls),
        data_type=type_path(type(data)),
        content_hash=tree_hash(files),
        size_bytes=size,
        metadata=metadata,
        visualizations=visualizations,
    )


def _has_entries(store: ArtifactStore, path: str) -> bool:
    if store.local:
        try:
            with os.scandir(path) as entries:
                return next(entries, None) is not None
        except (FileNotFoundError, NotADirectoryError):
            return False
    return bool(store.fs.exists(path) and store.fs.ls(path))


def disk_full(exc: BaseException) -> OSError | None:
    """The ENOSPC/EDQUOT error behind `exc` (itself, or its cause or context), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _FULL:
            return current
        current = current.__cause__ or current.__context__
    return None


def _translated(
    exc: BaseException, data: Any, uri: str, store: ArtifactStore
) -> LineageQLError | None:
    """The error a failed save surfaces as, when it is not `exc` itself."""
    if isinstance(exc, StoreFullError):
        return None
    full = disk_full(exc)
    if full is not None:
        reason = "over quota" if full.errno == errno.EDQUOT else "no space left on the device"
        error = StoreFullError(
            f"The artifact store {store.uri} is full ({reason}) while saving a "
            f"{type_path(type(data))} into {uri}. Nothing was registered and the partial "
            "files were removed. Free space (`lineageql artifacts prune` deletes unused "
            "versions, `--orphans` leftovers of interrupted saves) or point "
            "LINEAGEQL_ARTIFACT_STORE at a store with room, then save again."
        )
        error.errno = full.errno
        return error
    if isinstance(exc, pickle.PicklingError) and not isinstance(exc, LineageQLError):
        return MaterializerError(
            f"Cannot save a {type_path(type(data))}: pickling it failed ({exc}). Register a "
            "materializer for this type with sdk.materializers.register(...), or make the "
            "value picklable."
        )
    return None


def data_digests(instance: BaseMaterializer, exclude: Collection[str] = ()) -> list[FileDigest]:
    """The digest of every file in the version directory but `visualizations/` and `exclude`:
    those written through `instance.open(..., "wb")` as hashed while writing, the others
    (written by other means) read back now."""
    return folder_digests(instance.store, instance.uri, instance.written(), exclude)


def folder_digests(
    store: ArtifactStore,
    uri: str,
    known: Collection[FileDigest] = (),
    exclude: Collection[str] = (),
    *,
    read: bool = True,
) -> list[FileDigest]:
    """Digests of the files below the version directory `uri`, except `visualizations/` and
    the relative paths in `exclude`, sorted. A file in `known` with the size found is not read
    again; without `read`, no file is read and every digest is "" (sizes only)."""
    root = store.path(uri)
    digests = {d.relpath: d for d in known}
    found: list[FileDigest] = []
    for relpath, path, size in _listing(store, root):
        if is_visualization(relpath) or relpath in exclude:
            continue
        recorded = digests.get(relpath)
        if recorded is not None and recorded.size == size:
            found.append(recorded)
        elif read:
            found.append(FileDigest(relpath, *file_digest(store, path)))
        else:
            found.append(FileDigest(relpath, "", size))
    return sorted(found)


def is_visualization(relpath: str) -> bool:
    return relpath == VISUALIZATIONS or relpath.startswith(VISUALIZATIONS + "/")


def _listing(store: ArtifactStore, root: str) -> list[tuple[str, str, int]]:
    """(relative path, fs path, size) of every file below the directory `root`."""
    if store.local:
        return _local_listing(root)
    try:
        found = store.fs.find(root, detail=True)
    except FileNotFoundError:
        return []
    base = root.strip("/")
    entries = []
    for path, info in found.items():
        if info.get("type") == "directory":
            continue
        relpath = posixpath.relpath(path.strip("/"), base) if base else path.strip("/")
        entries.append((relpath, path, int(info.get("size") or 0)))
    return entries


def _local_listing(root: str) -> list[tuple[str, str, int]]:
    """`_listing` of a local directory with `os.scandir`: what fsspec's local `find` lists
    (a symlink as one entry, never walked into), without its `info` call per entry."""
    entries: list[tuple[str, str, int]] = []
    pending = [("", root)]
    while pending:
        prefix, folder = pending.pop()
        try:
            scanned = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in scanned:
            relpath = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                pending.append((relpath + "/", entry.path))
                continue
            try:  # a symlink is an entry of its own (to a folder too), sized as its target
                size = entry.stat().st_size
            except FileNotFoundError:  # dangling
                size = 0
            entries.append((relpath, entry.path, size))
    return entries


def relative_to_version(store: ArtifactStore, uri: str, inside: str) -> str:
    """The path of the store URI `inside` relative to the version directory `uri`."""
    try:
        return posixpath.relpath(store.path(inside).strip("/"), store.path(uri).strip("/"))
    except ValueError:
        return inside


def file_digest(store: ArtifactStore, path: str) -> tuple[str, int]:
    """The content digest and size of one file, read in a stream."""
    hasher, size = new_hasher(), 0
    if store.local:
        buffer = bytearray(_CHUNK)
        view = memoryview(buffer)
        with open(path, "rb", buffering=0) as raw:
            while count := raw.readinto(view):
                hasher.update(view[:count])
                size += count
    else:
        with store.fs.open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                hasher.update(chunk)
                size += len(chunk)
    return str(hasher.hexdigest()), size


def save_visualizations(
    instance: BaseMaterializer, data: Any, files: list[FileDigest]
) -> dict[str, VisualizationType]:
    """`instance.save_visualizations(data)`, checked: every uri must lie inside the version
    directory (a relative path is taken as relative to it). Any error is logged as a warning,
    the files written for the visualizations are removed, and none are recorded."""
    store, root = instance.store, instance.store.path(instance.uri)
    before = {relpath for relpath, _, _ in _listing(store, root)}
    try:
        found = instance.save_visualizations(data)
        instance.written()
        return {_inside(instance, key): VisualizationType(kind) for key, kind in found.items()}
    except Exception as exc:  # noqa: BLE001 - a visualization never fails the save
        log.warning(
            "%s could not save visualizations for a %s (%s: %s); the version is saved without them",
            type(instance).__qualname__,
            type(data).__qualname__,
            type(exc).__name__,
            exc,
        )
        with contextlib.suppress(OSError):
            instance.written()
        keep = before | {f.relpath for f in files}
        for relpath, path, _ in _listing(store, root):
            if relpath not in keep:
                with contextlib.suppress(OSError):
                    store.fs.rm(path)
        return {}


def _inside(instance: BaseMaterializer, key: str) -> str:
    """The store URI of a visualization file, which must lie inside the version directory."""
    store, base = instance.store, instance.uri
    if key.startswith(base.rstrip("/") + "/"):
        uri = key  # as `visuals.write` names them: inside the version, so inside the store
    else:
        uri = key if store.contains(key) else posixpath.join(base, key)
    path, root = store.path(uri), store.path(base)
    if not path.startswith(root.rstrip("/") + "/") or not store.fs.isfile(path):
        raise MaterializerError(
            f"visualization {key!r} is not a file inside the version directory {base}"
        )
    return uri


def load_data(uri: str, materializer: str, data_type: str, store: ArtifactStore) -> Any:
    """Load the value saved at `uri` with the materializer at import path `materializer`."""
    return import_materializer(materializer)(uri, store).load(import_type(data_type))


def import_type(path: str) -> type[Any]:
    """The class at `module:QualName`, or `object` when it cannot be imported here."""
    if path == "builtins:NoneType":
        return type(None)
    try:
        found = import_object(path)
    except (ImportError, AttributeError, ValueError):
        return object
    return found if isinstance(found, type) else object


def hash_tree(uri: str, store: ArtifactStore) -> tuple[str, int]:
    """Content hash and size of the files at `uri`, read back (for registered data, when it
    is registered and when it is verified)."""
    root = store.path(uri)
    if not store.fs.exists(root):
        raise MaterializerError(f"There is no file or folder at {uri}.")
    digests = []
    for path in sorted(store.fs.find(root)):
        relpath = posixpath.relpath(path.lstrip("/"), root.lstrip("/"))
        relpath = posixpath.basename(path) if relpath == "." else relpath
        digests.append(FileDigest(relpath, *file_digest(store, path)))
    return tree_hash(digests), sum(d.size for d in digests)


def _chosen(data: Any) -> type[BaseMaterializer]:
    cls = materializer_for(type(data))
    return cls if cls.can_save(data) else import_materializer(FALLBACK)


def _checked(materializer: type[BaseMaterializer], data: Any) -> type[BaseMaterializer]:
    cls = materializer
    if not (isinstance(cls, type) and issubclass(cls, BaseMaterializer)):
        raise MaterializerError(f"materializer must be a BaseMaterializer subclass, not {cls!r}.")
    if not isinstance(data, cls.ASSOCIATED_TYPES) or not cls.can_save(data):
        raise MaterializerError(
            f"{cls.__qualname__} cannot save a {type_path(type(data))} exactly (it handles "
            f"{', '.join(t.__qualname__ for t in cls.ASSOCIATED_TYPES)}). Choose another "
            "materializer, or leave it unset to pick one by type."
        )
    return cls


def _check_json(metadata: JsonObject, cls: type[BaseMaterializer]) -> None:
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise MaterializerError(
            f"{cls.__qualname__}.extract_metadata() returned values that are not JSON-safe "
            f"({error}); return only str, int, float, bool, None, lists and str-keyed dicts."
        ) from error
