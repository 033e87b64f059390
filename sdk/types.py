"""Type aliases shared across the SDK (one place, as `starlette.types`)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

# A JSON object: GraphQL variables and answers, error extensions, `--json` output, OpenLineage
# facets. Its values are whatever JSON holds, hence Any; the client turns answers into typed
# views (sdk.client.views, sdk.client.records) before other modules see them.
JsonObject = dict[str, Any]

IdLike = str | uuid.UUID  # an id given as a `uuid.UUID` or its string


class VisualizationType(StrEnum):
    """The kind of a visualization, in ZenML's spelling (`"html"`, …). GraphQL spells the same
    enum in capitals (`HTML`); either spelling converts (`VisualizationType("HTML")`)."""

    HTML = "html"
    MARKDOWN = "markdown"
    IMAGE = "image"
    CSV = "csv"
    JSON = "json"

    @classmethod
    def _missing_(cls, value: object) -> VisualizationType | None:
        lowered = str(value).lower()
        return next((member for member in cls if member.value == lowered), None)
