"""How GraphQL documents reach the API: in-process (embedded) or over HTTP.

The only module of the SDK (with the CLI) that touches `api`, and only through its root."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from sdk.errors import GraphQLError, OutcomeUnknownError, TransportError
from sdk.settings import DEFAULT_BACKOFF, DEFAULT_RETRIES, DEFAULT_TIMEOUT, Settings
from sdk.types import JsonObject

if TYPE_CHECKING:
    import httpx

    import api


class Transport(Protocol):
    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> JsonObject:
        """The `data` of the response; raises GraphQLError when the response has errors."""
        ...


def _data_or_raise(response: Mapping[str, Any]) -> JsonObject:
    errors = response.get("errors")
    if errors:
        raise GraphQLError("; ".join(str(e.get("message")) for e in errors), list(errors))
    data = response.get("data")
    if not isinstance(data, dict):
        raise GraphQLError("the API answered without data", [])
    return data


class LocalTransport:
    """Executes the API's schema in this process, on the local database and store. The
    database is opened (and migrated) by the first request, and again by the first request
    after `close()`."""

    repeats_requests = False  # in-process: every answer arrives, so none is ever sent twice

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        import api

        self.settings = api.Settings.from_env(env)
        self._executor: api.LocalExecutor | None = None
        self._lock = threading.Lock()

    def _open(self) -> api.LocalExecutor:
        executor = self._executor
        if executor is None:
            with self._lock:
                if self._executor is None:
                    import api

                    self._executor = api.LocalExecutor(self.settings)
                executor = self._executor
        return executor

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> JsonObject:
        response = self._open().execute(document, dict(variables or {}))
        cause = response.pop("lineageqlCause", None)
        try:
            return _data_or_raise(response)
        except GraphQLError as exc:
            if isinstance(cause, BaseException):
                raise exc from cause  # the exception behind an unexpected error, unmasked
            raise

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.close()


RETRY_STATUS = frozenset({502, 503, 504})  # a proxy or load balancer, not the API, answered


def _repeatable(keyword: str, variables: Mapping[str, Any] | None) -> bool:
    """Whether sending an operation twice does what sending it once does: a query, or a
    mutation that carries the client's idempotency key (`clientKey`, at the top or in `input`)."""
    if keyword != "mutation":
        return True
    variables = variables or {}
    nested = variables.get("input")
    return variables.get("clientKey") is not None or (
        isinstance(nested, Mapping) and nested.get("clientKey") is not None
    )


def _operation_keyword(document: str) -> str:
    for line in document.splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            word = text.split(None, 1)[0].split("(", 1)[0].split("{", 1)[0]
            return word if word in {"query", "mutation", "subscription", "fragment"} else "query"
    return "query"


@functools.lru_cache(maxsize=512)
def _sha256(document: str) -> str:
    """A document's persisted-operation hash (SHA-256 of its UTF-8, hex), once per document."""
    return hashlib.sha256(document.encode("utf-8", "surrogatepass")).hexdigest()


PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"


def _persisted_refusal(status: int, body: Mapping[str, Any] | None, text: str) -> str | None:
    """Why a server refused a persisted operation without running it: "not found" (it does not
    know the hash: send the text), "unsupported" (it does not do persisted operations at all,
    or not this way: send text only from now on), or None (an answer to the operation).

    Only a refusal of the request as a whole counts (no data, no error located in the
    operation) that names persisted queries, or a missing query (a server that ignores the
    extension): such a request ran nothing. `body` is the JSON object answered, else None and
    `text` the answer."""
    if body is None:  # not JSON: a plain-text refusal of a server without the protocol
        wording = text.lower()
        if status == 400 and ("persisted" in wording or "no graphql query" in wording):
            return "unsupported"
        return None
    errors = body.get("errors")
    if body.get("data") is not None or not isinstance(errors, list) or not errors:
        return None
    if any(not isinstance(error, Mapping) or error.get("path") for error in errors):
        return None
    codes = {(error.get("extensions") or {}).get("code") for error in errors}
    if codes == {PERSISTED_QUERY_NOT_FOUND}:
        return "not found"
    messages = " ".join(str(error.get("message", "")) for error in errors).lower()
    if (
        PERSISTED_QUERY_NOT_SUPPORTED in codes
        or "persistedquery" in messages
        or "persisted query" in messages
        or "no graphql query" in messages
    ):
        return "unsupported"
    return None


