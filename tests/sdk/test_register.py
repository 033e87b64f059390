"""`register_artifact`: files and folders already in the artifact store, recorded without a
copy, loaded as a local `Path` copy; everything outside the store refused with nothing
recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash

from sdk import (
    ArtifactVersionExistsError,
    Client,
    InputError,
    pipeline,
    register_artifact,
    step,
)
from sdk.materializers import FileDigest, hash_tree, tree_hash
from tests.conftest import ROOT


def store_root(store_env: dict[str, str]) -> Path:
    return Path(store_env["LINEAGEQL_ARTIFACT_STORE"])


def write_tree(folder: Path, files: dict[str, bytes]) -> Path:
    for relpath, data in files.items():
        target = folder / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


CHECKPOINTS = {
    "epoch_01.ckpt": b"weights after one epoch",
    "epoch_02.ckpt": b"weights after two epochs" * 1000,
    "logs/train.log": b"loss 0.5\nloss 0.25\n",
}


def fresh_tree_hash(folder: Path) -> str:
    """The tree hash of a folder, computed here independently of the SDK's readers."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return tree_hash(
        FileDigest(
            p.relative_to(folder).as_posix(),
            xxhash.xxh3_128_hexdigest(p.read_bytes()),
            len(p.read_bytes()),
        )
        for p in files
    )


def all_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture
def checkpoints(store_env: dict[str, str]) -> Path:
    return write_tree(store_root(store_env) / "registered" / "checkpoints", CHECKPOINTS)


def assert_nothing_recorded() -> None:
    assert Client().list_artifact_versions() == []
    assert Client().list_artifacts() == []


@pytest.mark.usefixtures("lineageql")
def test_a_folder_is_registered_where_it_lies_and_loads_as_a_local_copy(
    checkpoints: Path, store_env: dict[str, str]
) -> None:
    before = all_files(store_root(store_env))
    version = register_artifact(checkpoints, "checkpoints", version="run_7", tags=["ckpt"])

    assert version.uri == str(checkpoints)  # the registered path itself: nothing was copied
    assert all_files(store_root(store_env)) == before
    assert version.source == "REGISTERED"
    assert (version.name, version.version, version.tags) == ("checkpoints", "run_7", ("ckpt",))
    assert version.content_hash == fresh_tree_hash(checkpoints)
    assert version.content_hash == hash_tree(str(checkpoints), Client().store)[0]
    assert version.size_bytes == sum(len(data) for data in CHECKPOINTS.values())
    assert version.materializer == "sdk.materializers.builtin:PathMaterializer"
    assert version.metadata["kind"] == "folder"
    assert version.producer is None

    local = Client().get_artifact_version("checkpoints", "run_7").load()
    assert isinstance(local, Path) and local.name == "checkpoints"
    assert not local.resolve().is_relative_to(store_root(store_env).resolve())
    assert all_files(local) == CHECKPOINTS


def test_a_second_load_reuses_the_copy_and_a_changed_copy_is_replaced(
    checkpoints: Path, store_env: dict[str, str]
) -> None:
    version = register_artifact(str(checkpoints), "checkpoints")
    first = version.load()
    assert version.load() == first  # same content: the same copy

    (first / "epoch_01.ckpt").write_bytes(b"overwritten by the user")
    (first / "extra.txt").write_text("added by the user")
    again = version.load()
    assert again == first
    assert all_files(again) == CHECKPOINTS  # restored from the store
    assert all_files(checkpoints) == CHECKPOINTS  # the stored bytes never changed


def test_a_file_is_registered_and_loads_as_a_copy_of_that_file(
    store_env: dict[str, str],
) -> None:
    model = write_tree(store_root(store_env) / "models", {"model.onnx": b"\x00onnx" * 50})
    path = model / "model.onnx"
    version = register_artifact(path, "onnx_model")
    assert version.uri == str(path)
    assert version.size_bytes == 250
    assert version.metadata["kind"] == "file"
    assert version.content_hash == hash_tree(str(path), Client().store)[0]
    local = version.load()
    assert local.name == "model.onnx" and local.is_file()
    assert local.read_bytes() == path.read_bytes()
    assert not local.resolve().is_relative_to(store_root(store_env).resolve())


