"""Checking a version's data against the content hash and size recorded when it was saved.

Three levels, chosen per load with `ArtifactVersion.load(verify=...)`, else by the
environment variable `LINEAGEQL_VERIFY`, else `size`:

- `full`: recompute the content hash (every byte is read once more) and the size;
- `size`: the data exists and its files add up to the recorded size (one listing, no reads);
- `off`: no check (a missing file still raises ArtifactDataMissingError when loading).

The default is `size`, because recomputing the hash of a 256 MB array costs more than the load
itself when the file is in the page cache (bench/README.md has the figures).
`lineageql artifacts verify` always checks at `full` unless told `--size-only`.

What is compared: for a saved version, every file in its folder except `visualizations/` (and
any visualization file recorded elsewhere in the folder), as `sdk.materializers.io.save_data`
hashed them; for a registered file or folder, every file, as `hash_tree` did at registration.
A version saved before every file was hashed, by a materializer writing with plain `open()`,
has the empty tree's hash with size 0 while its folder holds files: it is loaded unverified.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from sdk.errors import (
    ArtifactDataChangedError,
    ArtifactDataMissingError,
    InputError,
    LineageQLError,
)
from sdk.types import JsonObject

if TYPE_CHECKING:
    from sdk.artifacts.store import ArtifactStore
    from sdk.client.views import ArtifactVersion

log = logging.getLogger("lineageql")

ENV = "LINEAGEQL_VERIFY"


class VerifyLevel(StrEnum):
    FULL = "full"
    SIZE = "size"
    OFF = "off"


DEFAULT_LEVEL = VerifyLevel.SIZE

Status = Literal["ok", "unverifiable", "missing", "changed", "skipped"]
PROBLEMS: frozenset[str] = frozenset({"missing", "changed"})


def verify_level(value: VerifyLevel | str | bool | None = None) -> VerifyLevel:
    """The level asked for: `value` (True is full, False is off), else `LINEAGEQL_VERIFY`,
    else the default (size)."""
    if value is True:
        return VerifyLevel.FULL
    if value is False:
        return VerifyLevel.OFF
    source = "verify="
    if value is None:
        value = os.environ.get(ENV, "").strip().lower() or DEFAULT_LEVEL
        source = f"{ENV}="
    try:
        return VerifyLevel(str(value).lower())
    except ValueError:
        raise InputError(
            f"{source}{value!r} is not a verification level; use full (recompute the content "
            "hash), size (existence and size, the default) or off"
        ) from None


@dataclass(frozen=True)
class VersionCheck:
    """What checking one version found. `files` are the data files found (relative to the
    version's folder, with their sizes); `detail` says what is wrong, or why it was not
    checked."""

    id: str
    name: str
    version: str
    uri: str
    status: Status
    detail: str = ""
    files: tuple[tuple[str, int], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def problem(self) -> bool:
        return self.status in PROBLEMS

    def error(self) -> LineageQLError | None:
        """The error loading this version raises, or None when it may be loaded."""
        if self.status == "missing":
            return ArtifactDataMissingError(
                f"The data of artifact version {self.label} (id {self.id}) is missing: "
                f"{self.detail}. It was deleted or moved by other means than LineageQL. "
                "Restore it from a backup, or save the data again as a new version; "
                "`lineageql artifacts verify` checks every version of the store."
            )
        if self.status == "changed":
            return ArtifactDataChangedError(
                f"The data of artifact version {self.label} (id {self.id}) changed after it was "
                f"saved: {self.detail}. It is not loaded, since it is not the data recorded. "
                "Restore the files from a backup, or save the data again as a new version "
                '(`load(verify="off")` loads it anyway); `lineageql artifacts verify` checks '
                "every version of the store."
            )
        return None

    def to_dict(self) -> JsonObject:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "status": self.status,
            "detail": self.detail,
            "files": [{"path": path, "size": size} for path, size in self.files],
        }


def data_uri(version: ArtifactVersion) -> str:
    """Where `version`'s data is read from: what `load()` hands its materializer and what
    is checked here (one place, so that both always look at the same files)."""
    return version.uri


def verify_version(version: ArtifactVersion, level: VerifyLevel | str | bool | None) -> None:
    """Raise ArtifactDataMissingError or ArtifactDataChangedError when `version`'s data is not
    what was recorded, at `level` (see `verify_level`)."""
    chosen = verify_level(level)
    if chosen is VerifyLevel.OFF:
        return
    error = check_version(version, chosen).error()
    if error is not None:
        raise error


def missing_file_error(version: ArtifactVersion, missing: FileNotFoundError) -> LineageQLError:
    """ArtifactDataMissingError for a file the materializer did not find while loading."""
    uri = data_uri(version)
    where = missing.filename or uri
    check = VersionCheck(
        version.id, version.name, version.version, uri, "missing", f"{where} not found"
    )
    error = check.error()
    assert error is not None
    return error


def check_version(
    version: ArtifactVersion, level: VerifyLevel | str = VerifyLevel.FULL
) -> VersionCheck:
    """Check `version`'s data at `level` (`size` or `full`); pruned data is `skipped`."""
    chosen = verify_level(level)

    from sdk.materializers.io import hash_tree

    uri = data_uri(version)

    def result(status: Status, detail: str = "", files: Any = ()) -> VersionCheck:
        return VersionCheck(
            version.id, version.name, version.version, uri, status, detail, tuple(files)
        )

    if version.data_deleted_at is not None:
        return result("skipped", "its data was pruned; only its metadata remains")
    if chosen is VerifyLevel.OFF:
        return result("unverifiable", "not checked (verification off)")
    store = version.client.store
    try:
        root = store.path(uri)
    except ValueError as exc:
        return result("missing", str(exc))
    registered = version.source == "REGISTERED"
    found = _registered_files(store, root) if registered else _saved_files(version, store, uri)
    if found is None or (not found and not store.fs.exists(root)):
        what = "file or folder" if registered else "folder"
        return result("missing", f"there is no {what} at {uri}")
    files = [(path, size) for path, _, size in found]
    size = sum(size for _, size in files)
    recorded_hash, recorded_size = version.content_hash, version.size_bytes
    if recorded_hash is None or recorded_size is None:
        return result("unverifiable", "no content hash or size was recorded", files)
    if not files and recorded_size > 0:
        return result("missing", f"no data file is left in {uri}", files)
    if not registered and recorded_size == 0 and files and recorded_hash == _empty_tree():
        log.debug(
            "%s:%s (id %s) records the hash of no files, but %s holds %d: saved before every "
            "file of a version was hashed; loaded without verification",
            version.name,
            version.version,
            version.id,
            uri,
            len(files),
        )
        return result("unverifiable", "saved before all of its files were hashed", files)
    if size != recorded_size:
        return result(
            "changed",
            f"{_listed(files)} in {uri} hold {size:,} bytes; {recorded_size:,} were recorded",
            files,
        )
    if chosen is VerifyLevel.FULL:
        digest = hash_tree(uri, store)[0] if registered else _saved_hash(version, store, uri)
        if digest != recorded_hash:
            return result(
                "changed",
                f"the content of {_listed(files)} in {uri} no longer matches the "
                f"recorded content hash (same size, {size:,} bytes)",
                files,
            )
    return result("ok", "", files)


def _listed(files: list[tuple[str, int]]) -> str:
    if len(files) == 1:
        return f"its file {files[0][0]}"
    names = ", ".join(path for path, _ in files[:10])
    more = f" and {len(files) - 10} more" if len(files) > 10 else ""
    return f"one or more of its files ({names}{more})"


def _empty_tree() -> str:
    from sdk.materializers.base import tree_hash

    return tree_hash([])


def _shown(version: ArtifactVersion, store: ArtifactStore, uri: str) -> set[str]:
    """Relative paths of the recorded visualization files (excluded from the hash)."""
    from sdk.materializers.io import relative_to_version

    return {relative_to_version(store, uri, v.uri) for v in version.visualizations}


def _saved_files(
    version: ArtifactVersion, store: ArtifactStore, uri: str
) -> list[tuple[str, str, int]]:
    from sdk.materializers.io import folder_digests

    digests = folder_digests(store, uri, exclude=_shown(version, store, uri), read=False)
    return [(d.relpath, "", d.size) for d in digests]


def _saved_hash(version: ArtifactVersion, store: ArtifactStore, uri: str) -> str:
    from sdk.materializers.base import tree_hash
    from sdk.materializers.io import folder_digests

    return tree_hash(folder_digests(store, uri, exclude=_shown(version, store, uri)))


def _registered_files(store: ArtifactStore, root: str) -> list[tuple[str, str, int]] | None:
    """The files of registered data (one for a file), or None when there is nothing."""
    import posixpath

    try:
        info = store.fs.info(root)
    except FileNotFoundError:
        return None
    if info.get("type") != "directory":
        return [(posixpath.basename(root), root, int(info.get("size") or 0))]
    found = store.fs.find(root, detail=True)
    base = root.strip("/")
    return sorted(
        (posixpath.relpath(path.strip("/"), base), path, int(info.get("size") or 0))
        for path, info in found.items()
        if info.get("type") != "directory"
    )
