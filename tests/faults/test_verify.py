"""Verified data: a version's files are checked against the content hash and size recorded
when it was saved, on load and by `lineageql artifacts verify`; on real files of an embedded
store."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from sdk import Client, load_artifact, register_artifact, save_artifact
from sdk.artifacts.verify import verify_level
from sdk.errors import (
    ArtifactDataChangedError,
    ArtifactDataMissingError,
    InputError,
    LineageQLError,
    MaterializerError,
    UntrustedArtifactError,
)
from sdk.materializers import BaseMaterializer, PickleFallbackWarning, tree_hash
from sdk.materializers.base import FileDigest, new_hasher
from sdk.prune import execute_prune, plan_prune
from tests.faults.common import (
    cli,
    database_url,  # noqa: F401 (SQLite only)
    flip_byte,
    folder,
    verify_json,
)


@pytest.fixture
def store(store_env: dict[str, str]) -> Client:
    return Client()


def array_version(name: str = "arr") -> Any:
    return save_artifact(np.arange(100_000, dtype=np.float64), name)


# --- a changed byte ------------------------------------------------------------------------


def test_a_changed_byte_is_refused_on_load_and_reported_by_verify(store: Client) -> None:
    saved = array_version()
    other = save_artifact([1, 2, 3], "fine")
    flip_byte(folder(saved) / "data.npy", 400_000)
    version = store.get_artifact_version("arr", "1")

    with pytest.raises(ArtifactDataChangedError) as refused:
        version.load(verify="full")
    message = str(refused.value)
    assert "arr:1" in message and saved.id in message and "data.npy" in message

    code, report = verify_json()
    assert code == 1
    assert {k: report[k] for k in ("checked", "ok", "missing", "changed", "skipped")} == {
        "checked": 2, "ok": 1, "missing": 0, "changed": 1, "skipped": 0,
    }  # fmt: skip
    changed = next(v for v in report["versions"] if v["status"] == "changed")
    assert (changed["id"], changed["name"], changed["version"]) == (saved.id, "arr", "1")
    assert [f["path"] for f in changed["files"]] == ["data.npy"]

    people = cli("artifacts", "verify", "--all")
    assert people.exit_code == 1, people.output
    assert "changed" in people.stdout and "data.npy" in people.stdout
    assert "checked 2 versions (content hashes): 1 ok, 0 missing, 1 changed" in people.stdout
    assert "Traceback" not in people.output

    # One version, by NAME:VERSION and by id; the intact one passes.
    assert cli("artifacts", "verify", "arr:1").exit_code == 1
    assert cli("artifacts", "verify", saved.id).exit_code == 1
    assert cli("artifacts", "verify", "fine").exit_code == 0
    assert other.load() == [1, 2, 3]


def test_the_level_comes_from_the_argument_then_the_environment(
    store: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = array_version()
    flip_byte(folder(saved) / "data.npy", 500_000)  # same size: only the hash tells
    version = store.get_artifact_version(saved.id)

    assert version.load().shape == (100_000,)  # the default checks the size only
    assert version.load(verify=False).shape == (100_000,)
    with pytest.raises(ArtifactDataChangedError):
        version.load(verify=True)
    monkeypatch.setenv("LINEAGEQL_VERIFY", "full")
    with pytest.raises(ArtifactDataChangedError):
        load_artifact("arr")
    with pytest.raises(ArtifactDataChangedError):
        store.get_artifact("arr").load()
    assert version.load(verify="off").shape == (100_000,)
    monkeypatch.setenv("LINEAGEQL_VERIFY", "sometimes")
    with pytest.raises(InputError, match="LINEAGEQL_VERIFY"):
        version.load()
    assert verify_level("SIZE") == "size"


def test_a_file_of_another_size_is_refused_by_default(store: Client) -> None:
    saved = array_version()
    with (folder(saved) / "data.npy").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(ArtifactDataChangedError, match=r"arr:1 .*data\.npy.*800,129 bytes"):
        load_artifact("arr")


# --- missing data ----------------------------------------------------------------------------


def test_a_deleted_file_is_missing_on_load_and_for_verify(store: Client) -> None:
    saved = array_version()
    (folder(saved) / "data.npy").unlink()
    version = store.get_artifact_version("arr")
    for level in ("size", "full"):
        with pytest.raises(ArtifactDataMissingError, match=f"arr:1 \\(id {saved.id}\\)"):
            version.load(verify=level)
    # Unchecked, the materializer's FileNotFoundError still surfaces as the SDK's error.
    with pytest.raises(ArtifactDataMissingError, match=r"arr:1 .*data\.npy"):
        version.load(verify="off")
    assert issubclass(ArtifactDataMissingError, FileNotFoundError)

    code, report = verify_json("arr")
    assert code == 1
    assert (report["checked"], report["missing"], report["changed"]) == (1, 1, 0)
    people = cli("artifacts", "verify")
    assert people.exit_code == 1
    assert "missing" in people.stdout and "1 missing" in people.stdout


def test_a_deleted_folder_is_missing(store: Client) -> None:
    saved = save_artifact({"a": 1}, "config")
    shutil.rmtree(folder(saved))
    with pytest.raises(ArtifactDataMissingError, match="config:1"):
        load_artifact("config")
    code, report = verify_json()
    assert code == 1 and report["missing"] == 1


# --- files written without self.open ---------------------------------------------------------


class Text:
    def __init__(self, text: str) -> None:
        self.text = text


class PlainOpenMaterializer(BaseMaterializer):
    """As ZenML's materializers do: plain `open()` under `self.uri`."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Text,)

    def save(self, data: Text) -> None:
        with open(os.path.join(self.uri, "data.txt"), "w") as f:
            f.write(data.text)

    def load(self, data_type: type[Any]) -> Text:
        with open(os.path.join(self.uri, "data.txt")) as f:
            return Text(f.read())


