"""Orphans: directories in the SDK's own layout `{store}/{step}/{output}/{uuid}/` that no
version points into, and the records of registered data whose files prune keeps. Also the
path comparisons prune makes (a path inside another is the same data)."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sdk.types import JsonObject

if TYPE_CHECKING:
    from sdk.artifacts.store import ArtifactStore
    from sdk.prune.plan import Candidate

LAYOUT_DEPTH = 3  # {step}/{output}/{uuid}
KEPT_DIR = ".lineageql/kept-registered"  # paths of registered data whose metadata prune removed
UUID_HEX = re.compile(r"^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$")
TIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "created", "time")


def exists_in(store: ArtifactStore, uri: str) -> bool:
    try:
        return store.exists(uri)
    except ValueError:  # outside this store
        return False


def store_key(store: ArtifactStore, uri: str) -> str:
    """A comparable path for `uri`: its store path when inside the store, else the URI."""
    try:
        return store.path(uri).rstrip("/")
    except ValueError:
        return uri.rstrip("/")


def overlaps(a: str, b: str) -> bool:
    """Whether one path is the other or lies inside it."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def first_overlap(path: str, others: dict[str, str]) -> str | None:
    return next((label for key, label in others.items() if overlaps(path, key)), None)


@dataclass(frozen=True)
class Orphan:
    """A version directory no version points to, older than the grace period."""

    uri: str
    size_bytes: int
    modified: datetime

    def to_dict(self) -> JsonObject:
        return {"uri": self.uri, "sizeBytes": self.size_bytes, "modified": self.modified}


def find_orphans(
    store: ArtifactStore, known: set[str], grace: timedelta, now: datetime | None = None
) -> list[Orphan]:
    """Directories `{step}/{output}/{uuid4 hex}` no known version path overlaps, whose newest
    entry is older than `grace` (an entry with no time makes the directory too young)."""
    now = now or datetime.now(UTC)
    known = known | kept_registered(store)
    found: list[Orphan] = []
    for path in _layout_dirs(store):
        if any(overlaps(path, key) for key in known):
            continue
        modified, size = newest(store, path)
        if modified is None or now - modified < grace:
            continue
        found.append(Orphan(uri=_uri(store, path), size_bytes=size, modified=modified))
    return found


def _kept_dir(store: ArtifactStore) -> str:
    return posixpath.join(store.root, KEPT_DIR)


def keep_registered(store: ArtifactStore, candidates: Sequence[Candidate]) -> None:
    """Record the paths of registered data whose files stay while its metadata goes, so that
    no later orphan scan takes them for leftovers (written before the metadata is deleted)."""
    for c in candidates:
        if c.source == "REGISTERED" and not c.delete_files:
            keep_path(store, c.uri, f"{c.name}:{c.version}")


def keep_path(store: ArtifactStore, uri: str, label: str) -> None:
    folder = _kept_dir(store)
    store.fs.makedirs(folder, exist_ok=True)
    path = store_key(store, uri)
    record = {"path": path, "uri": uri, "version": label}
    name = hashlib.sha256(path.encode()).hexdigest()[:32] + ".json"
    store.fs.pipe_file(posixpath.join(folder, name), json.dumps(record).encode())


def kept_registered(store: ArtifactStore) -> set[str]:
    """The recorded paths of registered data whose metadata prune removed."""
    folder = _kept_dir(store)
    try:
        names = store.fs.ls(folder, detail=False)
    except FileNotFoundError:
        return set()
    kept: set[str] = set()
    for name in names:
        try:
            kept.add(str(json.loads(store.fs.cat_file(name))["path"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return kept


def _layout_dirs(store: ArtifactStore) -> list[str]:
    level = [store.root]
    for depth in range(LAYOUT_DEPTH):
        below: list[str] = []
        for parent in level:
            try:
                entries = store.fs.ls(parent, detail=True)
            except FileNotFoundError:
                continue
            for entry in entries:
                name = posixpath.basename(str(entry["name"]).rstrip("/"))
                if entry.get("type") != "directory":
                    continue
                if depth < LAYOUT_DEPTH - 1 or UUID_HEX.match(name):
                    below.append(str(entry["name"]).rstrip("/"))
        level = below
    return sorted(level)


def newest(store: ArtifactStore, path: str) -> tuple[datetime | None, int]:
    """The newest modification time of `path` and everything below it, and the total size of
    its files. The time is None (too young to delete) when a file reports no time."""
    entries = store.fs.find(path, withdirs=True, detail=True)
    infos: list[dict[str, Any]] = [*entries.values()]  # fsspec info entries
    if path not in entries:
        infos.append(store.fs.info(path))
    files = [info for info in infos if info.get("type") == "file"]
    if any(_time(info) is None for info in files):
        return None, 0
    times = [t for t in map(_time, infos) if t is not None]
    size = sum(int(info.get("size") or 0) for info in files)
    return (max(times) if times else None), size


def _time(info: dict[str, Any]) -> datetime | None:
    for key in TIME_KEYS:
        value = info.get(key)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _uri(store: ArtifactStore, path: str) -> str:
    if store.local:
        return path
    relative = posixpath.relpath(path.lstrip("/"), store.root.lstrip("/"))
    return f"{store.uri.rstrip('/')}/{relative}"
