"""Bearer tokens with two scopes: `read` (queries) and `write` (mutations, and queries too).

Tokens are stored hashed (SHA-256 of a 256-bit random token) in a JSON file, by default
`{home}/tokens.json`, and may also come from LINEAGEQL_TOKENS as `scope:sha256hex` entries.
With no token configured the server asks for none; `serve` refuses to bind a non-loopback
address in that state. Any route checks access with `require_scope(request, "read")`.

Fail-closed: whether a server requires tokens is decided when it starts (tokens exist, or it
serves a non-loopback address) and only ever turns on (when a first token is created). A server
that requires tokens never serves a request without a valid one: if its tokens file is then
emptied or removed every request gets 401, if the file cannot be read 503, each with a log line
saying why.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from api.errors import Forbidden, Unauthenticated
from api.settings import Settings

log = logging.getLogger("lineageql.api")

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")
TOKEN_PREFIX = "lqt_"
HOW_TO_CREATE = "lineageql tokens create --scope read|write"


def new_token() -> str:
    """A fresh bearer token: 256 random bits, URL-safe, with a recognisable prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256, hex (a fast hash suffices for random tokens)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_scope(scope: str) -> Scope:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; a token's scope is 'read' or 'write'")
    return scope


@dataclass(frozen=True)
class TokenEntry:
    name: str
    scope: Scope
    sha256: str


@dataclass(frozen=True)
class Principal:
    """Who sent a request: the name and scope of the token it carried."""

    name: str
    scope: Scope

    def allows(self, scope: Scope) -> bool:
        return self.scope == "write" or scope == "read"


class TokensFileError(ValueError):
    """The tokens file cannot be read or holds something else than token entries."""


def read_tokens_file(path: Path) -> list[TokenEntry]:
    """The entries of the tokens file; a missing file has none."""
    try:
        raw = json.loads(path.read_text())
        entries = raw["tokens"]
        return [
            TokenEntry(str(e["name"]), check_scope(e["scope"]), _check_hash(e["sha256"]))
            for e in entries
        ]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TokensFileError(
            f"cannot read the tokens file {path} ({exc}); it must be JSON like "
            '{"tokens": [{"name": "ci", "scope": "read", "sha256": "<64 hex digits>"}]}; '
            f"create entries with `{HOW_TO_CREATE}`"
        ) from None


