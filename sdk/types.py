"""Type aliases shared across the SDK (one place, as `starlette.types`)."""

from __future__ import annotations

import uuid
from typing import Any

# A JSON object: GraphQL variables and answers, error extensions, `--json` output, OpenLineage
# facets. Its values are whatever JSON holds, hence Any; the client turns answers into typed
# views (sdk.client.views, sdk.client.records) before other modules see them.
JsonObject = dict[str, Any]

IdLike = str | uuid.UUID  # an id given as a `uuid.UUID` or its string