class HttpTransport:
    """POSTs documents to a LineageQL server; accepts an `httpx.Client` (or a test client).

    A request that is safe to repeat (`_repeatable`) is retried, with exponential backoff, on
    connection errors, timeouts and HTTP 502/503/504, up to `retries` more times. When a
    mutation may have reached the server and no answer came back, OutcomeUnknownError says so:
    the caller must not assume it failed (and must not delete what it registered).

    Documents go as persisted operations (Apollo's automatic persisted queries): the
    document's SHA-256 alone and, when the server does not know it (PERSISTED_QUERY_NOT_FOUND:
    it ran nothing), the text with the hash in a second request within the same attempt (no
    retry is spent). A server that refuses persisted operations otherwise gets the text from
    then on, for the life of this transport; `persisted=False` sends the text always."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        client: httpx.Client | None = None,
        *,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        timeout: float = DEFAULT_TIMEOUT,
        persisted: bool = True,
    ) -> None:
        import httpx

        self.url = url
        self.persisted = persisted  # turned off for good by a server without the protocol
        self.retries = max(0, retries)
        self.repeats_requests = self.retries > 0  # so requests that create things carry keys
        self.backoff = max(0.0, backoff)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0))
        self._headers = headers

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> JsonObject:
        import httpx

        variables = dict(variables or {})
        keyword = _operation_keyword(document)
        mutation = keyword == "mutation"
        attempts = 1 + (self.retries if _repeatable(keyword, variables) else 0)
        # What a request carries: the "hash" alone, "both" the text and its hash, or "text".
        send = "hash" if self.persisted else "text"
        maybe_applied = False  # some attempt may have reached the server
        failure = ""
        last: BaseException | None = None
        attempt = 0
        while attempt < attempts:
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), 5.0))
            attempt += 1
            payload = _payload(document, variables, send)
            try:
                response = self._client.post(self.url, json=payload, headers=self._headers)
            except httpx.HTTPError as exc:
                sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                maybe_applied = maybe_applied or sent
                failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                last = exc
                continue
            if response.status_code in RETRY_STATUS:
                maybe_applied = True
                failure = f"HTTP {response.status_code} from a gateway"
                last = None
                continue
            if send != "text":
                body = _json_object(response)
                refusal = _persisted_refusal(response.status_code, body, response.text)
                if refusal is not None:  # nothing ran: send it again now, in this attempt
                    if refusal == "not found" and send == "hash":
                        send = "both"
                    else:
                        self.persisted = False
                        send = "text"
                    attempt -= 1
                    continue
            return _data_or_raise(self._body(response))
        where = f"the LineageQL server at {self.url}"
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        if mutation and maybe_applied:
            raise OutcomeUnknownError(
                f"no answer from {where} after {tries} ({failure}): the change may or may not "
                "have been applied. Nothing was deleted; check the store (or retry: a request "
                "with the same clientKey is answered with what it created)"
            ) from last
        raise TransportError(
            f"cannot reach {where} after {tries} ({failure}); start it with `lineageql serve` "
            "or unset LINEAGEQL_URL to use the embedded store"
        ) from last

    def _body(self, response: httpx.Response) -> JsonObject:
        try:
            body = response.json()
        except ValueError:
            raise TransportError(
                f"the server at {self.url} answered HTTP {response.status_code} without JSON: "
                f"{response.text[:200]!r}"
            ) from None
        if not isinstance(body, dict):
            raise TransportError(f"the server at {self.url} answered with unexpected JSON")
        return body

    def close(self) -> None:
        self._client.close()


def _payload(document: str, variables: JsonObject, send: str) -> JsonObject:
    """The JSON body of one request: the variables, and the text, its hash or both."""
    payload: JsonObject = {"variables": variables}
    if send != "hash":
        payload["query"] = document
    if send != "text":
        hashed = {"version": 1, "sha256Hash": _sha256(document)}
        payload["extensions"] = {"persistedQuery": hashed}
    return payload


def _json_object(response: httpx.Response) -> JsonObject | None:
    """The JSON object a response holds, else None."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def make_transport(settings: Settings) -> Transport:
    """HTTP when the settings name a server (LINEAGEQL_URL), else the embedded store."""
    if settings.url:
        return HttpTransport(
            settings.url,
            settings.token,
            retries=settings.retries,
            backoff=settings.backoff,
            timeout=settings.timeout,
        )
    return LocalTransport(settings.env)