def add_token(path: Path, scope: str, name: str | None = None) -> tuple[str, TokenEntry]:
    """Create a token, store its hash in the tokens file (created 0600), return both.

    The file is replaced atomically, so a running server never reads half of it."""
    entry_scope = check_scope(scope)
    entries = read_tokens_file(path)
    token = new_token()
    name = name or f"{entry_scope}-{len(entries) + 1}"
    if any(entry.name == name for entry in entries):
        raise ValueError(f"a token named {name!r} exists in {path}; choose another --name")
    entry = TokenEntry(name, entry_scope, hash_token(token))
    created = datetime.now(UTC).isoformat(timespec="seconds")
    existing = json.loads(path.read_text())["tokens"] if entries else []
    document = {
        "tokens": [
            *existing,
            {"name": name, "scope": entry_scope, "sha256": entry.sha256, "created_at": created},
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tokens-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(document, f, indent=2)
            f.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return token, entry


def parse_env_tokens(entries: Iterable[str]) -> list[TokenEntry]:
    """LINEAGEQL_TOKENS entries `scope:sha256hex` (or `name:scope:sha256hex`)."""
    parsed = []
    for number, text in enumerate(entries, start=1):
        parts = text.split(":")
        if len(parts) == 2:
            parts = [f"env-{number}", *parts]
        if len(parts) != 3:
            raise ValueError(
                f"LINEAGEQL_TOKENS entry {number} is not `scope:sha256hex` or "
                "`name:scope:sha256hex` (copy an entry's sha256 from a tokens file written by "
                "`lineageql tokens create`)"
            )
        name, scope, digest = parts
        try:
            parsed.append(TokenEntry(name, check_scope(scope), _check_hash(digest)))
        except ValueError as exc:
            raise ValueError(f"LINEAGEQL_TOKENS entry {number}: {exc}") from None
    return parsed


def _check_hash(value: object) -> str:
    text = str(value).lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"{value!r} is not a SHA-256 hex digest (64 hex digits)")
    return text


class TokensUnavailable(Unauthenticated):
    """A server that requires tokens cannot read its tokens file: every request is refused
    (HTTP 503) until the file is fixed."""


class Tokens:
    """The tokens a server accepts. The file is read again whenever it changes, so tokens
    created or removed while the server runs take effect on the next request.

    `required` is decided here, once: true when a token exists now or `require` says so (a
    server on a non-loopback address); it turns on when a first token appears later, and
    never off again."""

    def __init__(self, settings: Settings, *, require: bool = False) -> None:
        self.path = settings.tokens_path
        self._env = parse_env_tokens(settings.env_tokens)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None | bool = False  # False: never read
        self._file: list[TokenEntry] = []
        self._problem: str | None = None
        self._reported: str | None = None
        self.required = require
        self._read()
        if self._problem is not None:  # a broken file fails at start-up, not on a request
            raise TokensFileError(self._problem)
        self.required = require or bool(self._env or self._file)

    @property
    def configured(self) -> bool:
        """Whether any token exists; without one (and not `required`), access is open."""
        return bool(self.entries())

    def entries(self) -> list[TokenEntry]:
        """The tokens accepted now. Raises TokensUnavailable when the tokens file cannot be
        read: no request may be served then, whether or not tokens were required so far."""
        self._read()
        with self._lock:
            if self._problem is not None:
                self.required = True
                self._report(self._problem)
                raise TokensUnavailable(
                    "the server cannot read its tokens file, so it refuses every request until "
                    "its administrator fixes the file (the server log says what is wrong)"
                )
            entries = [*self._env, *self._file]
            if entries:
                self.required = True
                self._report(None)
            elif self.required:
                self._report(
                    f"no token is configured any more (the tokens file {self.path} is "
                    f"{'empty' if self._stamp else 'missing'} and LINEAGEQL_TOKENS is unset): "
                    "every request is refused with 401 until a token is created with "
                    f"`{HOW_TO_CREATE}`"
                )
            return entries

    def authenticate(self, token: str) -> Principal | None:
        digest = hash_token(token)
        found = None
        for entry in self.entries():
            # Compare every entry in constant time; no early exit on a match.
            if hmac.compare_digest(entry.sha256, digest) and found is None:
                found = Principal(entry.name, entry.scope)
        return found

    def _read(self) -> None:
        """Read the tokens file again if it changed (by its modification time and size)."""
        try:
            stat = self.path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        except OSError as exc:
            with self._lock:
                self._stamp, self._problem = False, f"cannot read the tokens file ({exc})"
            return
        with self._lock:
            if stamp == self._stamp:
                return
            try:
                self._file = read_tokens_file(self.path) if stamp else []
                self._problem = None
            except TokensFileError as exc:
                self._file, self._problem = [], str(exc)
            self._stamp = stamp

    def _report(self, problem: str | None) -> None:
        """Log a change of state once: refusing every request (and why), or serving again."""
        if problem == self._reported:
            return
        if problem is not None:
            log.error("refusing every request: %s", problem)
        else:
            log.warning("tokens are configured again (%s); serving requests", self.path)
        self._reported = problem


def bearer_token(request: HTTPConnection) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    header = request.headers.get("authorization")
    if not header:
        return None
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer":
        return None
    return token.strip() or None


def authenticate(request: HTTPConnection) -> Principal | None:
    """The sender of `request`; None when the server has no tokens and never required any
    (open access, on loopback).

    Raises Unauthenticated when tokens are required and the request has none or a wrong one
    (or none is configured any more), TokensUnavailable when the tokens file cannot be read.
    """
    tokens: Tokens | None = getattr(request.app.state, "tokens", None)
    if tokens is None:
        return None
    entries = tokens.entries()
    if not entries and not tokens.required:
        return None
    if not entries:
        raise Unauthenticated(
            "this server requires a bearer token but has no token configured any more, so it "
            "refuses every request; its administrator creates one with "
            f"`{HOW_TO_CREATE}`."
        )
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated(
            "this server requires a bearer token: send the header "
            "`Authorization: Bearer <token>` (the SDK and CLI send LINEAGEQL_TOKEN; in GraphiQL "
            f"add it under Headers). The server's administrator creates one with `{HOW_TO_CREATE}`."
        )
    principal = tokens.authenticate(token)
    if principal is None:
        raise Unauthenticated(
            "the bearer token is not valid on this server (unknown or revoked); check "
            f"LINEAGEQL_TOKEN, or ask the server's administrator for one (`{HOW_TO_CREATE}`)."
        )
    return principal


def require_scope(request: HTTPConnection, scope: Scope) -> Principal | None:
    """Check that `request` may use `scope`: the principal, or None when access is open.

    Raises Unauthenticated (HTTP 401) or Forbidden (HTTP 403); the app renders both as a
    GraphQL-style error body, so a route only has to call this first."""
    principal = authenticate(request)
    if principal is not None and not principal.allows(scope):
        raise forbidden(principal, scope, "this request")
    request.state.principal = principal
    return principal


def forbidden(principal: Principal, scope: Scope, what: str) -> Forbidden:
    return Forbidden(
        f"the token {principal.name!r} has the {principal.scope!r} scope; {what} needs "
        f"{scope!r}. Use a {scope} token (`lineageql tokens create --scope {scope}`).",
        requiredScope=scope,
    )


class InsecureBindError(ValueError):
    """`serve` was asked to bind a non-loopback address while no token is configured."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(settings: Settings, host: str, *, insecure_no_auth: bool) -> str | None:
    """Refuse to expose an open server: a warning to show, or None when all is well.

    Raises InsecureBindError for a non-loopback `host` without tokens (unless overridden)."""
    if is_loopback(host):
        return None
    tokens = Tokens(settings)
    if tokens.configured:
        return None
    if insecure_no_auth:
        return (
            f"WARNING: serving on {host} WITHOUT AUTHENTICATION (--insecure-no-auth): anyone "
            "who can reach this address can read and change every artifact and run. Create a "
            f"token (`{HOW_TO_CREATE}`) and drop the flag unless a proxy in front of this "
            "server authenticates every request."
        )
    raise InsecureBindError(
        f"refusing to serve on {host} without access tokens: anyone who can reach that "
        f"address could read and change the store. Create one with `{HOW_TO_CREATE}` (it is "
        f"stored hashed in {tokens.path}; set LINEAGEQL_TOKENS_FILE to use another file) and "
        "give it to the clients as LINEAGEQL_TOKEN; or serve on 127.0.0.1; or pass "
        "--insecure-no-auth if a proxy in front of the server authenticates requests."
    )