def test_an_empty_folder_and_a_relative_path_are_registered(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = store_root(store_env)
    (root / "empty").mkdir(parents=True)
    monkeypatch.chdir(root.parent)
    version = register_artifact(f"{root.name}/empty", "empty")
    assert version.uri == str(root / "empty")
    assert version.size_bytes == 0
    local = version.load()
    assert local.is_dir() and list(local.iterdir()) == []


def test_a_symlink_inside_the_store_is_recorded_as_its_target(
    checkpoints: Path, store_env: dict[str, str]
) -> None:
    link = store_root(store_env) / "latest"
    link.symlink_to(checkpoints, target_is_directory=True)
    version = register_artifact(link, "checkpoints")
    assert version.uri == str(checkpoints)


def test_registered_data_is_not_removed_when_registering_fails(checkpoints: Path) -> None:
    register_artifact(checkpoints, "checkpoints", version="final")
    with pytest.raises(ArtifactVersionExistsError):
        register_artifact(checkpoints, "checkpoints", version="final")
    assert all_files(checkpoints) == CHECKPOINTS
    assert [v.version for v in Client().get_artifact("checkpoints").versions] == ["final"]


def test_a_registered_folder_feeds_a_step_as_a_path(checkpoints: Path) -> None:
    version = register_artifact(checkpoints, "checkpoints")

    @step
    def count_files(folder: Path) -> int:
        return sum(1 for p in folder.rglob("*") if p.is_file())

    @pipeline(enable_cache=False)
    def use_checkpoints() -> None:
        count_files(Client().get_artifact_version("checkpoints"))

    run = use_checkpoints()
    assert run.steps["count_files"].outputs["output"].load() == len(CHECKPOINTS)
    assert run.steps["count_files"].inputs["folder"].id == version.id


# --- refusals -------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the store, not in it."""
    return write_tree(tmp_path / "elsewhere", {"secret.txt": b"not in the store"})


def refuse(uri: str | Path, store_env: dict[str, str], *needles: str) -> None:
    with pytest.raises(InputError) as caught:
        register_artifact(uri, "refused")
    message = str(caught.value)
    assert store_env["LINEAGEQL_ARTIFACT_STORE"] in message, message  # says where the store is
    for needle in needles:
        assert needle in message, message
    assert_nothing_recorded()


def test_dot_dot_segments_are_refused_even_when_they_stay_inside(
    checkpoints: Path, store_env: dict[str, str]
) -> None:
    root = store_root(store_env)
    refuse(f"{root}/registered/../registered/checkpoints", store_env, "'..'")
    refuse(f"{root}/../elsewhere", store_env, "'..'")
    refuse(f"file://{root}/../elsewhere", store_env, "'..'")


def test_a_path_elsewhere_is_refused(outside: Path, store_env: dict[str, str]) -> None:
    refuse(outside, store_env, "outside the store")
    refuse(outside / "secret.txt", store_env, "outside the store")


def test_a_symlink_leading_outside_is_refused(
    outside: Path, checkpoints: Path, store_env: dict[str, str]
) -> None:
    root = store_root(store_env)
    (root / "escape").symlink_to(outside, target_is_directory=True)
    refuse(root / "escape", store_env, "symlink", str(outside))
    refuse(root / "escape" / "secret.txt", store_env, "symlink")
    (checkpoints / "leak.txt").symlink_to(outside / "secret.txt")
    refuse(checkpoints, store_env, "symlink", "leak.txt")


def test_a_broken_symlink_inside_a_folder_is_refused(
    checkpoints: Path, store_env: dict[str, str]
) -> None:
    (checkpoints / "dangling").symlink_to(checkpoints / "does-not-exist")
    refuse(checkpoints, store_env, "broken symlink")


def test_another_scheme_is_refused(checkpoints: Path, store_env: dict[str, str]) -> None:
    refuse(f"memory://{checkpoints}", store_env, "scheme 'memory'")
    refuse("s3://bucket/checkpoints", store_env, "scheme 's3'")


def test_the_store_itself_and_missing_paths_are_refused(store_env: dict[str, str]) -> None:
    root = store_root(store_env)
    root.mkdir(parents=True, exist_ok=True)
    refuse(root, store_env, "whole artifact store")
    refuse(root / "not-written-yet", store_env, "no file or folder")


def test_bad_names_versions_and_uris_are_refused_before_reading(checkpoints: Path) -> None:
    with pytest.raises(InputError, match="control character"):
        register_artifact(checkpoints, "checkpoints", version="v\n1")
    with pytest.raises(InputError, match="leading or trailing whitespace"):
        register_artifact(checkpoints, "checkpoints", tags=[" ckpt"])
    with pytest.raises(InputError, match="not one string"):
        register_artifact(checkpoints, "checkpoints", tags="ckpt")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="name"):
        register_artifact(checkpoints, "")
    with pytest.raises(InputError, match="str or pathlib.Path"):
        register_artifact(42, "checkpoints")  # type: ignore[arg-type]
    assert_nothing_recorded()


# --- a store on another filesystem ----------------------------------------------------------


@pytest.fixture
def memory_store(store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import fsspec

    uri = f"memory://lineageql-{uuid.uuid4().hex}"
    monkeypatch.setenv("LINEAGEQL_ARTIFACT_STORE", uri)
    yield uri
    fs = fsspec.filesystem("memory")
    if fs.exists(uri):
        fs.rm(uri, recursive=True)


def test_a_remote_store_registers_its_own_uris_and_refuses_others(
    memory_store: str, tmp_path: Path
) -> None:
    store = Client().store
    store.fs.pipe({f"{store.root}/ckpt/a.bin": b"a", f"{store.root}/ckpt/b/c.bin": b"cc"})
    version = register_artifact(f"{memory_store}/ckpt", "remote_checkpoints")
    assert version.uri == f"{memory_store}/ckpt"
    assert version.size_bytes == 3
    assert all_files(version.load()) == {"a.bin": b"a", "b/c.bin": b"cc"}
    local = write_tree(tmp_path / "local", {"x": b"x"})
    for bad, needle in [
        (str(local), "scheme 'local path'"),
        (f"{memory_store}/ckpt/../ckpt", "'..'"),
        ("memory://another-bucket/ckpt", "outside the store"),
    ]:
        with pytest.raises(InputError, match=needle) as caught:
            register_artifact(bad, "refused")
        assert memory_store in str(caught.value)
    assert [a.name for a in Client().list_artifacts()] == ["remote_checkpoints"]


# --- copies are removed at exit -------------------------------------------------------------

LOAD_AND_PRINT = """
from sdk import register_artifact
version = register_artifact({path!r}, "checkpoints")
print(version.load())
"""


def test_local_copies_are_removed_when_the_process_exits(
    checkpoints: Path, store_env: dict[str, str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PRINT.format(path=str(checkpoints))],
        env={**os.environ, **store_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    copy = Path(result.stdout.strip().splitlines()[-1])
    assert copy.name == "checkpoints"
    assert copy.is_absolute()
    assert not copy.exists()
    assert not copy.parent.parent.exists()  # the process's whole temporary folder
