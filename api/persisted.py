"""Automatic persisted operations (Apollo's "automatic persisted queries" protocol) over HTTP.

A client may send, instead of an operation's text, its SHA-256 (hex) in the request's
`extensions`: `{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}},
"variables": {...}}`. A server that knows the hash runs the document it remembers; one that does
not answers the GraphQL error `PersistedQueryNotFound` (`extensions.code`
PERSISTED_QUERY_NOT_FOUND, HTTP 200, nothing executed), and the client sends the same request
again with the text (`query`) and the hash. The server checks that the hash is the text's, runs
the operation and remembers the text once it parsed and validated.

The resolved text goes through exactly the path a request with that text takes (access scope of
the operation, document limits, validation), so a hash grants nothing its text would not. Each
worker process remembers documents in its own bounded LRU (`PersistedDocuments`), in memory:
a restart, or a request reaching another worker, is one miss and one fallback.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError, BadRequest

EXTENSION = "persistedQuery"
VERSION = 1
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # Apollo's message and code, which clients expect

# Documents a worker remembers: at most this many, of at most this many UTF-8 bytes in all
# (the SDK sends about 60 distinct documents of a few hundred bytes each).
DEFAULT_MAX_DOCUMENTS = 1_000
DEFAULT_MAX_BYTES = 4 * 1024 * 1024

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class PersistedQueryNotFound(ApiError):
    """The hash names no document this worker knows: send the request again with `query`."""

    code = "PERSISTED_QUERY_NOT_FOUND"


def sha256_hex(text: str) -> str:
    """The hash a persisted operation is known by: SHA-256 of the text's UTF-8, lowercase hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class PersistedDocuments:
    """Documents by hash, least recently used first out: bounded by count and by total size
    (UTF-8 bytes of the texts), so that no sequence of requests makes it grow without end.
    Safe to use from several threads; a worker's requests use it from its event loop."""

    def __init__(
        self, max_documents: int = DEFAULT_MAX_DOCUMENTS, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        self._documents: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._documents)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def __contains__(self, sha256: object) -> bool:
        return sha256 in self._documents

    def get(self, sha256: str) -> str | None:
        with self._lock:
            found = self._documents.get(sha256)
            if found is None:
                return None
            self._documents.move_to_end(sha256)
            return found[0]

    def put(self, sha256: str, text: str) -> None:
        """Remember `text` under `sha256` (its hash, checked by the caller), evicting the least
        recently used documents until both bounds hold; a text larger than the byte bound on
        its own is not remembered."""
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes or self.max_documents < 1:
            return
        with self._lock:
            old = self._documents.pop(sha256, None)
            if old is not None:
                self._bytes -= old[1]
            self._documents[sha256] = (text, size)
            self._bytes += size
            while len(self._documents) > self.max_documents or self._bytes > self.max_bytes:
                _, (_, evicted) = self._documents.popitem(last=False)
                self._bytes -= evicted


@dataclass(frozen=True)
class Resolved:
    """A request's document: its text, and the hash to remember it under once it has run
    (None when there is nothing to remember: no hash, or a hash the worker knew already)."""

    query: str | None
    remember: str | None = None


def persisted_hash(extensions: Any) -> str | None:
    """The hash of a request's `extensions.persistedQuery`, lowercase; None without one.

    Raises BadRequest for a malformed entry or another protocol version than 1."""
    if not isinstance(extensions, dict) or extensions.get(EXTENSION) is None:
        return None
    entry = extensions[EXTENSION]
    if not isinstance(entry, dict):
        raise BadRequest(
            "extensions.persistedQuery must be an object such as "
            '{"version": 1, "sha256Hash": "<64 hex digits>"}'
        )
    version = entry.get("version")
    if version != VERSION or isinstance(version, bool):
        raise BadRequest(
            f"Unsupported persisted query version {version!r}: this server speaks version "
            f"{VERSION} of automatic persisted queries (extensions.persistedQuery.version)"
        )
    sha256 = entry.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
        raise BadRequest(
            "extensions.persistedQuery.sha256Hash must be the SHA-256 of the operation's text "
            "(UTF-8), as 64 hex digits"
        )
    return sha256.lower()


def resolve(query: str | None, extensions: Any, documents: PersistedDocuments) -> Resolved:
    """The document a request asks to run, with or without persisted-query `extensions`.

    Raises PersistedQueryNotFound for an unknown hash sent without text, and BadRequest for
    malformed persisted-query extensions or a text whose hash is not the one sent."""
    sha256 = persisted_hash(extensions)
    if sha256 is None:
        return Resolved(query)
    if query is None:
        known = documents.get(sha256)
        if known is None:
            raise PersistedQueryNotFound(
                NOT_FOUND_MESSAGE,
                detail="this server does not know the operation with that sha256Hash (it "
                "remembers operations per worker process, in memory); send the request again "
                "with its `query` as well",
            )
        return Resolved(known)
    if sha256_hex(query) != sha256:
        raise BadRequest(
            "provided sha does not match query: extensions.persistedQuery.sha256Hash is not "
            "the SHA-256 (hex, of the UTF-8 text) of `query`; send the hash of exactly the "
            "text sent"
        )
    known = documents.get(sha256)
    if known is not None:
        return Resolved(known)  # the same text: the object whose parse is cached already
    return Resolved(query, remember=sha256)
