from __future__ import annotations

import json
import math
import os
import posixpath
import subprocess
import sys
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import xxhash

from sdk.artifacts.store import ArtifactStore
from sdk.materializers import (
    BaseMaterializer,
    MaterializerError,
    PickleFallbackWarning,
    SavedData,
    VisualizationType,
    hash_tree,
    load_data,
    materializer_for,
    register,
    save_data,
)
from sdk.materializers.builtin import (
    BuiltInContainerMaterializer,
    BuiltInMaterializer,
    BytesMaterializer,
    PathMaterializer,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    if request.param == "local":
        yield ArtifactStore(str(tmp_path / "store"))
        return
    memory = ArtifactStore(f"memory://materializers-{uuid.uuid4().hex}")
    yield memory
    if memory.fs.exists(memory.root):
        memory.fs.rm(memory.root, recursive=True)


@pytest.fixture
def local_store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "store"))


def save(data: Any, store: ArtifactStore, **kwargs: Any) -> SavedData:
    return save_data(data, store.new_version_uri("step", "output"), store, **kwargs)


def round_trip(data: Any, store: ArtifactStore, **kwargs: Any) -> tuple[Any, SavedData]:
    saved = save(data, store, **kwargs)
    return load_data(saved.uri, saved.materializer, saved.data_type, store), saved


def independent_tree_hash(store: ArtifactStore, uri: str) -> tuple[str, int]:
    root = store.path(uri)
    entries: list[tuple[str, str, int]] = []
    for path in store.fs.find(root):
        content = store.fs.cat_file(path)
        relpath = posixpath.relpath(path.lstrip("/"), root.lstrip("/"))
        if relpath.startswith("visualizations/"):  # not part of the content hash
            continue
        entries.append((relpath, xxhash.xxh3_128_hexdigest(content), len(content)))
    encoded = json.dumps(sorted(entries), separators=(",", ":")).encode()
    return xxhash.xxh3_128_hexdigest(encoded), sum(e[2] for e in entries)


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    __hash__ = None  # type: ignore[assignment]


# --- built-in types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        0,
        -(2**100),
        True,
        False,
        1.5,
        -0.0,
        math.inf,
        -math.inf,
        "",
        "héllo wörld ✓ 🚀",
        "lone surrogate \ud800",
        None,
        b"",
        b"\x00\xffbinary",
        {"a": 1, "b": [1, 2.5, None, True], "c": {"d": "e"}},
        [1, "two", 3.0, None, [4, {"five": 5}], math.inf],
        (1, "two", [3, 4], {"k": None}),
        (),
        [],
        {},
    ],
    ids=repr,
)
def test_builtin_round_trip(store: ArtifactStore, value: Any) -> None:
    loaded, saved = round_trip(value, store)
    assert type(loaded) is type(value)
    assert loaded == value
    assert repr(loaded) == repr(value)  # catches -0.0 and bool/int mix-ups
    assert saved.materializer.startswith("sdk.materializers.builtin:")


def test_nan_round_trip(store: ArtifactStore) -> None:
    loaded, _ = round_trip(math.nan, store)
    assert type(loaded) is float and math.isnan(loaded)


def test_bool_uses_the_builtin_materializer_and_stays_bool(store: ArtifactStore) -> None:
    assert materializer_for(bool) is BuiltInMaterializer
    loaded, _ = round_trip(True, store)
    assert loaded is True


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key"},
        {"nested": (1, 2)},
        [(1, 2)],
        OrderedDict(a=1),
        {"obj": Point(1, 2)},
        {1.5, 2.5},
        bytearray(b"x"),
    ],
    ids=repr,
)
def test_values_json_would_change_fall_back_to_pickle(store: ArtifactStore, value: Any) -> None:
    with pytest.warns(PickleFallbackWarning, match=type(value).__qualname__):
        loaded, saved = round_trip(value, store)
    assert saved.materializer == "sdk.materializers.pickle:PickleMaterializer"
    assert type(loaded) is type(value)
    assert loaded == value


def test_custom_class_falls_back_to_pickle(store: ArtifactStore) -> None:
    with pytest.warns(PickleFallbackWarning, match="register"):
        loaded, saved = round_trip(Point(1, 2), store)
    assert loaded == Point(1, 2)
    assert saved.data_type == "tests.sdk.test_materializers:Point"


