"""Artifacts outside pipelines: `save_artifact`, `load_artifact` and `register_artifact`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdk.artifacts.config import (
    ArtifactConfig,
    ArtifactType,
    _custom_version,
    _tags,
    artifact_type_name,
    check_text,
)
from sdk.client.client import Client, resolve
from sdk.client.records import VersionInput
from sdk.client.views import ArtifactVersion
from sdk.errors import InputError, LineageQLError, OutcomeUnknownError
from sdk.metadata import entries

if TYPE_CHECKING:
    from sdk.materializers import BaseMaterializer

SAVED_STEP = "_saved"
EXTERNAL_STEP = "_external"


def save_artifact(
    data: Any,
    name: str,
    version: str | int | None = None,
    tags: Sequence[str] | None = None,
    materializer: type[BaseMaterializer] | None = None,
    *,
    source: str = "SAVED",
    include_visualizations: bool = True,
    extract_metadata: bool = True,
    user_metadata: Mapping[str, Any] | None = None,
    artifact_type: ArtifactType | str | None = None,
    client: Client | None = None,
) -> ArtifactVersion:
    """Store `data` as a new version of artifact `name` (the next number unless `version`).

    `version` may be any allowed text or a number (`"1"` or `1`); a numeric one moves the
    automatic versions past it. The name, version and tags are checked before any data is
    written; an existing version raises ArtifactVersionExistsError and keeps nothing.

    With `include_visualizations=False` the materializer's visualizations are not saved, with
    `extract_metadata=False` no metadata is recorded (as ZenML's arguments of those names).
    `user_metadata` is logged on the new version (see `log_metadata`), apart from what the
    materializer extracts; `artifact_type` says what it holds (`ArtifactType.MODEL`, "MODEL";
    unset: DATA). `client` saves through that client instead of the active one."""
    return save_version(
        resolve(client),
        data,
        name,
        version=version,
        tags=tags,
        materializer=materializer,
        source=source,
        include_visualizations=include_visualizations,
        extract_metadata=extract_metadata,
        user_metadata=user_metadata,
        artifact_type=artifact_type,
    )


def save_version(
    client: Client,
    data: Any,
    name: str,
    *,
    version: str | int | None = None,
    tags: Sequence[str] | None = None,
    materializer: type[BaseMaterializer] | None = None,
    source: str = "SAVED",
    include_visualizations: bool = True,
    extract_metadata: bool = True,
    user_metadata: Mapping[str, Any] | None = None,
    artifact_type: ArtifactType | str | None = None,
) -> ArtifactVersion:
    """`save_artifact` through `client`; `source` is SAVED, or EXTERNAL for a pipeline's
    `ExternalArtifact(value=...)`."""
    from sdk.materializers import save_data

    # The rules the API applies, checked before any byte is written: a refused name, version
    # or tag leaves no folder behind.
    check_text(name, "artifact name")
    checked_version = _custom_version(version)
    checked_tags = _tags(tags or ())
    entries(user_metadata or {})  # refuse what is not JSON before any byte is written
    kind = artifact_type_name(artifact_type)
    store = client.store
    uri = store.new_version_uri(EXTERNAL_STEP if source == "EXTERNAL" else SAVED_STEP, name)
    saved = save_data(
        data,
        uri,
        store,
        materializer,
        visualize=include_visualizations,
        extract_metadata=extract_metadata,
    )
    version_input = VersionInput.from_saved(
        saved,
        name,
        version=checked_version,
        tags=checked_tags,
        store=store,
        run_metadata=user_metadata,
        artifact_type=kind,
    )
    try:
        # The new folder's id as the request's key: a retry registers this folder once.
        created = client.create_version(
            version_input,
            source=source,
            client_key=f"version:{uri.rstrip('/').rsplit('/', 1)[-1]}",
        )
    except OutcomeUnknownError as exc:
        raise OutcomeUnknownError(
            f"{exc}. The data of {name!r} is kept at {uri}: if the version was registered it "
            "loads from there; if not, `lineageql artifacts prune --orphans` reclaims the folder "
            "later. Look it up with Client().list_artifact_versions(name=...) before saving again."
        ) from exc
    except LineageQLError:
        store.remove(uri)  # refused, or never sent: registered nothing
        raise
    _announce(created)
    return created


def load_artifact(
    name_or_id: str,
    version: str | int | None = None,
    *,
    allow_untrusted: bool = False,
    client: Client | None = None,
) -> Any:
    """The data of an artifact version: by id, or by name (the latest unless `version`).

    `allow_untrusted=True` loads a pickled value even when its signature or Python version
    cannot be verified: loading a pickle runs its code, so only for data you trust. `client`
    reads through that client instead of the active one."""
    found = resolve(client).version_to_load(name_or_id, version)
    return found.load(allow_untrusted=allow_untrusted)


def register_artifact(
    folder_or_file_uri: str | os.PathLike[str],
    name: str,
    version: str | int | None = None,
    tags: Sequence[str] | None = None,
    *,
    client: Client | None = None,
) -> ArtifactVersion:
    """Register a file or folder that already lies inside the artifact store as a new version
    of `name` (source REGISTERED), without copying it.

    The content hash (a tree hash for a folder) and the size are computed by reading the data
    where it is. Loading the version gives a `pathlib.Path` to a local copy in a temporary
    folder, shared by equal contents within the process and removed at exit.

    Raises:
        InputError: the URI is outside the store (`..` segments, another scheme, a path
            elsewhere, a symlink leading out), names nothing, or a name/version/tag is refused.
        ArtifactVersionExistsError: `version` already exists for `name`.
    """
    from sdk.materializers import SavedData, hash_tree
    from sdk.materializers.base import type_path
    from sdk.materializers.builtin import PathMaterializer

    check_text(name, "artifact name")
    config = ArtifactConfig(version=version, tags=tags or ())
    client = resolve(client)
    store = client.store
    uri = store.registrable(_uri_text(folder_or_file_uri))
    content_hash, size = hash_tree(uri, store)
    kind = "folder" if store.fs.isdir(store.path(uri)) else "file"
    saved = SavedData(
        uri=uri,
        materializer=type_path(PathMaterializer),
        data_type=type_path(Path),
        content_hash=content_hash,
        size_bytes=size,
        metadata={"kind": kind, "storage_size": size},
        visualizations={},
    )
    version_input = VersionInput.from_saved(
        saved, name, version=config.version, tags=config.tags, store=store
    )
    created = client.create_version(version_input, source="REGISTERED")
    _announce(created)
    return created


def _announce(version: ArtifactVersion) -> None:
    """An OpenLineage event for the new version, when OpenLineage is configured."""
    from sdk.pipeline.openlineage import artifact_saved

    artifact_saved(version)


def _uri_text(uri: object) -> str:
    if isinstance(uri, str | os.PathLike):
        text = os.fspath(uri)
        if isinstance(text, str) and text:
            return text
    raise InputError(
        f"register_artifact() takes the path or URI of a file or folder inside the artifact "
        f"store, as a str or pathlib.Path; got {type(uri).__name__} {uri!r}."
    )
