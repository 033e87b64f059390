"""Pruning unused artifact versions: their data in the artifact store and their metadata.

A version is *unused* when no step run produced or consumed it (saved, registered or external
data nobody ran on). Versions a run references are never touched. Prune runs where the SDK
runs, because the SDK reaches the artifact store (the API only holds metadata); it works the
same embedded and against a server.

Order of work, per batch of versions, so that an interruption at any point is safe and the next
prune finishes the job:

1. mark the versions data-deleted (the API refuses to mark one a run uses; from then on no step
   run may consume it, a cache hit never returns it, and `load()` says its data was pruned);
2. delete their files;
3. delete their metadata (and any artifact left without a version).

Registered data belongs to the user: without `include_registered` its files are never deleted
(its metadata is). Files another remaining version points into (or that contain one) are kept.

Orphans (`orphans=True`) are directories in the SDK's own layout `{store}/{step}/{output}/{uuid}/`
(the last part a UUID4 in hex, as `ArtifactStore.new_version_uri` makes them) that no version
points into and that contain no version, and whose newest file or folder was modified longer ago
than the grace period. Nothing else in the store is ever an orphan. Registered data is never
one: while registered, its version points to it; before prune deletes the metadata of registered
data whose files it keeps, it records the path in `{store}/.lineageql/kept-registered/` (one
small JSON file per path), and the orphan scan never touches a recorded path.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sdk.client import operations as ops
from sdk.errors import InputError, LineageQLError, NotFoundError, StoreMismatchError

if TYPE_CHECKING:
    from sdk.artifacts.store import ArtifactStore
    from sdk.client.client import Client
    from sdk.client.views import ArtifactVersion

DEFAULT_ORPHAN_GRACE = timedelta(hours=24)
BATCH = 100  # versions per mutation
PAGE = 200
LAYOUT_DEPTH = 3  # {step}/{output}/{uuid}
KEPT_DIR = ".lineageql/kept-registered"  # paths of registered data whose metadata prune removed
UUID_HEX = re.compile(r"^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$")
TIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "created", "time")


class ArtifactDataDeletedError(NotFoundError):
    """The version's metadata exists, but prune deleted its data from the artifact store."""


class PruneError(LineageQLError):
    """A file could not be deleted (without `ignore_errors`); `.result` holds what was done."""

    def __init__(self, message: str, result: PruneResult) -> None:
        super().__init__(message)
        self.result = result


def data_deleted_error(version: ArtifactVersion) -> ArtifactDataDeletedError:
    """The error `load()` raises for a version whose data was pruned."""
    when = version.data_deleted_at
    at = f" on {when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if when else ""
    return ArtifactDataDeletedError(
        f"the data of artifact version {version.name}:{version.version} (id {version.id}) was "
        f"pruned from the artifact store{at}; only its metadata remains. Load another "
        "version, or save the data again as a new version."
    )


@dataclass(frozen=True)
class Candidate:
    """An unused version and what prune does with it."""

    id: str
    name: str
    version: str
    uri: str
    source: str
    size_bytes: int | None
    data_deleted_at: datetime | None
    delete_files: bool
    delete_metadata: bool
    note: str | None = None  # why files are kept, when they are

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def action(self) -> str:
        if self.delete_files and self.delete_metadata:
            return "delete data and metadata"
        if self.delete_files:
            return "delete data, keep metadata (marked data-deleted)"
        return f"delete metadata, keep data{f' ({self.note})' if self.note else ''}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "source": self.source,
            "sizeBytes": self.size_bytes,
            "deleteData": self.delete_files,
            "deleteMetadata": self.delete_metadata,
            "note": self.note,
        }


@dataclass(frozen=True)
class Orphan:
    """A version directory no version points to, older than the grace period."""

    uri: str
    size_bytes: int
    modified: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "sizeBytes": self.size_bytes, "modified": self.modified}


