"""An `s3://bucket/prefix` artifact store on a real S3-compatible server (moto, loopback).

Each materializer saves and loads through s3fs, and the SDK runs end to end, embedded and over
HTTP, with nothing configured but LINEAGEQL_ARTIFACT_STORE and the usual AWS variables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sdk import Client, load_artifact, pipeline, register_artifact, save_artifact, step
from sdk.artifacts.store import ArtifactStore
from sdk.materializers import (
    MaterializerError,
    PickleFallbackWarning,
    SavedData,
    hash_tree,
    load_data,
    save_data,
)
from tests.conftest import InProcessServer, _close_transports


class Opaque:
    """A class no materializer handles: stored with the cloudpickle fallback."""

    def __init__(self, value: int) -> None:
        self.value = value


@pytest.fixture
def s3_store(s3_store_uri: str) -> ArtifactStore:
    return ArtifactStore(s3_store_uri)


def _save(data: Any, store: ArtifactStore) -> SavedData:
    return save_data(data, store.new_version_uri("step", "output"), store)


def _round_trip(data: Any, store: ArtifactStore) -> Any:
    saved = _save(data, store)
    return load_data(saved.uri, saved.materializer, saved.data_type, store)


@pytest.mark.parametrize(
    "value",
    [7, 2.5, "text", True, None, b"\x00bytes\xff", {"a": [1, 2]}, [1, "x", None], (1, 2)],
    ids=repr,
)
def test_builtin_values_round_trip_through_s3(s3_store: ArtifactStore, value: Any) -> None:
    loaded = _round_trip(value, s3_store)
    assert loaded == value
    assert type(loaded) is type(value)


def test_numpy_array_round_trips_through_s3(s3_store: ArtifactStore) -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    loaded = _round_trip(array, s3_store)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, array)


def test_dataframe_and_series_round_trip_through_s3(s3_store: ArtifactStore) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    pd.testing.assert_frame_equal(_round_trip(frame, s3_store), frame)
    series = pd.Series([0.5, 1.5], name="s")
    pd.testing.assert_series_equal(_round_trip(series, s3_store), series)


def test_pickle_fallback_round_trips_through_s3(s3_store: ArtifactStore) -> None:
    with pytest.warns(PickleFallbackWarning):
        loaded = _round_trip(Opaque(41), s3_store)
    assert isinstance(loaded, Opaque) and loaded.value == 41


def test_path_folder_round_trips_as_a_local_copy(s3_store: ArtifactStore, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha")
    (folder / "sub" / "b.bin").write_bytes(b"\x01\x02")
    loaded = _round_trip(folder, s3_store)
    assert isinstance(loaded, Path) and loaded.is_dir()
    assert (loaded / "a.txt").read_text() == "alpha"
    assert (loaded / "sub" / "b.bin").read_bytes() == b"\x01\x02"


def test_s3_and_local_stores_write_the_same_bytes(s3_store: ArtifactStore, tmp_path: Path) -> None:
    local = ArtifactStore(str(tmp_path / "local"))
    frame = pd.DataFrame({"x": range(100)})
    for value in ({"k": [1, 2, 3]}, np.ones(50), frame):
        on_s3, on_disk = _save(value, s3_store), _save(value, local)
        assert on_s3.content_hash == on_disk.content_hash
        assert on_s3.size_bytes == on_disk.size_bytes
        assert on_s3.uri.startswith(f"{s3_store.uri}/step/output/")
        assert hash_tree(on_s3.uri, s3_store) == hash_tree(on_disk.uri, local)


def test_failing_save_leaves_nothing_in_the_bucket(s3_store: ArtifactStore) -> None:
    class Unsaveable:
        def __reduce__(self) -> Any:
            raise RuntimeError("cannot pickle this")

    uri = s3_store.new_version_uri("step", "output")
    with pytest.warns(PickleFallbackWarning), pytest.raises(RuntimeError, match="cannot pickle"):
        save_data(Unsaveable(), uri, s3_store)
    assert not s3_store.exists(uri)
    assert s3_store.fs.find(s3_store.root) == []


def test_save_refuses_a_version_directory_that_holds_objects(s3_store: ArtifactStore) -> None:
    uri = s3_store.new_version_uri("step", "output")
    s3_store.fs.pipe_file(f"{s3_store.path(uri)}/other.bin", b"x")
    with pytest.raises(MaterializerError, match="not empty"):
        save_data(1, uri, s3_store)
    assert s3_store.fs.cat_file(f"{s3_store.path(uri)}/other.bin") == b"x"


# --- the SDK end to end, with LINEAGEQL_ARTIFACT_STORE=s3://bucket/prefix


@pytest.fixture(params=["embedded", "http"])
def s3_lineageql(
    request: pytest.FixtureRequest,
    store_env: dict[str, str],
    s3_store_uri: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """The SDK on an S3 artifact store, embedded or through the API served in this process
    over HTTP (SQLite metadata)."""
    monkeypatch.setenv("LINEAGEQL_ARTIFACT_STORE", s3_store_uri)
    if request.param == "embedded":
        yield s3_store_uri
        return
    server = InProcessServer(os.environ)
    monkeypatch.setenv("LINEAGEQL_URL", server.url)
    monkeypatch.delenv("LINEAGEQL_DATABASE_URL")
    try:
        yield s3_store_uri
    finally:
        _close_transports()
        server.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_save_and_load_artifact_on_s3(s3_lineageql: str) -> None:
    first = save_artifact({"rows": 3}, name="s3_dict")
    second = save_artifact(np.arange(4), name="s3_dict")
    assert (first.version, second.version) == ("1", "2")
    assert first.uri.startswith(f"{s3_lineageql}/")
    assert load_artifact("s3_dict", "1") == {"rows": 3}
    np.testing.assert_array_equal(load_artifact("s3_dict"), np.arange(4))
    assert Client().store.fs.exists(Client().store.path(second.uri))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_register_artifact_inside_an_s3_store(s3_lineageql: str) -> None:
    store = Client().store
    store.fs.pipe_file(f"{store.root}/registered/ckpt/weights.bin", b"\x00" * 10)
    version = register_artifact(f"{s3_lineageql}/registered/ckpt", name="s3_ckpt")
    assert version.uri == f"{s3_lineageql}/registered/ckpt"
    loaded = version.load()
    assert isinstance(loaded, Path)
    assert (loaded / "weights.bin").read_bytes() == b"\x00" * 10
    with pytest.raises(Exception, match="outside the store"):
        register_artifact("s3://another-bucket/x", name="s3_elsewhere")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pipeline_on_s3_is_cached_until_its_outputs_are_deleted(s3_lineageql: str) -> None:
    @step
    def make() -> pd.DataFrame:
        return pd.DataFrame({"x": [1, 2, 3]})

    @step
    def total(frame: pd.DataFrame) -> int:
        return int(frame.x.sum())

    @pipeline
    def s3_pipeline() -> None:
        total(make())

    first = s3_pipeline()
    assert first.steps["total"].outputs["output"].load() == 6
    assert first.steps["make"].outputs["output"].uri.startswith(f"{s3_lineageql}/")
    second = s3_pipeline()
    assert {s.status for s in second.steps.values()} == {"CACHED"}

    store = Client().store
    store.remove(first.steps["total"].outputs["output"].uri)
    third = s3_pipeline()
    assert third.steps["make"].status == "CACHED"
    assert third.steps["total"].status == "COMPLETED"
    assert third.steps["total"].outputs["output"].load() == 6
