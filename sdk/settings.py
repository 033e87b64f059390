"""The SDK's configuration: every LINEAGEQL_* variable it reads, read once per client.

`Settings.from_env()` is the one place the SDK reads its environment (the embedded API reads
the same variables through `api.Settings`, handed the mapping captured here). Two exceptions
read at their point of use, because they work on data without a client: LINEAGEQL_VERIFY
(`sdk.artifacts.verify`, how a load checks data) and the store secret used to sign pickles
(`sdk.artifacts.secret`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sdk.errors import InputError

PREFIX = "LINEAGEQL_"
DEFAULT_RETRIES = 4  # attempts after the first, for requests that are safe to repeat
DEFAULT_BACKOFF = 0.25  # seconds before the first retry, doubled each time (capped at 5 s)
DEFAULT_TIMEOUT = 60.0
DEFAULT_HEARTBEAT = 30.0  # seconds between a running pipeline's heartbeats


@dataclass(frozen=True)
class Settings:
    """Where the SDK sends its documents and how: a server (`url`) or the embedded store.

    `environment` holds every LINEAGEQL_* variable seen, for the embedded API to read its own
    settings (home, database, store, limits) from the same snapshot."""

    url: str | None = None
    token: str | None = None
    artifact_store: str | None = None  # LINEAGEQL_ARTIFACT_STORE, else the one the API reports
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    timeout: float = DEFAULT_TIMEOUT
    heartbeat_interval: float | None = DEFAULT_HEARTBEAT
    environment: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of `env` (default `os.environ`); InputError names a bad value."""
        env = os.environ if env is None else env
        seen = prefixed(PREFIX, env)
        return cls(
            url=env.get("LINEAGEQL_URL") or None,
            token=env.get("LINEAGEQL_TOKEN") or None,
            artifact_store=env.get("LINEAGEQL_ARTIFACT_STORE") or None,
            heartbeat_interval=_heartbeat(env),
            environment=seen,
            **_retry_settings(env),
        )

    @property
    def env(self) -> dict[str, str]:
        return dict(self.environment)


def prefixed(prefix: str, env: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """The variables of `env` (default `os.environ`) whose names start with `prefix`, sorted.
    On `os.environ` the names are matched undecoded (`os.environb`), so a look at the process
    environment, which the SDK takes at each call, costs a quarter of decoding all of it."""
    if env is None or env is os.environ:
        if os.supports_bytes_environ:
            raw, start = os.environb, os.fsencode(prefix)
            return tuple(
                sorted((os.fsdecode(k), os.fsdecode(raw[k])) for k in raw if k.startswith(start))
            )
        env = os.environ
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith(prefix)))


def _number(env: Mapping[str, str], variable: str, kind: type[int] | type[float]) -> Any:
    raw = env.get(variable, "").strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise InputError(f"{variable} must be a non-negative number, got {raw!r}")
    return value


def _retry_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Retries (attempts after the first), backoff and timeout (seconds) of HTTP requests:
    LINEAGEQL_RETRIES, LINEAGEQL_RETRY_BACKOFF and LINEAGEQL_TIMEOUT."""
    found: dict[str, Any] = {}
    for key, variable, kind in (
        ("retries", "LINEAGEQL_RETRIES", int),
        ("backoff", "LINEAGEQL_RETRY_BACKOFF", float),
        ("timeout", "LINEAGEQL_TIMEOUT", float),
    ):
        value = _number(env, variable, kind)
        if value is None:
            continue
        if key == "timeout" and value == 0:
            raise InputError(f"{variable} must be a positive number of seconds, got 0")
        found[key] = value
    return found


def _heartbeat(env: Mapping[str, str]) -> float | None:
    """Seconds between a running pipeline's heartbeats: LINEAGEQL_HEARTBEAT_INTERVAL (default
    30; 0 or "off" sends none, and the run is then never recorded ABANDONED)."""
    raw = env.get("LINEAGEQL_HEARTBEAT_INTERVAL", "").strip().lower()
    if not raw:
        return DEFAULT_HEARTBEAT
    if raw in {"0", "off", "false", "no"}:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.05 <= value <= 86_400:
        raise InputError(
            f"LINEAGEQL_HEARTBEAT_INTERVAL must be seconds between 0.05 and 86400, or 0/off to "
            f"send none (got {raw!r})"
        )
    return value
