"""Executing a prune plan, in the order that makes an interruption safe (mark data-deleted,
delete files, delete metadata), and deleting one version."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sdk.client.client import Client, resolve
from sdk.errors import LineageQLError, PruneError
from sdk.prune.orphans import (
    Orphan,
    first_overlap,
    keep_path,
    keep_registered,
    kept_registered,
    newest,
    overlaps,
    store_key,
)
from sdk.prune.plan import (
    DEFAULT_ORPHAN_GRACE,
    Candidate,
    PrunePlan,
    check_store,
    known_keys,
    plan_prune,
)
from sdk.types import JsonObject

if TYPE_CHECKING:
    from sdk.artifacts.store import ArtifactStore
    from sdk.client.records import BatchResult
    from sdk.client.views import ArtifactVersion

BATCH = 100  # versions per mutation


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

    def to_dict(self) -> JsonObject:
        def labels(items: Iterable[Candidate]) -> list[JsonObject]:
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
        _record(result, batch, client.delete_versions([c.id for c in batch]))
    if plan.orphan_grace is not None and plan.orphans:
        _remove_orphans(client, plan, result, ignore_errors)
    return result


def _batches(items: Sequence[Candidate]) -> Iterable[Sequence[Candidate]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _prune_with_files(
    client: Client, batch: Sequence[Candidate], result: PruneResult, ignore_errors: bool
) -> None:
    marked = client.mark_data_deleted([c.id for c in batch])
    result.skipped.extend(_skipped(batch, marked))
    ok = {ref.id for ref in marked.versions}
    removed: list[Candidate] = []
    failure: str | None = None
    for candidate in (c for c in batch if c.id in ok):
        error = remove_data(client.store, candidate.uri)
        if error is None:
            removed.append(candidate)
            continue
        message = f"could not delete the data of {candidate.label} at {candidate.uri}: {error}"
        result.errors.append(message)
        if not ignore_errors:
            failure = message
            break
    if removed and batch[0].delete_metadata:
        _record(result, removed, client.delete_versions([c.id for c in removed]))
    else:
        result.data_deleted.extend(removed)
    if failure is not None:
        raise PruneError(
            f"{failure}. It stays marked data-deleted and the next prune retries it; pass "
            "--ignore-errors to go on past such files.",
            result,
        )


def remove_data(store: ArtifactStore, uri: str) -> str | None:
    """Delete a version's files; the error as text, or None."""
    try:
        store.remove(uri)
    except (OSError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None


def _skipped(batch: Sequence[Candidate], answer: BatchResult) -> list[str]:
    labels = {c.id: c.label for c in batch}
    return [f"{labels[vid]} (a run uses it now)" for vid in answer.in_use]


def _record(result: PruneResult, batch: Sequence[Candidate], answer: BatchResult) -> None:
    done = {ref.id for ref in answer.versions}
    for candidate in batch:
        if candidate.id not in done:
            continue
        (result.deleted if candidate.delete_files else result.metadata_deleted).append(candidate)
    result.skipped.extend(_skipped(batch, answer))
    result.removed_artifacts.extend(answer.removed_artifacts)


def _remove_orphans(
    client: Client, plan: PrunePlan, result: PruneResult, ignore_errors: bool
) -> None:
    """Delete the planned orphans that are still orphans: no version points into them now (a
    fresh look), none is protected, and they are still older than the grace period."""
    store = client.store
    refs = client.version_refs()
    check_store(client, store, refs, deletes_files=True)
    known = known_keys(store, refs) | set(plan.protected)
    known |= kept_registered(store)
    grace = plan.orphan_grace or timedelta(0)
    for orphan in plan.orphans:
        path = store.path(orphan.uri).rstrip("/")
        if any(overlaps(path, key) for key in known):
            continue
        modified, _ = newest(store, path) if store.fs.exists(path) else (None, 0)
        if modified is None or datetime.now(UTC) - modified < grace:
            continue
        error = remove_data(store, orphan.uri)
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
    client = resolve(client)
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
    client: Client | None, version: ArtifactVersion, *, delete_data: bool = True
) -> bool:
    """Delete one version no run uses: mark it, delete its files (never for registered data,
    nor files another version's data shares), then its metadata; True when its artifact went.

    Raises:
        GraphQLError: CONFLICT naming the runs when a step run produced or consumed it.
    """
    client = resolve(client)
    store = client.store
    files = delete_data and version.source != "REGISTERED"
    if files:
        others = {
            store_key(store, ref.uri): ref.id
            for ref in client.version_refs()
            if ref.id != version.id
        }
        files = first_overlap(store_key(store, version.uri), others) is None
    if files:
        marked = client.mark_data_deleted([version.id])
        if marked.in_use:
            client.delete_version_metadata(version.id)  # raises the CONFLICT naming the runs
        error = remove_data(store, version.uri)
        if error is not None:
            raise LineageQLError(
                f"could not delete the data of {version.name}:{version.version} at "
                f"{version.uri}: {error}; it stays marked data-deleted"
            )
    elif version.source == "REGISTERED":
        keep_path(store, version.uri, f"{version.name}:{version.version}")
    return client.delete_version_metadata(version.id)
