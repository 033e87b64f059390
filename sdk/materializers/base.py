"""The materializer contract and the hashing writer every materializer writes through."""

from __future__ import annotations

import abc
import io
import json
import posixpath
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any, ClassVar, Literal, NamedTuple, overload

import xxhash

from sdk.artifacts.store import ArtifactStore

# Defined in sdk.errors (one error family with LineageQLError), re-exported here.
from sdk.errors import MaterializerError as MaterializerError
from sdk.errors import UntrustedArtifactError as UntrustedArtifactError
from sdk.types import VisualizationType as VisualizationType


class PickleFallbackWarning(UserWarning):
    """A value was stored with cloudpickle because no materializer stores it exactly."""


_UNTRUSTED_ALLOWED: ContextVar[bool] = ContextVar("lineageql_untrusted_allowed", default=False)


@contextmanager
def allowing_untrusted(allowed: bool = True) -> Iterator[None]:
    """Within the block, materializers load data whose signature or Python version they
    cannot verify (what `load(allow_untrusted=True)` does); they refuse it otherwise."""
    token = _UNTRUSTED_ALLOWED.set(allowed)
    try:
        yield
    finally:
        _UNTRUSTED_ALLOWED.reset(token)


def untrusted_allowed() -> bool:
    """Whether the current load was explicitly allowed to skip verification."""
    return _UNTRUSTED_ALLOWED.get()


class FileDigest(NamedTuple):
    relpath: str
    digest: str
    size: int


def tree_hash(files: Iterable[FileDigest]) -> str:
    """Digest of the sorted (relpath, file digest, size) list: the content hash of a version."""
    entries = sorted([f.relpath, f.digest, f.size] for f in files)
    return digest_bytes(json.dumps(entries, separators=(",", ":")).encode())


def new_hasher() -> Any:
    """The streaming hash of artifact content: XXH3-128. At ~20 GB/s it stays a small share
    of writing even from the page cache (blake3 single-threaded cost 28-47 % of a 1 GB save,
    measured in bench/cache.py); it identifies content, it does not authenticate it."""
    return xxhash.xxh3_128()


def digest_bytes(data: bytes) -> str:
    return str(xxhash.xxh3_128_hexdigest(data))


def _byte_view(data: Any) -> memoryview:
    """A flat byte view of any buffer (pickle hands over typed, possibly strided, buffers)."""
    view = memoryview(data)
    if view.format == "B" and view.ndim == 1:
        return view
    if view.c_contiguous:
        return view.cast("B")
    return memoryview(view.tobytes())


class HashingWriter(io.RawIOBase):
    """A write-only binary file that hashes and counts the bytes on their way to `raw`."""

    def __init__(self, raw: IO[bytes], on_close: Callable[[str, int], None]) -> None:
        super().__init__()
        self._raw = raw
        self._on_close = on_close
        self._hasher = new_hasher()
        self._size = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._size

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed file")
        view = _byte_view(data)
        self._raw.write(view)
        self._hasher.update(view)
        self._size += view.nbytes
        return view.nbytes

    def flush(self) -> None:
        if not self.closed:
            self._raw.flush()

    def close(self) -> None:
        if self.closed:
            return
        try:
            super().close()
            self._raw.close()
        finally:
            self._on_close(self._hasher.hexdigest(), self._size)


class BaseMaterializer(abc.ABC):
    """Saves values of `ASSOCIATED_TYPES` into the version directory `uri` and loads them back.

    The content hash and size of a version cover every file in `uri` except `visualizations/`.
    Files written with `self.open(relpath, "wb")` are hashed while they are written (the fast
    path); files written any other way (plain `open()` under `uri`, fsspec, a library's own
    writer) are read back once after `save()` returns.
    """

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = ()

    def __init__(self, uri: str, store: ArtifactStore) -> None:
        self.uri = uri
        self.store = store
        self._dir = store.path(uri)
        self._written: dict[str, FileDigest] = {}
        self._writers: list[HashingWriter] = []

    @classmethod
    def can_save(cls, data: Any) -> bool:
        """Whether `save` then `load` gives back an equal value of the same type."""
        return True

    @abc.abstractmethod
    def save(self, data: Any) -> None: ...

    @abc.abstractmethod
    def load(self, data_type: type[Any]) -> Any: ...

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {}

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        return {}

    @overload
    def open(self, relpath: str, mode: Literal["wb"]) -> HashingWriter: ...
    @overload
    def open(self, relpath: str, mode: Literal["rb"] = "rb") -> IO[bytes]: ...
    def open(self, relpath: str, mode: Literal["rb", "wb"] = "rb") -> IO[bytes] | HashingWriter:
        if mode == "rb":
            path = self._fs_path(relpath)
            # A real file object lets NumPy and Arrow read straight into their buffers.
            file: IO[bytes] = (
                open(path, "rb")  # noqa: SIM115 - the caller closes it
                if self.store.local
                else self.store.fs.open(path)
            )
            return file
        if mode != "wb":
            raise ValueError(f"mode must be 'rb' or 'wb', not {mode!r}")
        key = _checked_relpath(relpath, type(self).__name__)
        path = posixpath.join(self._dir, key)
        self.store.fs.makedirs(posixpath.dirname(path), exist_ok=True)

        def record(digest: str, size: int) -> None:
            self._written[key] = FileDigest(key, digest, size)

        writer = HashingWriter(self.store.fs.open(path, "wb"), record)
        self._writers.append(writer)
        return writer

    def exists(self, relpath: str) -> bool:
        return bool(self.store.fs.exists(self._fs_path(relpath)))

    def files(self, relpath: str = "") -> list[str]:
        """Relative paths of every file at or below `relpath`, sorted ("" when `uri` is a file)."""
        found = self.store.fs.find(self._fs_path(relpath))
        # Filesystems differ on a leading "/" (memory:// adds one, s3:// has none).
        base = self._dir.lstrip("/")
        relpaths = (posixpath.relpath(p.lstrip("/"), base) for p in found)
        return sorted("" if p == "." else p for p in relpaths)

    def written(self) -> list[FileDigest]:
        """Close any file still open and return the digests of every file written so far."""
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        return sorted(self._written.values())

    def _fs_path(self, relpath: str) -> str:
        """The fs path of `relpath`; "" is the version directory (or file) itself."""
        if not relpath:
            return self._dir
        return posixpath.join(self._dir, _checked_relpath(relpath, type(self).__name__))


def _checked_relpath(relpath: str, materializer: str) -> str:
    normalized = posixpath.normpath(relpath)
    if relpath.startswith("/") or normalized in {".", ".."} or normalized.startswith("../"):
        raise MaterializerError(
            f"{materializer} used the path {relpath!r}; materializers may only use relative "
            "paths inside their version directory, such as 'data.json'."
        )
    return normalized


def type_path(cls: type[Any]) -> str:
    """The `module:QualName` import path of a class."""
    return f"{cls.__module__}:{cls.__qualname__}"