class MixedMaterializer(PlainOpenMaterializer):
    """One file through `self.open`, one through plain `open`, and a visualization."""

    def save(self, data: Text) -> None:
        super().save(data)
        with self.open("header.bin", "wb") as f:
            f.write(b"header")

    def save_visualizations(self, data: Text) -> dict[str, Any]:
        os.makedirs(os.path.join(self.uri, "visualizations"), exist_ok=True)
        with open(os.path.join(self.uri, "visualizations", "view.md"), "w") as f:
            f.write(f"# {data.text}")
        return {"visualizations/view.md": "markdown"}


def independent_hash(root: Path) -> tuple[str, int]:
    """The tree hash of every file below `root` but `visualizations/`, computed here."""
    digests = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relpath = path.relative_to(root).as_posix()
        if relpath.startswith("visualizations/"):
            continue
        hasher = new_hasher()
        hasher.update(path.read_bytes())
        digests.append(FileDigest(relpath, hasher.hexdigest(), path.stat().st_size))
    return tree_hash(digests), sum(d.size for d in digests)


def test_plain_open_files_are_hashed_and_verified(store: Client) -> None:
    first = save_artifact(Text("first value"), "text", materializer=PlainOpenMaterializer)
    second = save_artifact(Text("second, longer value"), "text", materializer=PlainOpenMaterializer)
    assert first.content_hash != second.content_hash
    assert first.content_hash != tree_hash([])
    assert (first.size_bytes, second.size_bytes) == (11, 20)
    assert (first.content_hash, first.size_bytes) == independent_hash(folder(first))
    assert first.metadata["storage_size"] == 11
    code, report = verify_json()
    assert (code, report["ok"], report["checked"]) == (0, 2, 2)
    assert load_artifact("text", "1").text == "first value"

    flip_byte(folder(first) / "data.txt", 0)
    with pytest.raises(ArtifactDataChangedError, match=r"text:1 .*data\.txt"):
        store.get_artifact_version("text", "1").load(verify="full")
    assert verify_json()[0] == 1


def test_mixed_writers_are_all_hashed_and_visualizations_are_not(store: Client) -> None:
    saved = save_artifact(Text("abc"), "mixed", materializer=MixedMaterializer)
    assert saved.size_bytes == len("abc") + len("header")
    assert (saved.content_hash, saved.size_bytes) == independent_hash(folder(saved))
    assert [v.uri.rsplit("/", 2)[-2:] for v in saved.visualizations] == [
        ["visualizations", "view.md"]
    ]
    (folder(saved) / "visualizations" / "view.md").write_text("changed")
    assert store.get_artifact_version(saved.id).load(verify="full").text == "abc"
    assert verify_json("mixed")[0] == 0


