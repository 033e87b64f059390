"""LineageQL's GraphQL API. The SDK uses only the names exported here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.embedded import LocalExecutor
    from api.settings import Settings

__all__ = [
    "LocalExecutor",
    "Settings",
    "create_app",
    "create_token",
    "export_schema",
    "serve",
    "upgrade_database",
]


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


def create_token(settings: Settings, scope: str, name: str | None = None) -> tuple[str, str]:
    """A new bearer token with `scope` ("read" or "write"), its SHA-256 stored in the tokens
    file of `settings`; returns (token, name). The token itself is stored nowhere."""
    from api.auth import add_token

    token, entry = add_token(settings.tokens_path, scope, name)
    return token, entry.name


def upgrade_database(url: str, artifact_store: str | None = None) -> None:
    """Migrate the database at `url` to the newest revision; `artifact_store` is the store it
    describes (locations inside it are rewritten store-relative)."""
    from api.storage.migrate import upgrade

    upgrade(url, artifact_store=artifact_store)
