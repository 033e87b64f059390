"""The per-request context: database handle, settings, loaders and a request id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import strawberry

from api.graphql.loaders import Loaders
from api.settings import Settings
from api.storage.engine import Database


@dataclass
class Context:
    db: Database
    settings: Settings
    loaders: Loaders
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # In-process (the SDK's embedded store): there is no server log, so an unexpected error is
    # handed to the caller (its message and the exception itself) instead of logged and masked.
    embedded: bool = False


Info = strawberry.Info[Context, None]


def build_context(db: Database, settings: Settings, *, embedded: bool = False) -> Context:
    """A fresh context (and fresh DataLoaders) for one request."""
    return Context(db=db, settings=settings, loaders=Loaders.create(db), embedded=embedded)
