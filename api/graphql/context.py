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


Info = strawberry.Info[Context, None]


def build_context(db: Database, settings: Settings) -> Context:
    """A fresh context (and fresh DataLoaders) for one request."""
    return Context(db=db, settings=settings, loaders=Loaders.create(db))
