"""LineageQL's GraphQL API. The SDK uses only the names exported here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.embedded import LocalExecutor
    from api.settings import Settings

__all__ = ["LocalExecutor", "Settings", "create_app", "export_schema", "serve", "upgrade_database"]


def __getattr__(name: str) -> Any:
    # Lazy: importing `api` must not pull in Strawberry or SQLAlchemy until they are needed.
    if name == "LocalExecutor":
        from api.embedded import LocalExecutor

        return LocalExecutor
    if name == "Settings":
        from api.settings import Settings

        return Settings
    if name in ("create_app", "serve"):
        from api import app

        return getattr(app, name)
    raise AttributeError(f"module 'api' has no attribute {name!r}")


def export_schema() -> str:
    """The SDL of the live schema."""
    from api.graphql.schema import print_sdl

    return print_sdl()


def upgrade_database(url: str) -> None:
    """Migrate the database at `url` to the newest revision."""
    from api.storage.migrate import upgrade

    upgrade(url)
