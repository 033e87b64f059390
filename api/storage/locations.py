"""Where a version's data lies, and the artifact-store path policy of the API.

The database records a version's location relative to the root of its artifact store
(`train/output/3f2c…/`), so a whole store — database and files together — can be moved, copied
or restored elsewhere and still load: the absolute URI is made from the store the API runs with
(`locate`). Rows written before store-relative locations hold absolute URIs; those are handed
back as they are.

Every mutation that records a location passes it through `relativize`, which enforces one policy
(the lexical twin of the SDK's `ArtifactStore.registrable`): the location is a relative path
inside the store, or an absolute URI inside it, with no `..` segment, no other scheme and not the
store itself. Anything else is BAD_USER_INPUT, and nothing is written."""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from api.errors import BadUserInput

if TYPE_CHECKING:
    from api.storage.artifacts import NewVersion

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_LOCAL_SCHEMES = {None, "file", "local"}


def _split(uri: str) -> tuple[str | None, str]:
    """(scheme, path) with `file://` read as a local path; the path normalized."""
    match = _SCHEME.match(uri)
    scheme = match.group(1).lower() if match else None
    rest = uri[match.end() :] if match else uri
    if scheme in _LOCAL_SCHEMES:
        scheme = None
    normalized = posixpath.normpath(rest) if rest else ""
    return scheme, "" if normalized == "." else normalized


def is_relative(stored: str) -> bool:
    """Whether a recorded location is store-relative (the form written since migration 0004)."""
    return bool(stored) and not stored.startswith("/") and _SCHEME.match(stored) is None


def locate(store_uri: str, stored: str) -> str:
    """The URI of a recorded location: store-relative ones joined to the store's root."""
    if not is_relative(stored):
        return stored
    return f"{store_uri.rstrip('/')}/{stored}"


def relative_to(store_uri: str, uri: str) -> str | None:
    """`uri`'s path below the store root when it lies strictly inside the store, else None
    (a trailing `/` is kept: version folders are written `…/{uuid}/`)."""
    scheme, path = _split(uri)
    root_scheme, root = _split(store_uri)
    if scheme != root_scheme or not path:
        return None
    prefix = root.rstrip("/") + "/" if root not in {"", "/"} else root
    if path == root or not path.startswith(prefix):
        return None
    relative = path[len(prefix) :].lstrip("/")
    return relative + "/" if uri.endswith("/") and relative else relative or None


def relativize(store_uri: str, uri: str, what: str = "uri") -> str:
    """The store-relative form of a location a client sent, or BadUserInput saying why not."""
    if not uri or "\x00" in uri:
        raise _refused(store_uri, uri, what, "it is empty or holds a NUL character")
    if ".." in re.split(r"[/\\]", uri):
        raise _refused(store_uri, uri, what, "it has a '..' segment")
    if is_relative(uri):
        relative = uri.lstrip("./") if uri.startswith("./") else uri
        if posixpath.normpath(relative) in {".", ""}:
            raise _refused(store_uri, uri, what, "it names the whole store")
        return relative
    inside = relative_to(store_uri, uri)
    if inside is None:
        scheme, _ = _split(uri)
        root_scheme, _ = _split(store_uri)
        why = (
            f"its scheme {scheme or 'local path'!r} is not the store's"
            if scheme != root_scheme
            else "it lies outside the store, or is the whole store"
        )
        raise _refused(store_uri, uri, what, why)
    return inside


def place(new: NewVersion, store_uri: str) -> NewVersion:
    """`new` with its location and its visualizations' locations made store-relative."""
    return replace(
        new,
        uri=relativize(store_uri, new.uri),
        visualizations=tuple(
            (kind, relativize(store_uri, uri, "visualization uri"))
            for kind, uri in new.visualizations
        ),
    )


def _refused(store_uri: str, uri: str, what: str, why: str) -> BadUserInput:
    return BadUserInput(
        f"{what} {uri!r} is refused: {why}. Data must lie inside the artifact store "
        f"{store_uri!r}: give a path relative to its root (such as 'step/output/<id>/') or a "
        "URI inside it, with no '..' segments",
        field=what,
    )
