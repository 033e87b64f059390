"""A disk that fills while a version is saved: StoreFullError with the cause chained, nothing
registered, no partial files left; the next save, with room again, works.

Two disks: the local filesystem seen through an fsspec class whose files opened for writing
fail with ENOSPC (or EDQUOT) once the room left is used up, registered for local paths for the
test; and, when the tests run as root and can mount one, a real 2 MB tmpfs."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any, ClassVar

import fsspec
import numpy as np
import pytest
from fsspec.implementations.local import LocalFileOpener, LocalFileSystem
from fsspec.registry import _registry

from sdk import Client, pipeline, save_artifact, step
from sdk.errors import StoreFullError
from sdk.materializers import BaseMaterializer, PickleFallbackWarning
from tests.faults.common import database_url  # noqa: F401 (SQLite only)

MB = 1 << 20


class FillingFileSystem(LocalFileSystem):
    """The local filesystem on a disk with `room` bytes left for files opened to write."""

    room: ClassVar[int] = MB
    code: ClassVar[int] = errno.ENOSPC

    def _open(self, path: str, mode: str = "rb", block_size: Any = None, **kwargs: Any) -> Any:
        if "w" not in mode and "a" not in mode:
            return super()._open(path, mode, block_size, **kwargs)
        path = self._strip_protocol(path)
        if self.auto_mkdir:
            self.makedirs(self._parent(path), exist_ok=True)
        return FillingFile(path, mode, fs=self, **kwargs)


class FillingFile(LocalFileOpener):
    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        fits = min(view.nbytes, FillingFileSystem.room)
        written = int(self.f.write(view[:fits]))
        FillingFileSystem.room -= written
        if written < view.nbytes:
            code = FillingFileSystem.code
            raise OSError(code, os.strerror(code), self.path)
        return written


@pytest.fixture
def filling_disk(store_env: dict[str, str]) -> Iterator[type[FillingFileSystem]]:
    """Local paths (the store of `store_env`) go through FillingFileSystem."""
    registry = _registry
    before = {key: registry.get(key) for key in ("file", "local")}
    for key in before:
        fsspec.register_implementation(key, FillingFileSystem, clobber=True)
    FillingFileSystem.room, FillingFileSystem.code = MB, errno.ENOSPC
    try:
        yield FillingFileSystem
    finally:
        for key, cls in before.items():
            if cls is None:
                registry.pop(key, None)
            else:
                registry[key] = cls


def store_files(root: Path) -> list[str]:
    """Every file in the store but its own bookkeeping (`.lineageql/`)."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith(".lineageql/")
    )


def version_dirs(root: Path) -> list[Path]:
    """Directories at the depth of `{step}/{output}/{uuid}`."""
    return [p for p in root.glob("*/*/*") if p.is_dir() and not p.name.startswith(".")]


class Blob:
    """Falls back to cloudpickle: the store fills inside cloudpickle.dump."""

    def __init__(self, size: int) -> None:
        self.payload = os.urandom(size)


def warns_if_pickled(value: Any) -> contextlib.AbstractContextManager[Any]:
    return pytest.warns(PickleFallbackWarning) if isinstance(value, Blob) else nullcontext()


def assert_nothing_left(root: Path) -> None:
    assert Client().list_artifact_versions() == []
    assert store_files(root) == []
    assert version_dirs(root) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["ENOSPC", "EDQUOT"])
@pytest.mark.parametrize(
    "value",
    [np.ones(1_000_000), b"x" * (3 * MB), Blob(3 * MB)],
    ids=["array", "bytes", "pickled"],
)
def test_a_disk_filling_during_a_save_raises_store_full(
    filling_disk: type[FillingFileSystem],
    store_env: dict[str, str],
    code: int,
    value: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    root = Path(store_env["LINEAGEQL_ARTIFACT_STORE"])
    filling_disk.code = code
    with warns_if_pickled(value), pytest.raises(StoreFullError) as full:
        save_artifact(value, "big")
    error = full.value
    assert isinstance(error, OSError) and error.errno == code
    assert isinstance(error.__cause__, OSError) and error.__cause__.errno == code
    message = str(error)
    assert "is full" in message and "Nothing was registered" in message
    assert "lineageql artifacts prune" in message and "LINEAGEQL_ARTIFACT_STORE" in message
    assert_nothing_left(root)
    assert "Traceback" not in capfd.readouterr().err

    filling_disk.room = 1 << 30  # space freed
    with warns_if_pickled(value):
        saved = save_artifact(value, "big")
    assert saved.version == "1"
    Client().get_artifact_version(saved.id).load(verify="full")


@step
def big_output() -> bytes:
    return b"y" * (2 * MB)


@pipeline(enable_cache=False)
def fills_the_disk() -> None:
    big_output()


def test_a_step_output_filling_the_disk_fails_the_run(
    filling_disk: type[FillingFileSystem], store_env: dict[str, str]
) -> None:
    root = Path(store_env["LINEAGEQL_ARTIFACT_STORE"])
    with pytest.raises(StoreFullError):
        fills_the_disk()
    run = Client().get_pipeline("fills_the_disk").last_run
    assert run.status == "FAILED"
    assert_nothing_left(root)


# --- a real full disk ------------------------------------------------------------------------


class PlainText:
    def __init__(self, text: str) -> None:
        self.text = text


class PlainOpenMaterializer(BaseMaterializer):
    """Writes with plain `open()`, as ZenML's materializers do: no fsspec in the way."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (PlainText,)

    def save(self, data: PlainText) -> None:
        with open(os.path.join(self.uri, "data.txt"), "w") as f:
            f.write(data.text)

    def load(self, data_type: type[Any]) -> PlainText:
        with open(os.path.join(self.uri, "data.txt")) as f:
            return PlainText(f.read())


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, when this process may mount one."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the fsspec disk above covers the logic")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_real_full_disk_raises_store_full(
    small_tmpfs: Path, store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = small_tmpfs / "store"
    monkeypatch.setenv("LINEAGEQL_ARTIFACT_STORE", str(store))
    for value, materializer in [
        (np.ones(1_000_000), None),  # 8 MB through self.open
        (PlainText("z" * (4 * MB)), PlainOpenMaterializer),  # 4 MB through plain open()
    ]:
        with pytest.raises(StoreFullError) as full:
            save_artifact(value, "big", materializer=materializer)
        assert isinstance(full.value.__cause__, OSError)
        assert full.value.__cause__.errno == errno.ENOSPC
        assert_nothing_left(store)
    saved = save_artifact(PlainText("fits"), "big", materializer=PlainOpenMaterializer)
    assert Client().get_artifact_version(saved.id).load(verify="full").text == "fits"