def test_metadata_has_storage_size_and_lengths(store: ArtifactStore) -> None:
    assert save("abc", store).metadata == {"length": 3, "storage_size": 5}
    assert save(b"abcd", store).metadata == {"length": 4, "storage_size": 4}
    assert save([1, 2], store).metadata["length"] == 2
    assert save(7, store).metadata == {"string_representation": "7", "storage_size": 1}
    assert save(0.25, store).metadata["string_representation"] == "0.25"
    assert save(True, store).metadata["string_representation"] == "True"
    assert "string_representation" not in save(10**200, store).metadata  # too long to show


# --- pathlib.Path ---------------------------------------------------------------------------


def test_path_file_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    loaded, saved = round_trip(source, store)
    assert isinstance(loaded, Path) and loaded.name == "model.bin"
    assert loaded.read_bytes() == b"weights"
    assert loaded != source
    assert saved.metadata["files"] == 1


def test_path_folder_round_trip_is_a_local_copy(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "dataset"
    (source / "images" / "deep").mkdir(parents=True)
    (source / "labels.csv").write_text("a,b\n1,2\n")
    (source / "images" / "deep" / "x.png").write_bytes(b"\x89PNG")
    loaded, saved = round_trip(source, store)
    assert loaded.is_dir() and loaded.name == "dataset"
    assert sorted(p.relative_to(loaded).as_posix() for p in loaded.rglob("*") if p.is_file()) == [
        "images/deep/x.png",
        "labels.csv",
    ]
    assert (loaded / "labels.csv").read_text() == "a,b\n1,2\n"
    if store.local:
        assert not loaded.resolve().is_relative_to(Path(store.root).resolve())
    (loaded / "labels.csv").write_text("changed")
    assert store.fs.cat_file(posixpath.join(store.path(saved.uri), "data/dataset/labels.csv")) == (
        b"a,b\n1,2\n"
    )


def test_path_loads_reuse_one_copy_per_content(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("same")
    first, second = save(source, store), save(source, store)
    assert first.content_hash == second.content_hash
    paths = {load_data(s.uri, s.materializer, s.data_type, store) for s in (first, second)}
    assert len(paths) == 1


def test_a_changed_local_copy_is_not_reused(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("original")
    saved = save(source, store)
    first = load_data(saved.uri, saved.materializer, saved.data_type, store)
    first.write_text("edited by the user")
    again = load_data(saved.uri, saved.materializer, saved.data_type, store)
    assert again.read_text() == "original"


def test_empty_folder_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    loaded, _ = round_trip(tmp_path / "empty", store)
    assert loaded.is_dir() and list(loaded.iterdir()) == []


def test_registered_folder_loads_as_it_is(store: ArtifactStore) -> None:
    uri = store.new_version_uri("registered", "images")
    base = store.path(uri)
    store.fs.makedirs(posixpath.join(base, "sub"), exist_ok=True)
    store.fs.pipe_file(posixpath.join(base, "a.txt"), b"A")
    store.fs.pipe_file(posixpath.join(base, "sub", "b.txt"), b"B")
    loaded = load_data(uri, "sdk.materializers.builtin:PathMaterializer", "pathlib:Path", store)
    assert (loaded / "a.txt").read_bytes() == b"A"
    assert (loaded / "sub" / "b.txt").read_bytes() == b"B"
    assert hash_tree(uri, store) == independent_tree_hash(store, uri)


def test_saving_a_missing_path_fails_clearly(store: ArtifactStore, tmp_path: Path) -> None:
    uri = store.new_version_uri("s", "o")
    with pytest.raises(MaterializerError, match="neither a file nor a folder"):
        save_data(tmp_path / "missing", uri, store)
    assert not store.exists(uri)


# --- numpy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.arange(10, dtype=np.int64),
        np.linspace(0, 1, 7, dtype=np.float32),
        np.array([[1.5, np.nan], [np.inf, -0.0]]),
        np.array(3.25),
        np.array([True, False]),
        np.array(["a", "bé"]),
        np.array([1 + 2j]),
        np.arange(6, dtype=np.uint8).reshape(2, 3, order="F"),
        np.array(["2024-01-01"], dtype="datetime64[s]"),
        np.zeros((0, 3)),
    ],
    ids=lambda a: f"{a.dtype}-{a.shape}",
)
def test_numpy_round_trip(store: ArtifactStore, array: np.ndarray[Any, Any]) -> None:
    loaded, saved = round_trip(array, store)
    assert type(loaded) is np.ndarray
    assert loaded.dtype == array.dtype and loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)
    assert saved.materializer == "sdk.materializers.numpy:NumpyMaterializer"
    assert saved.metadata["shape"] == list(array.shape)
    assert saved.metadata["dtype"] == str(array.dtype)
    assert saved.metadata["storage_size"] == saved.size_bytes


