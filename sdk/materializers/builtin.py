"""Materializers for Python's own types: scalars, bytes, JSON containers and `pathlib.Path`."""

from __future__ import annotations

import atexit
import functools
import json
import posixpath
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, ClassVar

from sdk.materializers import visuals
from sdk.materializers.base import (
    BaseMaterializer,
    FileDigest,
    MaterializerError,
    VisualizationType,
    digest_bytes,
    new_hasher,
    tree_hash,
)

_SCALARS = (bool, float, int, str, type(None))
# json.dumps refuses ints of more than 4300 digits (sys.get_int_max_str_digits()).
_MAX_INT_BITS = 14_000
_MAX_SHOWN = 100  # characters of a number's text kept as metadata


def is_exact_json(value: Any) -> bool:
    """Whether `value` survives a JSON round trip with every type intact (tuples excepted)."""
    kind = type(value)
    if kind is int:
        return bool(value.bit_length() < _MAX_INT_BITS)
    if kind in _SCALARS:
        return True
    if kind is list:
        return all(is_exact_json(item) for item in value)
    if kind is dict:
        return all(type(k) is str and is_exact_json(v) for k, v in value.items())
    return False


def _dump_json(value: Any) -> bytes:
    # surrogatepass keeps lone surrogates ("\ud800"), which are valid in a Python str.
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _load_json(data: bytes) -> Any:
    return json.loads(data.decode("utf-8", "surrogatepass"))


class BuiltInMaterializer(BaseMaterializer):
    """`bool`, `float`, `int`, `str` and `None` as `data.json`."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = _SCALARS

    @classmethod
    def can_save(cls, data: Any) -> bool:
        return is_exact_json(data)

    def save(self, data: Any) -> None:
        with self.open("data.json", "wb") as f:
            f.write(_dump_json(data))

    def load(self, data_type: type[Any]) -> Any:
        with self.open("data.json", "rb") as f:
            return _load_json(f.read())

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        """A str's length; a bool's, int's or float's text, as ZenML records it, so that the
        value itself shows wherever metadata does (a str may be long: not recorded)."""
        if isinstance(data, str):
            return {"length": len(data)}
        if isinstance(data, bool | int | float) and len(text := str(data)) <= _MAX_SHOWN:
            return {"string_representation": text}
        return {}

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        """A `str` as Markdown (its first 64 KiB characters); other scalars have none."""
        if not isinstance(data, str):
            return {}
        text = visuals.markdown_text(data)
        return visuals.write(self, "text.md", text, VisualizationType.MARKDOWN)


class BytesMaterializer(BaseMaterializer):
    """`bytes` as they are, in `data.bin`."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (bytes,)

    @classmethod
    def can_save(cls, data: Any) -> bool:
        return type(data) is bytes

    def save(self, data: bytes) -> None:
        with self.open("data.bin", "wb") as f:
            f.write(data)

    def load(self, data_type: type[Any]) -> bytes:
        with self.open("data.bin", "rb") as f:
            return f.read()

    def extract_metadata(self, data: bytes) -> dict[str, Any]:
        return {"length": len(data)}


class BuiltInContainerMaterializer(BaseMaterializer):
    """`dict`, `list` and `tuple` as `data.json`, when JSON gives them back exactly.

    That means plain `dict`/`list`/`tuple` (no subclasses), str keys, JSON scalars, and no tuple
    below the top level; anything else goes to the pickle fallback.
    """

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (dict, list, tuple)

    @classmethod
    def can_save(cls, data: Any) -> bool:
        try:
            if type(data) is tuple:
                return all(is_exact_json(item) for item in data)
            return type(data) in (dict, list) and is_exact_json(data)
        except RecursionError:  # a container that holds itself
            return False

    def save(self, data: Any) -> None:
        if not self.can_save(data):
            raise MaterializerError(
                f"{type(self).__name__} cannot store this {type(data).__name__} exactly as JSON "
                "(non-str dict keys, nested tuples, subclasses or non-JSON values). Leave the "
                "materializer unset to use the pickle fallback, or register a custom one."
            )
        with self.open("data.json", "wb") as f:
            f.write(_dump_json(list(data) if type(data) is tuple else data))

    def load(self, data_type: type[Any]) -> Any:
        with self.open("data.json", "rb") as f:
            value = _load_json(f.read())
        return tuple(value) if data_type is tuple else value

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"length": len(data)}

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        """Pretty JSON, bounded: at most 100 entries per container, 2,000 values in all."""
        preview = visuals.json_preview(data)
        return visuals.write(self, "data.json", preview, VisualizationType.JSON)