@dataclass(frozen=True)
class PrunePlan:
    """What a prune would do; `execute_prune` does it."""

    store: str
    only_artifact: bool
    only_metadata: bool
    include_registered: bool
    orphan_grace: timedelta | None  # None: no orphan scan
    versions: list[Candidate]
    orphans: list[Orphan]
    protected: frozenset[str]  # store paths of registered data whose metadata goes (files stay)

    @property
    def empty(self) -> bool:
        return not self.versions and not self.orphans

    @property
    def bytes_to_free(self) -> int:
        versions = sum(c.size_bytes or 0 for c in self.versions if c.delete_files)
        return versions + sum(o.size_bytes for o in self.orphans)

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "versions": [c.to_dict() for c in self.versions],
            "orphans": [o.to_dict() for o in self.orphans],
            "bytesToFree": self.bytes_to_free,
        }


@dataclass
class PruneResult:
    """What a prune did: per version `deleted` (data and metadata), `dataDeleted` (metadata
    kept) or `metadataDeleted` (data kept); `skipped` versions a run started using meanwhile;
    `errors` (with `ignore_errors`) the files that could not be deleted."""

    dry_run: bool = False
    deleted: list[Candidate] = field(default_factory=list)
    data_deleted: list[Candidate] = field(default_factory=list)
    metadata_deleted: list[Candidate] = field(default_factory=list)
    removed_artifacts: list[str] = field(default_factory=list)
    orphans_removed: list[Orphan] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        versions = sum(c.size_bytes or 0 for c in [*self.deleted, *self.data_deleted])
        return versions + sum(o.size_bytes for o in self.orphans_removed)

    def to_dict(self) -> dict[str, Any]:
        def labels(items: Iterable[Candidate]) -> list[dict[str, Any]]:
            return [c.to_dict() for c in items]

        return {
            "deleted": labels(self.deleted),
            "dataDeleted": labels(self.data_deleted),
            "metadataDeleted": labels(self.metadata_deleted),
            "removedArtifacts": self.removed_artifacts,
            "orphansRemoved": [o.to_dict() for o in self.orphans_removed],
            "skipped": self.skipped,
            "errors": self.errors,
            "bytesFreed": self.bytes_freed,
        }