def test_numpy_metadata_holds_summary_statistics(store: ArtifactStore) -> None:
    _, saved = round_trip(np.array([[1, 5], [3, 7]], dtype=np.int16), store)
    meta = saved.metadata
    assert (meta["min"], meta["max"], meta["mean"]) == (1, 7, 4.0)
    assert meta["std"] == pytest.approx(np.std([1, 5, 3, 7]))
    assert "statistics_sample" not in meta  # every value counted
    _, with_nan = round_trip(np.array([np.nan, 2.0, 4.0, np.inf]), store)
    # NaN skipped; an infinite maximum is not JSON, so it is left out (and the mean and std
    # are of the finite values).
    assert {k: with_nan.metadata.get(k) for k in ("min", "max", "mean", "std")} == {
        "min": 2.0,
        "max": None,
        "mean": 3.0,
        "std": 1.0,
    }
    _, all_nan = round_trip(np.full(3, np.nan), store)
    assert not {"min", "max", "mean", "std"} & set(all_nan.metadata)
    big = np.arange(250_000, dtype=np.float64)
    _, sampled = round_trip(big, store)
    assert (sampled.metadata["min"], sampled.metadata["max"]) == (0.0, 249_999.0)  # exact
    assert sampled.metadata["statistics_sample"] == 83_334  # every third value
    assert sampled.metadata["mean"] == pytest.approx(big.mean(), rel=1e-4)
    for no_statistics in (np.array(["a"]), np.array([True]), np.zeros(0)):
        _, saved = round_trip(no_statistics, store)
        assert "mean" not in saved.metadata


def test_numpy_scalar_keeps_its_type(store: ArtifactStore) -> None:
    loaded, _ = round_trip(np.float32(1.5), store)
    assert type(loaded) is np.float32 and loaded == np.float32(1.5)


def test_object_array_falls_back_to_pickle(store: ArtifactStore) -> None:
    array = np.array([{"a": 1}, None], dtype=object)
    with pytest.warns(PickleFallbackWarning, match="numpy.ndarray"):
        loaded, saved = round_trip(array, store)
    assert saved.materializer.endswith(":PickleMaterializer")
    assert not store.fs.exists(posixpath.join(store.path(saved.uri), "data.npy"))
    assert loaded.dtype == object and list(loaded) == [{"a": 1}, None]


@pytest.mark.slow
def test_100mb_float64_array_round_trip(local_store: ArtifactStore) -> None:
    array = np.random.default_rng(0).random(100 * 2**20 // 8)
    loaded, saved = round_trip(array, local_store)
    assert np.array_equal(loaded, array)
    assert saved.size_bytes == os.path.getsize(Path(local_store.path(saved.uri)) / "data.npy")


# --- pandas ---------------------------------------------------------------------------------


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "int": [1, 2, 3],
            "float": [1.5, np.nan, -0.0],
            "digits": ["001", "2", "0300"],
            "category": pd.Categorical(["b", "a", "b"], categories=["b", "a", "c"], ordered=True),
            "when": pd.to_datetime(["2024-01-01 00:00", None, "2024-03-01 12:00"]),
            "when_tz": pd.date_range("2024-01-01", periods=3, tz="Europe/Paris"),
            "flag": [True, False, True],
            "nullable_int": pd.array([1, None, 3], dtype="Int64"),
            "nullable_bool": pd.array([True, None, False], dtype="boolean"),
            "nullable_str": pd.array(["x", None, "z"], dtype="string"),
        },
        index=pd.Index([10, 20, 30], name="row_id"),
    )