_PATH_MARKER = "lineageql-path.json"
_PATH_DATA = "data"


class PathMaterializer(BaseMaterializer):
    """A file or folder tree copied into `data/{name}`, with its name in `lineageql-path.json`.

    A version without that file (a registered file or folder) loads as it is. Loading
    returns a local copy in a temporary folder shared by equal contents and removed at exit.
    """

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Path,)

    def save(self, data: Path) -> None:
        source = Path(data)
        if source.is_file():
            files = [source]
            kind = "file"
        elif source.is_dir():
            files = sorted(p for p in source.rglob("*") if p.is_file())
            kind = "dir"
        else:
            raise MaterializerError(
                f"Cannot save the path {str(source)!r}: it is neither a file nor a folder."
            )
        for file in files:
            relpath = file.relative_to(source.parent).as_posix()
            with file.open("rb") as src, self.open(f"{_PATH_DATA}/{relpath}", "wb") as dst:
                shutil.copyfileobj(src, dst)
        with self.open(_PATH_MARKER, "wb") as f:
            f.write(json.dumps({"kind": kind, "name": source.name}).encode())

    def load(self, data_type: type[Any]) -> Path:
        if self.exists(_PATH_MARKER):
            with self.open(_PATH_MARKER, "rb") as f:
                name = str(json.loads(f.read())["name"])
            source = f"{_PATH_DATA}/{name}"
        else:
            name = posixpath.basename(self.store.path(self.uri)) or "data"
            source = ""
        if name in {"", ".", ".."} or "/" in name or "\\" in name:
            raise MaterializerError(f"{self.uri} names its file or folder {name!r}; refusing it.")
        staging = _local_copies() / f"incoming-{uuid.uuid4().hex}"
        try:
            digests = [
                self._copy_out(relpath, staging, _join(name, relpath[len(source) :]))
                for relpath in self.files(source)
            ]
            if not digests:  # an empty folder
                (staging / name).mkdir(parents=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return _keep(staging, name, tree_hash(digests)) / name

    def extract_metadata(self, data: Path) -> dict[str, Any]:
        return {"files": sum(1 for p in self.written() if p.relpath.startswith(f"{_PATH_DATA}/"))}

    def _copy_out(self, relpath: str, staging: Path, local_relpath: str) -> FileDigest:
        target = staging / local_relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        hasher, size = new_hasher(), 0
        with self.open(relpath, "rb") as src, target.open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
                hasher.update(chunk)
                size += len(chunk)
        return FileDigest(local_relpath, hasher.hexdigest(), size)


def _join(name: str, rest: str) -> str:
    rest = rest.strip("/")
    return f"{name}/{rest}" if rest else name


def _keep(staging: Path, name: str, content_hash: str) -> Path:
    """Move `staging` to the one folder kept for this content, unless that folder is intact."""
    final = staging.parent / digest_bytes(json.dumps([name, content_hash]).encode())
    if (final / name).exists() and _local_tree_hash(final) == content_hash:
        shutil.rmtree(staging, ignore_errors=True)
        return final
    shutil.rmtree(final, ignore_errors=True)  # missing, or changed by whoever used it
    try:
        staging.rename(final)
    except OSError:  # another thread kept the same content first
        if not final.is_dir():
            raise
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _local_tree_hash(folder: Path) -> str:
    files = (path for path in folder.rglob("*") if path.is_file())
    return tree_hash(
        FileDigest(
            path.relative_to(folder).as_posix(),
            _file_digest(path),
            path.stat().st_size,
        )
        for path in files
    )


def _file_digest(path: Path) -> str:
    hasher = new_hasher()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return str(hasher.hexdigest())


@functools.cache
def _local_copies() -> Path:
    root = Path(tempfile.mkdtemp(prefix="lineageql-paths-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root