def test_a_version_saved_before_every_file_was_hashed_still_loads(
    store: Client, caplog: pytest.LogCaptureFixture
) -> None:
    import sdk.materializers.io as io

    with pytest.MonkeyPatch.context() as patch:
        # The old behaviour: only the files written through self.open were hashed.
        patch.setattr(io, "data_digests", lambda instance, exclude=(): instance.written())
        old = save_artifact(Text("saved long ago"), "legacy", materializer=PlainOpenMaterializer)
    assert (old.content_hash, old.size_bytes) == (tree_hash([]), 0)

    with caplog.at_level(logging.DEBUG, logger="lineageql"):
        assert store.get_artifact_version(old.id).load(verify="full").text == "saved long ago"
    assert any("without verification" in r.getMessage() for r in caplog.records)
    code, report = verify_json()
    assert (code, report["unverifiable"], report["ok"]) == (0, 1, 0)
    assert "1 unverifiable" in cli("artifacts", "verify").stdout


# --- registered data and pruned data ---------------------------------------------------------


def test_registered_data_is_verified_as_it_was_registered(store: Client) -> None:
    root = Path(store.store.path(store.store.uri)) / "registered"
    (root / "ckpt" / "sub").mkdir(parents=True)
    (root / "ckpt" / "weights.bin").write_bytes(b"w" * 1000)
    (root / "ckpt" / "sub" / "step.txt").write_text("3")
    (root / "single.txt").write_text("one file")
    register_artifact(str(root / "ckpt"), "ckpt")
    register_artifact(str(root / "single.txt"), "single")
    assert verify_json()[1]["ok"] == 2
    assert store.get_artifact_version("ckpt").load(verify="full").name == "ckpt"

    flip_byte(root / "ckpt" / "weights.bin", 10)
    (root / "single.txt").unlink()
    code, report = verify_json()
    assert code == 1
    statuses = {v["name"]: v["status"] for v in report["versions"]}
    assert statuses == {"ckpt": "changed", "single": "missing"}
    with pytest.raises(ArtifactDataChangedError, match=r"ckpt:1 .*weights\.bin"):
        store.get_artifact_version("ckpt").load(verify="full")


def test_pruned_versions_are_skipped(store: Client) -> None:
    save_artifact(1, "kept")
    save_artifact(2, "pruned")
    plan = plan_prune(store, only_artifact=True)
    execute_prune(store, replace(plan, versions=[c for c in plan.versions if c.name == "pruned"]))
    code, report = verify_json()
    assert code == 0
    assert (report["checked"], report["ok"], report["skipped"]) == (1, 1, 1)
    assert "1 skipped (data deleted by prune)" in cli("artifacts", "verify").stdout


def test_verify_refuses_a_name_with_all_and_an_unknown_name(store: Client) -> None:
    save_artifact(1, "one")
    both = cli("artifacts", "verify", "one", "--all")
    assert both.exit_code == 1 and "not both" in both.stderr
    unknown = cli("artifacts", "verify", "nothing")
    assert unknown.exit_code == 1 and "nothing" in unknown.stderr
    assert "Traceback" not in unknown.output


# --- one error family ------------------------------------------------------------------------


def test_materializer_errors_are_lineageql_errors() -> None:
    import sdk.materializers as materializers
    from sdk.materializers import base

    assert issubclass(MaterializerError, LineageQLError)
    assert issubclass(UntrustedArtifactError, MaterializerError)
    assert materializers.MaterializerError is MaterializerError
    assert base.UntrustedArtifactError is UntrustedArtifactError


def test_an_unpicklable_value_is_a_materializer_error_naming_its_type(
    store: Client, capfd: pytest.CaptureFixture[str]
) -> None:
    class Holder:
        def __init__(self) -> None:
            self.lock = threading.Lock()

    with pytest.warns(PickleFallbackWarning), pytest.raises(MaterializerError) as failed:
        save_artifact(Holder(), "holder")
    assert "Holder" in str(failed.value) and "lock" in str(failed.value)
    assert failed.value.__cause__ is not None
    assert store.list_artifact_versions() == []
    saved = Path(store.store.path(store.store.uri)) / "_saved"
    assert not [p for p in saved.rglob("*") if p.is_file()]
    assert "Traceback" not in capfd.readouterr().err