def _nodes(client: Client, document: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = client.execute(document, {"first": PAGE, "after": after})["artifactVersions"]
        nodes.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def check_store(
    client: Client, store: ArtifactStore, nodes: Iterable[dict[str, Any]], *, deletes_files: bool
) -> None:
    """Refuse to prune a store that may not be the one the database describes.

    The store's identity (`.lineageql/store.json` at its root) must be the database's; a store
    without one counts as the database's only when the data of some version is found in it (a
    store from before identities), and it is then given the identity. Otherwise — another
    store's folder, an empty or wrong path, a store restored without its data — every folder
    in it would look like an orphan: nothing is deleted and StoreMismatchError says why."""
    expected = client.store_id
    found = store.identity()
    if expected is not None and found is not None:
        if found == expected:
            return
        raise StoreMismatchError(
            f"the artifact store {store.uri} belongs to another store (id {found}), not to the "
            f"one this database describes (id {expected}); nothing was deleted. Point "
            "LINEAGEQL_ARTIFACT_STORE (or LINEAGEQL_HOME) at this database's own store."
        )
    if not deletes_files:
        return
    live = [node for node in nodes if not node.get("dataDeletedAt")]
    if not any(_exists(store, node["uri"]) for node in live):
        what = (
            f"none of the {len(live)} versions the database holds has its data there"
            if live
            else "the database holds no version, and the store carries no identity"
        )
        raise StoreMismatchError(
            f"refusing to prune the artifact store {store.uri}: {what}, so it may be another "
            "store, a moved one seen from the wrong place, or an empty path; nothing was "
            "deleted. Point LINEAGEQL_ARTIFACT_STORE (or LINEAGEQL_HOME) at the store that "
            "holds this database's data."
        )
    if expected is not None:
        store.claim(expected)


def _exists(store: ArtifactStore, uri: str) -> bool:
    try:
        return store.exists(uri)
    except ValueError:  # outside this store
        return False


def _key(store: ArtifactStore, uri: str) -> str:
    """A comparable path for `uri`: its store path when inside the store, else the URI."""
    try:
        return store.path(uri).rstrip("/")
    except ValueError:
        return uri.rstrip("/")


def _overlaps(a: str, b: str) -> bool:
    """Whether one path is the other or lies inside it."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _first_overlap(path: str, others: dict[str, str]) -> str | None:
    return next((label for key, label in others.items() if _overlaps(path, key)), None)


def plan_prune(
    client: Client,
    *,
    only_artifact: bool = False,
    only_metadata: bool = False,
    include_registered: bool = False,
    orphans: bool = False,
    orphan_grace: timedelta = DEFAULT_ORPHAN_GRACE,
    now: datetime | None = None,
) -> PrunePlan:
    """What `execute_prune` would delete, with sizes; changes nothing.

    Raises:
        InputError: contradicting options (`only_artifact` with `only_metadata`, `orphans`
            with `only_metadata`, a negative grace period).
    """
    if only_artifact and only_metadata:
        raise InputError(
            "--only-artifact and --only-metadata exclude each other: give one, or neither to "
            "delete both data and metadata"
        )
    if orphans and only_metadata:
        raise InputError(
            "--orphans deletes files, which --only-metadata promises not to do: drop one of them"
        )
    if orphan_grace < timedelta(0):
        raise InputError(f"the orphan grace period must not be negative (got {orphan_grace})")
    from sdk.client.views import parse_time

    store = client.store
    unused = _nodes(client, ops.UNUSED_VERSIONS)
    every = {node["id"]: node for node in _nodes(client, ops.VERSION_URIS)}
    candidates: list[Candidate] = []
    for node in unused:
        registered = node["source"] == "REGISTERED"
        files = not only_metadata and (include_registered or not registered)
        candidates.append(
            Candidate(
                id=node["id"],
                name=node["name"],
                version=node["version"],
                uri=node["uri"],
                source=node["source"],
                size_bytes=node["sizeBytes"],
                data_deleted_at=parse_time(node["dataDeletedAt"]),
                delete_files=files,
                delete_metadata=not only_artifact,
                note="registered data" if registered and not files and not only_metadata else None,
            )
        )
    deletes_files = orphans or any(c.delete_files for c in candidates)
    check_store(client, store, every.values(), deletes_files=deletes_files)
    candidates = _keep_shared_files(store, candidates, every)
    if only_artifact:
        candidates = [c for c in candidates if c.delete_files and _has_data(store, c)]
    protected = frozenset(
        _key(store, c.uri) for c in candidates if c.delete_metadata and not c.delete_files
    )
    found = (
        find_orphans(store, _known_keys(store, every.values()), orphan_grace, now)
        if orphans
        else []
    )
    return PrunePlan(
        store=store.uri,
        only_artifact=only_artifact,
        only_metadata=only_metadata,
        include_registered=include_registered,
        orphan_grace=orphan_grace if orphans else None,
        versions=candidates,
        orphans=found,
        protected=protected,
    )


def _keep_shared_files(
    store: ArtifactStore, candidates: list[Candidate], every: dict[str, dict[str, Any]]
) -> list[Candidate]:
    """Keep the files of a candidate that another kept version's data shares (one path lies
    inside the other, or they are equal), repeating until nothing changes."""
    deleting = {c.id for c in candidates if c.delete_files}
    while True:
        keepers = {
            _key(store, node["uri"]): f"{node['name']}:{node['version']}"
            for vid, node in every.items()
            if vid not in deleting
        }
        shared = {
            c.id: owner
            for c in candidates
            if c.id in deleting and (owner := _first_overlap(_key(store, c.uri), keepers))
        }
        if not shared:
            break
        deleting -= set(shared)
        candidates = [
            replace(c, delete_files=False, note=f"data shared with {shared[c.id]}")
            if c.id in shared
            else c
            for c in candidates
        ]
    return [c for c in candidates if c.delete_files or c.delete_metadata]


def _has_data(store: ArtifactStore, candidate: Candidate) -> bool:
    """Whether a version's data may still be in the store (always, unless it is marked and
    gone: an interrupted prune may have marked it and not yet deleted the files)."""
    return candidate.data_deleted_at is None or _exists(store, candidate.uri)


def _known_keys(store: ArtifactStore, nodes: Iterable[dict[str, Any]]) -> set[str]:
    return {_key(store, node["uri"]) for node in nodes}


def find_orphans(
    store: ArtifactStore, known: set[str], grace: timedelta, now: datetime | None = None
) -> list[Orphan]:
    """Directories `{step}/{output}/{uuid4 hex}` no known version path overlaps, whose newest
    entry is older than `grace` (an entry with no time makes the directory too young)."""
    now = now or datetime.now(UTC)
    known = known | kept_registered(store)
    found: list[Orphan] = []
    for path in _layout_dirs(store):
        if any(_overlaps(path, key) for key in known):
            continue
        modified, size = _newest(store, path)
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
            _keep(store, c.uri, f"{c.name}:{c.version}")


def _keep(store: ArtifactStore, uri: str, label: str) -> None:
    folder = _kept_dir(store)
    store.fs.makedirs(folder, exist_ok=True)
    path = _key(store, uri)
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


def _newest(store: ArtifactStore, path: str) -> tuple[datetime | None, int]:
    """The newest modification time of `path` and everything below it, and the total size of
    its files. The time is None (too young to delete) when a file reports no time."""
    entries = store.fs.find(path, withdirs=True, detail=True)
    infos: list[dict[str, Any]] = [*entries.values()]
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


def execute_prune(client: Client, plan: PrunePlan, *, ignore_errors: bool = False) -> PruneResult:
    """Do what `plan` says, in the safe order (mark, delete files, delete metadata).

    Raises:
        PruneError: a file could not be deleted and `ignore_errors` is off; the versions done
            before stay done, the failed one stays marked data-deleted (the next prune retries).
    """
    result = PruneResult()
    with_files = [c for c in plan.versions if c.delete_files]
    metadata_only = [c for c in plan.versions if not c.delete_files]
    for batch in _batches(with_files):
        _prune_with_files(client, batch, result, ignore_errors)
    for batch in _batches(metadata_only):
        keep_registered(client.store, batch)
        _record(result, batch, delete_metadata(client, [c.id for c in batch]))
    if plan.orphan_grace is not None and plan.orphans:
        _remove_orphans(client, plan, result, ignore_errors)
    return result


def _batches(items: Sequence[Candidate]) -> Iterable[Sequence[Candidate]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def mark_data_deleted(client: Client, ids: Sequence[str]) -> dict[str, Any]:
    """Step 1: mark versions data-deleted (the API skips those a run uses)."""
    data: dict[str, Any] = client.execute(ops.MARK_DATA_DELETED, {"ids": list(ids)})
    return dict(data["markArtifactVersionsDataDeleted"])


def delete_metadata(client: Client, ids: Sequence[str]) -> dict[str, Any]:
    """Step 3: delete versions' metadata (the API skips those a run uses)."""
    data: dict[str, Any] = client.execute(ops.DELETE_VERSIONS, {"ids": list(ids)})
    return dict(data["deleteArtifactVersions"])


