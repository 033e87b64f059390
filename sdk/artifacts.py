"""Artifacts outside pipelines: `save_artifact` and `load_artifact`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sdk import operations as ops
from sdk.client import Client
from sdk.errors import LineageQLError
from sdk.views import ArtifactVersion

if TYPE_CHECKING:
    from sdk.materializers import BaseMaterializer

SAVED_STEP = "_saved"


def save_artifact(
    data: Any,
    name: str,
    version: str | int | None = None,
    tags: Sequence[str] | None = None,
    materializer: type[BaseMaterializer] | None = None,
    *,
    source: str = "SAVED",
) -> ArtifactVersion:
    """Store `data` as a new version of artifact `name` (the next number unless `version`)."""
    from sdk.materializers import save_data
    from sdk.run import _version_input

    client = Client()
    store = client.store
    uri = store.new_version_uri(SAVED_STEP, name)
    saved = save_data(data, uri, store, materializer)
    variables = {
        "input": _version_input(
            saved,
            name,
            version=None if version is None else str(version),
            tags=list(tags or []),
        ),
        "source": source,
    }
    try:
        created = client.execute(ops.CREATE_ARTIFACT_VERSION, variables)
    except LineageQLError:
        store.remove(uri)
        raise
    return ArtifactVersion.from_graphql(created["createArtifactVersion"], client)


def load_artifact(name_or_id: str, version: str | int | None = None) -> Any:
    """The data of an artifact version: by id, or by name (the latest unless `version`)."""
    return Client().get_artifact_version(name_or_id, version).load()