def test_dataframe_round_trip(store: ArtifactStore) -> None:
    data = frame()
    loaded, saved = round_trip(data, store)
    pd.testing.assert_frame_equal(loaded, data, check_exact=True)
    assert loaded["digits"].tolist() == ["001", "2", "0300"]
    assert saved.materializer == "sdk.materializers.pandas:PandasMaterializer"
    assert saved.metadata["rows"] == 3 and saved.metadata["columns"] == 10
    assert saved.metadata["dtypes"]["nullable_int"] == "Int64"
    assert saved.metadata["dtypes"]["category"] == "category"


@pytest.mark.parametrize(
    "data",
    [
        pd.DataFrame(np.arange(6).reshape(3, 2)),
        pd.DataFrame({"x": [1, 2]}, index=pd.date_range("2024-01-01", periods=2, freq="D")),
        pd.DataFrame({"x": [1]}, index=pd.MultiIndex.from_tuples([("a", 1)], names=["k", "n"])),
        pd.DataFrame(),
    ],
    ids=["range-columns", "index-freq", "multi-index", "empty"],
)
def test_dataframe_shapes_round_trip(store: ArtifactStore, data: pd.DataFrame) -> None:
    loaded, _ = round_trip(data, store)
    pd.testing.assert_frame_equal(loaded, data, check_exact=True, check_column_type=True)


@pytest.mark.parametrize("name", ["values", 3, None])
def test_series_round_trip_keeps_its_name(store: ArtifactStore, name: Any) -> None:
    series = pd.Series([1.5, 2.5], index=pd.Index(["a", "b"], name="key"), name=name)
    loaded, saved = round_trip(series, store)
    assert type(loaded) is pd.Series
    pd.testing.assert_series_equal(loaded, series, check_exact=True)
    assert saved.metadata["rows"] == 2


@pytest.mark.parametrize(
    "data",
    [
        pd.DataFrame({"x": pd.Series([1, "a"], dtype=object)}),
        pd.DataFrame({"x": pd.Categorical([1, 2, 1])}),
        pd.DataFrame({"x": np.array(["2024-01-01"], dtype="datetime64[s]")}),
        pd.DataFrame([[1, 2]], columns=["a", "a"]),
    ],
    ids=["object", "int-categories", "seconds", "duplicate-columns"],
)
def test_frames_parquet_would_change_fall_back_to_pickle(
    store: ArtifactStore, data: pd.DataFrame
) -> None:
    with pytest.warns(PickleFallbackWarning, match="DataFrame"):
        loaded, saved = round_trip(data, store)
    assert saved.materializer.endswith(":PickleMaterializer")
    pd.testing.assert_frame_equal(loaded, data, check_exact=True)


@pytest.mark.slow
def test_million_row_dataframe_round_trip(local_store: ArtifactStore) -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    data = pd.DataFrame(
        {
            "id": np.arange(n),
            "value": rng.random(n),
            "label": pd.Series(rng.integers(0, 10**6, n)).astype(str).str.zfill(7),
        }
    )
    loaded, _ = round_trip(data, local_store)
    pd.testing.assert_frame_equal(loaded, data, check_exact=True)


# --- pickle ---------------------------------------------------------------------------------


def test_pickle_records_versions_and_refuses_another_python(store: ArtifactStore) -> None:
    with pytest.warns(PickleFallbackWarning):
        saved = save(Point(1, 2), store)
    versions_path = posixpath.join(store.path(saved.uri), "versions.json")
    versions = json.loads(store.fs.cat_file(versions_path))
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert versions["cloudpickle"]
    store.fs.pipe_file(versions_path, json.dumps({**versions, "python": "3.8.10"}).encode())
    with pytest.raises(MaterializerError, match=r"Python 3\.8\.10.*Python 3\.\d+\.\d+"):
        load_data(saved.uri, saved.materializer, saved.data_type, store)


# --- content hash and size ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [42, "text", {"a": [1, 2]}, np.arange(100), pd.DataFrame({"x": [1.0, 2.0]})],
    ids=["int", "str", "dict", "array", "frame"],
)
def test_content_hash_is_stable_and_matches_the_files(store: ArtifactStore, value: Any) -> None:
    first, second = save(value, store), save(value, store)
    assert first.uri != second.uri
    assert first.content_hash == second.content_hash
    assert (first.content_hash, first.size_bytes) == independent_tree_hash(store, first.uri)
    assert first.metadata["storage_size"] == first.size_bytes > 0


