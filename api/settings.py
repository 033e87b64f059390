"""Configuration read from the environment once, in a factory; never at import time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    # PostgreSQL connection pool of each server process (see POOL_VARIABLES); a server opens
    # at most workers x (db_pool_size + db_max_overflow) connections.
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout: int = 30
    db_pool_pre_ping: bool = True
    # Request limits; each is answered with LIMIT_EXCEEDED naming it (see LIMIT_VARIABLES).
    max_query_depth: int = 15
    max_aliases: int = 30
    # Fields a document selects once its fragments are expanded (checked before validation).
    max_fields: int = 500
    max_tokens: int = 5_000
    max_batch_operations: int = 10
    max_body_bytes: int = 4 * 1024 * 1024
    # Nesting of arrays and objects in a request's JSON (its variables, batches).
    max_json_depth: int = 64
    introspection: bool = True
    # Access: hashed bearer tokens from a file (default `{home}/tokens.json`) and from
    # LINEAGEQL_TOKENS (`scope:sha256hex` entries); none configured means no authentication.
    tokens_file: Path | None = None
    env_tokens: tuple[str, ...] = ()
    # Set by `serve` for its workers (LINEAGEQL_BIND_HOST, LINEAGEQL_INSECURE_NO_AUTH): the
    # address bound, which decides whether tokens are required and Host headers checked.
    bind_host: str | None = None
    insecure_no_auth: bool = False
    # Host header names accepted besides the loopback ones (LINEAGEQL_ALLOWED_HOSTS, comma
    # separated; `*.example.com` matches subdomains).
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A configured maximum below a default page size lowers the default with it.
        for default, maximum in (
            ("default_page_size", "max_page_size"),
            ("default_lineage_page_size", "max_lineage_page_size"),
        ):
            if getattr(self, default) > getattr(self, maximum):
                object.__setattr__(self, default, getattr(self, maximum))

    @property
    def tokens_path(self) -> Path:
        """The tokens file: LINEAGEQL_TOKENS_FILE, else `tokens.json` in the home folder."""
        return self.tokens_file or self.home / "tokens.json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("LINEAGEQL_HOME") or DEFAULT_HOME).expanduser().absolute()
        database_url = env.get("LINEAGEQL_DATABASE_URL") or f"sqlite:///{home / 'metadata.db'}"
        store = env.get("LINEAGEQL_ARTIFACT_STORE") or str(home / "artifacts")
        limits: dict[str, Any] = {  # typed loosely: Settings has fields of other types too
            field: _positive_int(env, variable)
            for field, variable in LIMIT_VARIABLES.items()
            if env.get(variable)
        }
        limits.update(pool_settings(env))
        tokens_file = env.get("LINEAGEQL_TOKENS_FILE")
        return cls(
            home=home,
            database_url=database_url,
            artifact_store=store,
            introspection=_flag(env, "LINEAGEQL_INTROSPECTION", default=True),
            tokens_file=Path(tokens_file).expanduser().absolute() if tokens_file else None,
            env_tokens=_list(env, "LINEAGEQL_TOKENS"),
            bind_host=env.get("LINEAGEQL_BIND_HOST") or None,
            insecure_no_auth=_flag(env, "LINEAGEQL_INSECURE_NO_AUTH", default=False),
            allowed_hosts=_list(env, "LINEAGEQL_ALLOWED_HOSTS"),
            **limits,  # the limits and the pool settings set in `env`
        )


LIMIT_VARIABLES = {
    "max_page_size": "LINEAGEQL_MAX_PAGE_SIZE",
    "max_lineage_page_size": "LINEAGEQL_MAX_LINEAGE_PAGE_SIZE",
    "max_lineage_depth": "LINEAGEQL_MAX_LINEAGE_DEPTH",
    "max_query_depth": "LINEAGEQL_MAX_QUERY_DEPTH",
    "max_aliases": "LINEAGEQL_MAX_ALIASES",
    "max_fields": "LINEAGEQL_MAX_FIELDS",
    "max_tokens": "LINEAGEQL_MAX_TOKENS",
    "max_batch_operations": "LINEAGEQL_MAX_BATCH_OPERATIONS",
    "max_body_bytes": "LINEAGEQL_MAX_BODY_BYTES",
    "max_json_depth": "LINEAGEQL_MAX_JSON_DEPTH",
}


POOL_VARIABLES = {  # field: (variable, smallest value)
    "db_pool_size": ("LINEAGEQL_DB_POOL_SIZE", 1),
    "db_max_overflow": ("LINEAGEQL_DB_MAX_OVERFLOW", 0),
    "db_pool_timeout": ("LINEAGEQL_DB_POOL_TIMEOUT", 1),
}


def pool_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The pool fields set in `env`: connections kept, extra ones allowed, seconds to wait, and
    whether each connection is tested (one round trip) when taken from the pool."""
    values: dict[str, Any] = {}
    for field, (variable, smallest) in POOL_VARIABLES.items():
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            value = smallest - 1
        if value < smallest:
            raise ValueError(f"{variable} must be an integer >= {smallest}, got {raw!r}")
        values[field] = value
    if env.get("LINEAGEQL_DB_POOL_PRE_PING", "").strip():
        values["db_pool_pre_ping"] = _flag(env, "LINEAGEQL_DB_POOL_PRE_PING", default=True)
    return values


def _list(env: Mapping[str, str], variable: str) -> tuple[str, ...]:
    return tuple(filter(None, map(str.strip, env.get(variable, "").split(","))))


def _positive_int(env: Mapping[str, str], variable: str) -> int:
    raw = env[variable]
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{variable} must be a positive integer, got {raw!r}")
    return value


def _flag(env: Mapping[str, str], variable: str, *, default: bool) -> bool:
    raw = env.get(variable)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{variable} must be true or false (or 1/0, yes/no, on/off), got {raw!r}")
