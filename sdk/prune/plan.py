"""Planning a prune: which versions are unused, what happens to each, and whether the store
is the database's own. Changes nothing.

Pruning unused artifact versions: their data in the artifact store and their metadata.

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

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sdk.errors import InputError, StoreMismatchError
from sdk.prune.orphans import (
    Orphan,
    exists_in,
    find_orphans,
    first_overlap,
    store_key,
)
from sdk.types import JsonObject

if TYPE_CHECKING:
    from sdk.artifacts.store import ArtifactStore
    from sdk.client.client import Client
    from sdk.client.records import ArtifactVersionRef

DEFAULT_ORPHAN_GRACE = timedelta(hours=24)


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

    def to_dict(self) -> JsonObject:
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

    def to_dict(self) -> JsonObject:
        return {
            "store": self.store,
            "versions": [c.to_dict() for c in self.versions],
            "orphans": [o.to_dict() for o in self.orphans],
            "bytesToFree": self.bytes_to_free,
        }


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
    store = client.store
    unused = client.version_refs(unused=True)
    every = {ref.id: ref for ref in client.version_refs()}
    candidates: list[Candidate] = []
    for node in unused:
        registered = node.source == "REGISTERED"
        files = not only_metadata and (include_registered or not registered)
        candidates.append(
            Candidate(
                id=node.id,
                name=node.name,
                version=node.version,
                uri=node.uri,
                source=node.source,
                size_bytes=node.size_bytes,
                data_deleted_at=node.data_deleted_at,
                delete_files=files,
                delete_metadata=not only_artifact,
                note="registered data" if registered and not files and not only_metadata else None,
            )
        )
    deletes_files = orphans or any(c.delete_files for c in candidates)
    check_store(client, store, every.values(), deletes_files=deletes_files)
    candidates = _keep_shared_files(store, candidates, every)
    if only_artifact:
        candidates = [c for c in candidates if c.delete_files and has_data(store, c)]
    protected = frozenset(
        store_key(store, c.uri) for c in candidates if c.delete_metadata and not c.delete_files
    )
    found = (
        find_orphans(store, known_keys(store, every.values()), orphan_grace, now) if orphans else []
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


def check_store(
    client: Client, store: ArtifactStore, refs: Iterable[ArtifactVersionRef], *, deletes_files: bool
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
    live = [ref for ref in refs if ref.data_deleted_at is None]
    if not any(exists_in(store, ref.uri) for ref in live):
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


def _keep_shared_files(
    store: ArtifactStore, candidates: list[Candidate], every: dict[str, ArtifactVersionRef]
) -> list[Candidate]:
    """Keep the files of a candidate that another kept version's data shares (one path lies
    inside the other, or they are equal), repeating until nothing changes."""
    deleting = {c.id for c in candidates if c.delete_files}
    while True:
        keepers = {
            store_key(store, ref.uri): f"{ref.name}:{ref.version}"
            for vid, ref in every.items()
            if vid not in deleting
        }
        shared = {
            c.id: owner
            for c in candidates
            if c.id in deleting and (owner := first_overlap(store_key(store, c.uri), keepers))
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


def has_data(store: ArtifactStore, candidate: Candidate) -> bool:
    """Whether a version's data may still be in the store (always, unless it is marked and
    gone: an interrupted prune may have marked it and not yet deleted the files)."""
    return candidate.data_deleted_at is None or exists_in(store, candidate.uri)


def known_keys(store: ArtifactStore, refs: Iterable[ArtifactVersionRef]) -> set[str]:
    return {store_key(store, ref.uri) for ref in refs}