def test_different_data_has_a_different_hash(store: ArtifactStore) -> None:
    assert save([1, 2], store).content_hash != save([1, 3], store).content_hash
    assert save(np.zeros(3), store).content_hash != save(np.ones(3), store).content_hash


def test_size_is_the_bytes_on_disk(local_store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "tree"
    (source / "sub").mkdir(parents=True)
    (source / "a.bin").write_bytes(b"x" * 1000)
    (source / "sub" / "b.bin").write_bytes(b"y" * 10)
    saved = save(source, local_store)
    on_disk = sum(p.stat().st_size for p in Path(saved.uri).rglob("*") if p.is_file())
    assert saved.size_bytes == on_disk
    assert saved.content_hash == independent_tree_hash(local_store, saved.uri)[0]


def test_save_hashes_while_writing_and_never_reads_back(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    modes: list[str] = []
    original_open = store.fs.open

    def spy(path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        modes.append(mode)
        return original_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(store.fs, "open", spy)
    saved = save(pd.DataFrame({"x": range(1000)}), store)
    assert modes and all("r" not in mode for mode in modes)
    monkeypatch.undo()
    assert saved.content_hash == independent_tree_hash(store, saved.uri)[0]


# --- failures -------------------------------------------------------------------------------


class Exploding:
    pass


class ExplodingMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Exploding,)

    def save(self, data: Any) -> None:
        with self.open("part-1.bin", "wb") as f:
            f.write(b"written before the failure")
        with self.open("nested/part-2.bin", "wb") as f:
            f.write(b"half")
            raise RuntimeError("disk on fire")

    def load(self, data_type: type[Any]) -> Any:
        raise AssertionError("never saved")


def test_failing_save_leaves_no_directory(store: ArtifactStore) -> None:
    uri = store.new_version_uri("s", "o")
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_data(Exploding(), uri, store, materializer=ExplodingMaterializer)
    assert not store.exists(uri)


def test_save_refuses_a_non_empty_directory_and_keeps_it(store: ArtifactStore) -> None:
    saved = save(1, store)
    with pytest.raises(MaterializerError, match="not empty"):
        save_data(2, saved.uri, store)
    assert load_data(saved.uri, saved.materializer, saved.data_type, store) == 1


def test_explicit_materializer_must_handle_the_value(store: ArtifactStore) -> None:
    with pytest.raises(MaterializerError, match="cannot save"):
        save(1, store, materializer=BytesMaterializer)
    with pytest.raises(MaterializerError, match="cannot save"):
        save({1: 2}, store, materializer=BuiltInContainerMaterializer)


def test_materializer_cannot_write_outside_its_directory(store: ArtifactStore) -> None:
    class Escaping(BaseMaterializer):
        ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Exploding,)

        def save(self, data: Any) -> None:
            self.open("../escape.bin", "wb")

        def load(self, data_type: type[Any]) -> Any:
            return None

    with pytest.raises(MaterializerError, match="relative paths inside"):
        save(Exploding(), store, materializer=Escaping)


def test_load_refuses_what_is_not_a_materializer(store: ArtifactStore) -> None:
    saved = save(1, store)
    with pytest.raises(MaterializerError, match="not a materializer"):
        load_data(saved.uri, "builtins:dict", saved.data_type, store)
    with pytest.raises(MaterializerError, match="Cannot import"):
        load_data(saved.uri, "no_such_module:Thing", saved.data_type, store)


def test_load_passes_object_for_an_unimportable_type(store: ArtifactStore) -> None:
    seen: list[type[Any]] = []

    class Recording(BuiltInMaterializer):
        def load(self, data_type: type[Any]) -> Any:
            seen.append(data_type)
            return super().load(data_type)

    saved = save(5, store)
    Recording.__module__, Recording.__qualname__ = __name__, "Recording"
    globals()["Recording"] = Recording
    try:
        assert load_data(saved.uri, f"{__name__}:Recording", "gone.module:Type", store) == 5
    finally:
        del globals()["Recording"]
    assert seen == [object]


# --- registry -------------------------------------------------------------------------------


class Shape:
    def __init__(self, sides: int) -> None:
        self.sides = sides


class Square(Shape):
    pass


class ShapeMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Shape,)

    def save(self, data: Shape) -> None:
        with self.open("sides.txt", "wb") as f:
            f.write(str(data.sides).encode())

    def load(self, data_type: type[Any]) -> Shape:
        with self.open("sides.txt", "rb") as f:
            shape: Shape = data_type(int(f.read()))
        return shape

    def save_visualizations(self, data: Shape) -> dict[str, VisualizationType]:
        uri = posixpath.join(self.uri, "shape.md")
        with self.open("shape.md", "wb") as f:
            f.write(f"# {data.sides} sides".encode())
        return {uri: VisualizationType.MARKDOWN}