def _prune_with_files(
    client: Client, batch: Sequence[Candidate], result: PruneResult, ignore_errors: bool
) -> None:
    marked = mark_data_deleted(client, [c.id for c in batch])
    result.skipped.extend(_skipped(batch, marked))
    ok = {node["id"] for node in marked["versions"]}
    removed: list[Candidate] = []
    failure: str | None = None
    for candidate in (c for c in batch if c.id in ok):
        error = _remove(client.store, candidate.uri)
        if error is None:
            removed.append(candidate)
            continue
        message = f"could not delete the data of {candidate.label} at {candidate.uri}: {error}"
        result.errors.append(message)
        if not ignore_errors:
            failure = message
            break
    if removed and batch[0].delete_metadata:
        _record(result, removed, delete_metadata(client, [c.id for c in removed]))
    else:
        result.data_deleted.extend(removed)
    if failure is not None:
        raise PruneError(
            f"{failure}. It stays marked data-deleted and the next prune retries it; pass "
            "--ignore-errors to go on past such files.",
            result,
        )


def _remove(store: ArtifactStore, uri: str) -> str | None:
    """Delete a version's files; the error as text, or None."""
    try:
        store.remove(uri)
    except (OSError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None


def _skipped(batch: Sequence[Candidate], answer: dict[str, Any]) -> list[str]:
    labels = {c.id: c.label for c in batch}
    return [f"{labels[vid]} (a run uses it now)" for vid in answer["inUse"]]


def _record(result: PruneResult, batch: Sequence[Candidate], answer: dict[str, Any]) -> None:
    done = {node["id"] for node in answer["versions"]}
    for candidate in batch:
        if candidate.id not in done:
            continue
        (result.deleted if candidate.delete_files else result.metadata_deleted).append(candidate)
    result.skipped.extend(_skipped(batch, answer))
    result.removed_artifacts.extend(answer["removedArtifacts"])


def _remove_orphans(
    client: Client, plan: PrunePlan, result: PruneResult, ignore_errors: bool
) -> None:
    """Delete the planned orphans that are still orphans: no version points into them now (a
    fresh look), none is protected, and they are still older than the grace period."""
    store = client.store
    nodes = _nodes(client, ops.VERSION_URIS)
    check_store(client, store, nodes, deletes_files=True)
    known = _known_keys(store, nodes) | set(plan.protected)
    known |= kept_registered(store)
    grace = plan.orphan_grace or timedelta(0)
    for orphan in plan.orphans:
        path = store.path(orphan.uri).rstrip("/")
        if any(_overlaps(path, key) for key in known):
            continue
        modified, _ = _newest(store, path) if store.fs.exists(path) else (None, 0)
        if modified is None or datetime.now(UTC) - modified < grace:
            continue
        error = _remove(store, orphan.uri)
        if error is None:
            result.orphans_removed.append(orphan)
            continue
        message = f"could not delete the orphan directory {orphan.uri}: {error}"
        result.errors.append(message)
        if not ignore_errors:
            raise PruneError(f"{message}; pass --ignore-errors to go on past it", result)


def prune_artifacts(
    client: Client | None = None,
    *,
    only_artifact: bool = False,
    only_metadata: bool = False,
    ignore_errors: bool = False,
    include_registered: bool = False,
    orphans: bool = False,
    orphan_grace: timedelta = DEFAULT_ORPHAN_GRACE,
    dry_run: bool = False,
) -> PruneResult | PrunePlan:
    """Delete the versions no step run produced or consumed, as `lineageql artifacts prune`
    does (without asking); with `dry_run`, the plan instead."""
    from sdk.client.client import Client

    client = client or Client()
    plan = plan_prune(
        client,
        only_artifact=only_artifact,
        only_metadata=only_metadata,
        include_registered=include_registered,
        orphans=orphans,
        orphan_grace=orphan_grace,
    )
    return plan if dry_run else execute_prune(client, plan, ignore_errors=ignore_errors)


def delete_artifact_version(
    client: Client, version: ArtifactVersion, *, delete_data: bool = True
) -> bool:
    """Delete one version no run uses: mark it, delete its files (never for registered data,
    nor files another version's data shares), then its metadata; True when its artifact went.

    Raises:
        GraphQLError: CONFLICT naming the runs when a step run produced or consumed it.
    """
    store = client.store
    files = delete_data and version.source != "REGISTERED"
    if files:
        others = {
            _key(store, node["uri"]): node["id"]
            for node in _nodes(client, ops.VERSION_URIS)
            if node["id"] != version.id
        }
        files = _first_overlap(_key(store, version.uri), others) is None
    if files:
        marked = mark_data_deleted(client, [version.id])
        if marked["inUse"]:
            client.execute(ops.DELETE_VERSION, {"id": version.id})  # raises the CONFLICT
        error = _remove(store, version.uri)
        if error is not None:
            raise LineageQLError(
                f"could not delete the data of {version.name}:{version.version} at "
                f"{version.uri}: {error}; it stays marked data-deleted"
            )
    elif version.source == "REGISTERED":
        _keep(store, version.uri, f"{version.name}:{version.version}")
    data = client.execute(ops.DELETE_VERSION, {"id": version.id})["deleteArtifactVersion"]
    return bool(data["artifactRemoved"])
