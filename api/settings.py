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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("LINEAGEQL_HOME") or DEFAULT_HOME).expanduser().absolute()
        database_url = env.get("LINEAGEQL_DATABASE_URL") or f"sqlite:///{home / 'metadata.db'}"
        store = env.get("LINEAGEQL_ARTIFACT_STORE") or str(home / "artifacts")
        return cls(home=home, database_url=database_url, artifact_store=store)
