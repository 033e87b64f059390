"""Saving a value into a version directory and loading it back: the SDK's two entry points."""

from __future__ import annotations

import contextlib
import json
import logging
import posixpath
from dataclasses import dataclass
from typing import Any

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
from sdk.store import ArtifactStore

log = logging.getLogger("lineageql")


@dataclass(frozen=True)
class SavedData:
    uri: str
    materializer: str  # "module:QualName" of the materializer class
    data_type: str  # "module:QualName" of type(data)
    content_hash: str
    size_bytes: int
    metadata: dict[str, Any]
    visualizations: dict[str, VisualizationType]  # uri -> kind (a str enum: "html", ...)


def save_data(
    data: Any,
    uri: str,
    store: ArtifactStore,
    materializer: type[BaseMaterializer] | None = None,
    *,
    visualize: bool = True,
) -> SavedData:
    """Save `data` into the empty version directory `uri`; on any error, remove `uri` again.

    With `visualize`, the materializer's visualizations are written too; a failure there is
    logged as a warning and the version is saved without them."""
    cls = _chosen(data) if materializer is None else _checked(materializer, data)
    path = store.path(uri)
    if store.fs.exists(path) and store.fs.ls(path):
        raise MaterializerError(
            f"The version directory {uri} is not empty; save every version into a new one "
            "from ArtifactStore.new_version_uri()."
        )
    try:
        instance = cls(uri, store)
        instance.save(data)
        files = instance.written()
        size = sum(f.size for f in files)
        metadata = {**instance.extract_metadata(data), "storage_size": size}
        _check_json(metadata, cls)
        # Visualization files are not part of the content hash (`files` is already taken).
        visualizations = save_visualizations(instance, data, files) if visualize else {}
    except BaseException:
        with contextlib.suppress(OSError):  # keep the original error
            store.remove(uri)
        raise
    return SavedData(
        uri=uri,
        materializer=type_path(cls),
        data_type=type_path(type(data)),
        content_hash=tree_hash(files),
        size_bytes=size,
        metadata=metadata,
        visualizations=visualizations,
    )


def save_visualizations(
    instance: BaseMaterializer, data: Any, files: list[FileDigest]
) -> dict[str, VisualizationType]:
    """`instance.save_visualizations(data)`, checked: every uri must lie inside the version
    directory (a relative path is taken as relative to it). Any error is logged as a warning,
    the files written for the visualizations are removed, and none are recorded."""
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
        data_files = {f.relpath for f in files}
        for written in instance.written():
            if written.relpath not in data_files:
                with contextlib.suppress(OSError, MaterializerError):
                    instance.store.fs.rm(instance._fs_path(written.relpath))
        return {}


def _inside(instance: BaseMaterializer, key: str) -> str:
    """The store URI of a visualization file, which must lie inside the version directory."""
    store, base = instance.store, instance.uri
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
    """Content hash and size of the files at `uri`, read back (for registered data)."""
    root = store.path(uri)
    if not store.fs.exists(root):
        raise MaterializerError(f"There is no file or folder at {uri}.")
    digests = []
    for path in sorted(store.fs.find(root)):
        hasher, size = new_hasher(), 0
        with store.fs.open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                hasher.update(chunk)
                size += len(chunk)
        relpath = posixpath.relpath(path.lstrip("/"), root.lstrip("/"))
        relpath = posixpath.basename(path) if relpath == "." else relpath
        digests.append(FileDigest(relpath, hasher.hexdigest(), size))
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


def _check_json(metadata: dict[str, Any], cls: type[BaseMaterializer]) -> None:
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise MaterializerError(
            f"{cls.__qualname__}.extract_metadata() returned values that are not JSON-safe "
            f"({error}); return only str, int, float, bool, None, lists and str-keyed dicts."
        ) from error
