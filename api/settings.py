"""Configuration read from the environment once, in a factory; never at import time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = ".lineageql"


@dataclass(frozen=True)
class Settings:
    """Everything the API needs to run: where the metadata and the artifacts live, and limits."""

    home: Path
    database_url: str
    artifact_store: str
    default_page_size: int = 50
    max_page_size: int = 500
    default_lineage_page_size: int = 500
    max_lineage_page_size: int = 10_000
    max_lineage_depth: int = 100

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("LINEAGEQL_HOME") or DEFAULT_HOME).expanduser().absolute()
        database_url = env.get("LINEAGEQL_DATABASE_URL") or f"sqlite:///{home / 'metadata.db'}"
        store = env.get("LINEAGEQL_ARTIFACT_STORE") or str(home / "artifacts")
        limits = {
            field: _positive_int(env, variable)
            for field, variable in LIMIT_VARIABLES.items()
            if env.get(variable)
        }
        return cls(home=home, database_url=database_url, artifact_store=store, **limits)


LIMIT_VARIABLES = {
    "max_page_size": "LINEAGEQL_MAX_PAGE_SIZE",
    "max_lineage_page_size": "LINEAGEQL_MAX_LINEAGE_PAGE_SIZE",
    "max_lineage_depth": "LINEAGEQL_MAX_LINEAGE_DEPTH",
}


def _positive_int(env: Mapping[str, str], variable: str) -> int:
    raw = env[variable]
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{variable} must be a positive integer, got {raw!r}")
    return value
