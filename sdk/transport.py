"""How GraphQL documents reach the API: in-process (embedded) or over HTTP.

The only module of the SDK (with the CLI) that touches `api`, and only through its root."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from sdk.errors import GraphQLError, TransportError

if TYPE_CHECKING:
    import httpx

ENV_KEYS = (
    "LINEAGEQL_URL",
    "LINEAGEQL_TOKEN",
    "LINEAGEQL_HOME",
    "LINEAGEQL_DATABASE_URL",
    "LINEAGEQL_ARTIFACT_STORE",
)


class Transport(Protocol):
    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of the response; raises GraphQLError when the response has errors."""
        ...


def _data_or_raise(response: Mapping[str, Any]) -> dict[str, Any]:
    errors = response.get("errors")
    if errors:
        raise GraphQLError("; ".join(str(e.get("message")) for e in errors), list(errors))
    data = response.get("data")
    if not isinstance(data, dict):
        raise GraphQLError("the API answered without data", [])
    return data


class LocalTransport:
    """Executes the API's schema in this process, on the local database and store."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        import api

        self.settings = api.Settings.from_env(env)
        self._executor = api.LocalExecutor(self.settings)

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return _data_or_raise(self._executor.execute(document, dict(variables or {})))

    def close(self) -> None:
        self._executor.close()


class HttpTransport:
    """POSTs documents to a LineageQL server; accepts an `httpx.Client` (or a test client)."""

    def __init__(
        self, url: str, token: str | None = None, client: httpx.Client | None = None
    ) -> None:
        import httpx

        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))
        self._headers = headers

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        import httpx

        payload = {"query": document, "variables": dict(variables or {})}
        try:
            response = self._client.post(self.url, json=payload, headers=self._headers)
        except httpx.HTTPError as exc:
            raise TransportError(
                f"cannot reach the LineageQL server at {self.url} ({exc}); start it with "
                "`lineageql serve` or unset LINEAGEQL_URL to use the embedded store"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            raise TransportError(
                f"the server at {self.url} answered HTTP {response.status_code} without JSON: "
                f"{response.text[:200]!r}"
            ) from None
        if not isinstance(body, dict):
            raise TransportError(f"the server at {self.url} answered with unexpected JSON")
        return _data_or_raise(body)

    def close(self) -> None:
        self._client.close()


_cache: dict[tuple[str | None, ...], Transport] = {}
_cache_lock = threading.Lock()


def transport_from_env(env: Mapping[str, str] | None = None) -> Transport:
    """HTTP when LINEAGEQL_URL is set, else embedded; one transport per configuration."""
    env = os.environ if env is None else env
    key = tuple(env.get(name) for name in ENV_KEYS)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is None:
            url = env.get("LINEAGEQL_URL")
            cached = (
                HttpTransport(url, env.get("LINEAGEQL_TOKEN")) if url else LocalTransport(dict(env))
            )
            _cache[key] = cached
        return cached
