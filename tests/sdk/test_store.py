from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdk.artifacts.store import ArtifactStore, sanitize


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    if request.param == "local":
        yield ArtifactStore(str(tmp_path / "store"))
        return
    if request.param == "s3":
        yield ArtifactStore(request.getfixturevalue("s3_store_uri"))
        return
    memory = ArtifactStore(f"memory://store-{uuid.uuid4().hex}")
    yield memory
    if memory.fs.exists(memory.root):
        memory.fs.rm(memory.root, recursive=True)


def test_local_store_uses_plain_absolute_paths(tmp_path: Path) -> None:
    assert ArtifactStore(f"file://{tmp_path}/").uri == str(tmp_path)
    assert ArtifactStore(str(tmp_path)).root == str(tmp_path)


def test_s3_store_keeps_its_scheme_and_bucket(s3_store_uri: str) -> None:
    store = ArtifactStore(f"{s3_store_uri}/")
    assert store.uri == s3_store_uri
    assert store.root == s3_store_uri.removeprefix("s3://")
    assert store.new_version_uri("s", "o").startswith(f"{s3_store_uri}/s/o/")


def test_memory_store_keeps_its_scheme() -> None:
    store = ArtifactStore("memory://bucket/prefix/")
    assert store.uri == "memory://bucket/prefix"
    assert store.new_version_uri("s", "o").startswith("memory://bucket/prefix/s/o/")


def test_new_version_uri_is_a_new_empty_directory_every_call(store: ArtifactStore) -> None:
    uris = {store.new_version_uri("step", "output") for _ in range(20)}
    assert len(uris) == 20
    for uri in uris:
        assert uri.startswith(f"{store.uri}/step/output/") and uri.endswith("/")
        assert len(uri.rstrip("/").rsplit("/", 1)[1]) == 32
        assert store.fs.find(store.path(uri)) == []
        # an object store has no empty directories: there, nothing exists until written
        if not store.uri.startswith("s3://"):
            assert store.exists(uri)
            assert store.fs.ls(store.path(uri)) == []


@pytest.mark.parametrize(
    ("step", "output"),
    [("pipe::step", "output"), ("../x", ".."), ("a/b", "c/../../d"), ("", "."), (" s p ", "é")],
)
def test_new_version_uri_stays_inside_the_store(
    store: ArtifactStore, step: str, output: str
) -> None:
    uri = store.new_version_uri(step, output)
    path = store.path(uri)
    relative = posixpath.relpath(path, store.root or "/")
    parts = relative.split("/")
    assert len(parts) == 3
    assert all(part not in {"", ".", ".."} for part in parts)
    assert store.contains(uri)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pipe::step::output", "pipe__step__output"),
        ("../x", ".._x"),
        ("a/b", "a_b"),
        ("", "_"),
        (".", "_"),
        ("..", "__"),
        ("ok-name_1.v2", "ok-name_1.v2"),
    ],
)
def test_sanitize(name: str, expected: str) -> None:
    assert sanitize(name) == expected


def test_sanitize_bounds_the_length() -> None:
    assert len(sanitize("x" * 1000)) <= 128


def test_remove_is_recursive_and_tolerates_missing(store: ArtifactStore) -> None:
    uri = store.new_version_uri("s", "o")
    store.fs.makedirs(posixpath.join(store.path(uri), "sub"), exist_ok=True)
    store.fs.pipe_file(posixpath.join(store.path(uri), "sub/file.bin"), b"data")
    store.remove(uri)
    assert not store.exists(uri)
    store.remove(uri)


def test_remove_refuses_the_store_root(store: ArtifactStore) -> None:
    with pytest.raises(ValueError, match="whole artifact store"):
        store.remove(store.uri)


def test_path_refuses_uris_outside_the_store(store: ArtifactStore, tmp_path: Path) -> None:
    outside = [str(tmp_path / "elsewhere"), f"{store.uri}/../escape", "memory://other/x"]
    for uri in outside:
        assert not store.contains(uri)
        with pytest.raises(ValueError, match="not inside the artifact store"):
            store.path(uri)


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_path_of_the_stores_own_uris_matches_fsspecs_parse(kind: str, tmp_path: Path) -> None:
    import fsspec

    from sdk.artifacts.store import _normalize

    root = str(tmp_path / "store") if kind == "local" else f"memory://paths-{uuid.uuid4().hex}"
    store = ArtifactStore(root)
    base = store.uri.rstrip("/")
    for uri in (
        store.new_version_uri("step", "out"),
        f"{base}/a/b/c.txt",
        f"{base}/a//b/./c/",
        f"{base}/a/b/../c",
        f"{base}/name with space/x",
        f"{base}/%41/x",
    ):
        assert store.path(uri) == _normalize(fsspec.core.url_to_fs(uri)[1]), uri
    for outside in (f"{base}/../elsewhere", f"{base}/a/../../x"):
        with pytest.raises(ValueError, match="not inside the artifact store"):
            store.path(outside)


def test_local_listing_matches_fsspecs_find(tmp_path: Path) -> None:
    """The local fast path lists what fsspec's `find` lists: nested files, a symlink (to a
    file, to a folder, dangling) as one entry sized as its target, a FIFO, no folders."""
    import os

    from sdk.materializers.io import _listing, _local_listing

    root = tmp_path / "version"
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "a" / "x.txt").write_text("1")
    (root / "a" / "b" / "c" / "y").write_text("22")
    (root / "link").symlink_to(root / "a" / "x.txt")
    (root / "dirlink").symlink_to(root / "a" / "b")
    (root / "dangling").symlink_to(root / "nowhere")
    os.mkfifo(root / "fifo")
    store = ArtifactStore(str(tmp_path))
    found = store.fs.find(str(root), detail=True)
    base = str(root).strip("/")
    expected = sorted(
        (posixpath.relpath(path.strip("/"), base), path, int(info.get("size") or 0))
        for path, info in found.items()
        if info.get("type") != "directory"
    )
    assert sorted(_local_listing(str(root))) == expected
    assert sorted(_listing(store, str(root))) == expected