class SquareMaterializer(ShapeMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Square,)


def test_mro_lookup_picks_the_most_derived_registration() -> None:
    assert materializer_for(int) is BuiltInMaterializer
    assert materializer_for(type(None)) is BuiltInMaterializer
    assert materializer_for(bytes) is BytesMaterializer
    assert materializer_for(tuple) is BuiltInContainerMaterializer
    assert materializer_for(OrderedDict) is BuiltInContainerMaterializer
    assert materializer_for(type(Path("x"))) is PathMaterializer
    assert materializer_for(np.ndarray).__name__ == "NumpyMaterializer"
    assert materializer_for(pd.Series).__name__ == "PandasMaterializer"
    assert materializer_for(Point).__name__ == "PickleMaterializer"


def test_user_registered_materializer_wins(store: ArtifactStore) -> None:
    register(ShapeMaterializer)
    register(SquareMaterializer)
    assert materializer_for(Shape) is ShapeMaterializer
    assert materializer_for(Square) is SquareMaterializer
    loaded, saved = round_trip(Square(4), store)
    assert type(loaded) is Square and loaded.sides == 4
    assert saved.materializer == "tests.sdk.test_materializers:SquareMaterializer"
    assert saved.visualizations == {posixpath.join(saved.uri, "shape.md"): "markdown"}
    only_data = [f for f in store.fs.find(store.path(saved.uri)) if f.endswith("sides.txt")]
    assert saved.size_bytes == sum(store.fs.size(f) for f in only_data)


def test_register_refuses_what_is_not_a_materializer() -> None:
    with pytest.raises(MaterializerError, match="BaseMaterializer subclass"):
        register(dict)  # type: ignore[arg-type]

    class NoTypes(ShapeMaterializer):
        ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = ()

    with pytest.raises(MaterializerError, match="ASSOCIATED_TYPES"):
        register(NoTypes)


def test_importing_materializers_imports_no_heavy_libraries() -> None:
    code = (
        "import sys, sdk.materializers\n"
        "heavy = {'numpy', 'pandas', 'pyarrow', 'cloudpickle'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "from sdk.materializers import materializer_for\n"
        "assert materializer_for(dict).__name__ == 'BuiltInContainerMaterializer'\n"
        "assert 'numpy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_materializer_for_takes_generic_aliases_and_refuses_instances() -> None:
    assert materializer_for(list[int]) is BuiltInContainerMaterializer
    with pytest.raises(MaterializerError, match="needs a class"):
        materializer_for(3)  # type: ignore[arg-type]


def test_pickled_objects_holding_arrays_are_saved(tmp_path: Path) -> None:
    """cloudpickle hands typed, multi-dimensional buffers to the writer (out-of-band data)."""

    class Holder:
        def __init__(self) -> None:
            self.weights = np.arange(12.0).reshape(3, 4)
            self.strided = np.arange(10)[::2]

    store = ArtifactStore(str(tmp_path / "store"))
    uri = store.new_version_uri("s", "o")
    with pytest.warns(PickleFallbackWarning):
        saved = save_data(Holder(), uri, store)
    loaded = load_data(saved.uri, saved.materializer, saved.data_type, store)
    assert np.array_equal(loaded.weights, np.arange(12.0).reshape(3, 4))
    assert np.array_equal(loaded.strided, np.arange(0, 10, 2))
