"""`lineageql artifacts prune` on a store holding used, unused, registered and orphan data:
each flag, the confirmation, errors as one line, and an interrupted prune that a second run
completes. Embedded on SQLite and PostgreSQL; through a live server where marked."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner, Result

from api.storage import models
from api.storage.engine import sync_url
from sdk import Client, ExternalArtifact, pipeline, register_artifact, save_artifact, step
from sdk.artifacts.store import ArtifactStore
from sdk.cli import app
from sdk.client.records import BatchResult
from sdk.errors import ArtifactDataDeletedError, GraphQLError, NotFoundError
from sdk.prune import delete_artifact_version, prune_artifacts

OLD = datetime.now(UTC) - timedelta(days=3)


def lineageql(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["artifacts", "prune", *args], input=input)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@step
def load_raw() -> Annotated[list[int], "raw"]:
    return [1, 2, 3]


@step
def train(raw: list[int], features: list[int]) -> Annotated[int, "model"]:
    return sum(raw) + sum(features)


@step
def total(numbers: list[int]) -> int:
    return sum(numbers)


@pipeline(enable_cache=False)
def training() -> None:
    train(load_raw(), ExternalArtifact(name="features", version="1"))


def age(path: Path, when: datetime = OLD) -> None:
    """Set the modification time of `path` and everything below it."""
    stamp = when.timestamp()
    for entry in [path, *path.rglob("*")]:
        os.utime(entry, (stamp, stamp))


@dataclass
class World:
    store: Path
    database_url: str
    uris: dict[str, Path]  # "name:version" -> local path of its data
    orphan_old: Path
    orphan_young: Path
    stray_old: Path
    registered_in_layout: Path

    def path(self, label: str) -> Path:
        return self.uris[label]

    def versions(self) -> dict[str, datetime | None]:
        """Every version in the database: "name:version" -> data_deleted_at."""
        engine = create_engine(sync_url(self.database_url))
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(
                        models.Artifact.name,
                        models.ArtifactVersion.version,
                        models.ArtifactVersion.data_deleted_at,
                    ).join(models.Artifact)
                )
                return {f"{name}:{version}": deleted for name, version, deleted in rows}
        finally:
            engine.dispose()

    def artifacts(self) -> set[str]:
        engine = create_engine(sync_url(self.database_url))
        try:
            with engine.connect() as conn:
                return set(conn.scalars(select(models.Artifact.name)))
        finally:
            engine.dispose()


USED = {"features:1", "raw:1", "model:1"}
UNUSED_SAVED = {"features:2", "scratch:1", "scratch:2"}
REGISTERED = {"notes:1", "checkpoints:1", "layout_data:1"}


def build_world(store_env: dict[str, str]) -> World:
    """Used: features:1 (consumed), raw:1 and model:1 (produced). Unused: features:2,
    scratch:1, scratch:2 (saved) and three registered versions (a file, a folder, a folder in
    the version-directory layout). Orphans: an old and a young version directory that no
    version points to; and an old folder outside the layout."""
    store = Path(store_env["LINEAGEQL_ARTIFACT_STORE"])
    client = Client()
    saved = [
        save_artifact([10], "features"),
        save_artifact([20], "features"),
        save_artifact("a" * 1000, "scratch"),
        save_artifact("b" * 2000, "scratch"),
    ]
    run = training()
    notes = store / "registered" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("keep me")
    checkpoints = store / "registered" / "checkpoints"
    (checkpoints / "logs").mkdir(parents=True)
    (checkpoints / "epoch_1.ckpt").write_bytes(b"w" * 100)
    (checkpoints / "logs" / "train.log").write_text("loss 0.5\n")
    in_layout = store / "user" / "data" / uuid.uuid4().hex
    in_layout.mkdir(parents=True)
    (in_layout / "table.csv").write_text("x\n1\n")
    registered = [
        register_artifact(notes, "notes"),
        register_artifact(checkpoints, "checkpoints"),
        register_artifact(in_layout, "layout_data"),
    ]
    age(in_layout)
    uris = {f"{v.name}:{v.version}": Path(client.store.path(v.uri)) for v in saved + registered}
    for name in ("raw", "model"):
        uris[f"{name}:1"] = Path(
            client.store.path(
                run.steps["train" if name == "model" else "load_raw"].outputs[name].uri
            )
        )
    orphan_old = store / "crashed_step" / "output" / uuid.uuid4().hex
    orphan_young = store / "crashed_step" / "output" / uuid.uuid4().hex
    for orphan in (orphan_old, orphan_young):
        orphan.mkdir(parents=True)
        (orphan / "data.json").write_text("[1, 2, 3]")
    age(orphan_old)
    stray_old = store / "notes" / "old"
    stray_old.mkdir(parents=True)
    (stray_old / "readme.txt").write_text("not a version directory")
    age(stray_old)
    return World(
        store=store,
        database_url=store_env["LINEAGEQL_DATABASE_URL"],
        uris=uris,
        orphan_old=orphan_old,
        orphan_young=orphan_young,
        stray_old=stray_old,
        registered_in_layout=in_layout,
    )


@pytest.fixture
def world(store_env: dict[str, str]) -> World:
    return build_world(store_env)


def assert_used_data_intact(world: World) -> None:
    assert set(world.versions()) >= USED
    for label in USED:
        assert world.path(label).exists(), label
    client = Client()
    assert client.get_artifact_version("features", "1").load() == [10]
    assert client.get_artifact_version("model", "1").load() == 6 + 10
    assert all(deleted is None for label, deleted in world.versions().items() if label in USED)


def test_dry_run_lists_unused_versions_with_sizes_and_changes_nothing(world: World) -> None:
    before = world.versions()

    plan = as_json(lineageql("--dry-run", "--json", "--orphans"))

    listed = {f"{v['name']}:{v['version']}": v for v in plan["versions"]}
    assert set(listed) == UNUSED_SAVED | REGISTERED
    assert listed["scratch:2"]["sizeBytes"] > 2000
    assert listed["scratch:2"]["deleteData"] and listed["scratch:2"]["deleteMetadata"]
    assert not listed["notes:1"]["deleteData"] and listed["notes:1"]["deleteMetadata"]
    assert listed["checkpoints:1"]["sizeBytes"] == 109
    assert [o["uri"] for o in plan["orphans"]] == [str(world.orphan_old)]
    assert plan["orphans"][0]["sizeBytes"] == len("[1, 2, 3]")
    assert plan["bytesToFree"] == sum(
        v["sizeBytes"] for v in plan["versions"] if v["deleteData"]
    ) + len("[1, 2, 3]")
    assert world.versions() == before
    assert all(path.exists() for path in world.uris.values())
    assert world.orphan_old.exists()


def test_dry_run_for_people_shows_a_table_and_the_total(world: World) -> None:
    result = lineageql("--dry-run")

    assert result.exit_code == 0, result.output
    assert "scratch:2" in result.stdout and "delete data and metadata" in result.stdout
    assert "notes:1" in result.stdout and "registered data" in result.stdout
    assert "6 version(s), 0 orphan folder(s); would free" in result.stdout
    assert "features:1" not in result.stdout


def test_prune_deletes_unused_data_and_metadata_and_keeps_registered_files(world: World) -> None:
    result = lineageql("--yes")

    assert result.exit_code == 0, result.output
    assert set(world.versions()) == USED
    assert world.artifacts() == {"features", "raw", "model"}
    for label in UNUSED_SAVED:
        assert not world.path(label).exists(), label
    for label in REGISTERED:  # the user's data: metadata gone, files kept
        assert world.path(label).exists(), label
    assert world.orphan_old.exists() and world.orphan_young.exists()  # no --orphans
    assert "removed artifact scratch (no version left)" in result.stdout
    assert "deleted the metadata of notes:1 (data kept)" in result.stdout
    assert_used_data_intact(world)
    assert as_json(lineageql("--dry-run", "--json"))["versions"] == []


def test_include_registered_deletes_registered_files_too(world: World) -> None:
    result = lineageql("--yes", "--include-registered", "--json")

    report = as_json(result)
    assert {f"{v['name']}:{v['version']}" for v in report["deleted"]} == UNUSED_SAVED | REGISTERED
    for label in REGISTERED:
        assert not world.path(label).exists(), label
    assert (world.store / "registered").exists()  # only the registered file and folder went
    assert_used_data_intact(world)


def test_only_artifact_keeps_marked_metadata_whose_load_says_it_was_pruned(
    world: World,
) -> None:
    report = as_json(lineageql("--yes", "--only-artifact", "--json"))

    assert {f"{v['name']}:{v['version']}" for v in report["dataDeleted"]} == UNUSED_SAVED
    versions = world.versions()
    assert set(versions) == USED | UNUSED_SAVED | REGISTERED
    for label in UNUSED_SAVED:
        assert versions[label] is not None and not world.path(label).exists()
    for label in REGISTERED:
        assert versions[label] is None and world.path(label).exists()
    scratch = Client().get_artifact_version("scratch", "1")
    with pytest.raises(ArtifactDataDeletedError, match=r"scratch:1 .* was pruned") as caught:
        scratch.load()
    assert isinstance(caught.value, NotFoundError)

    @pipeline
    def reuse() -> None:
        total(ExternalArtifact(name="scratch", version="1"))

    with pytest.raises(GraphQLError, match="cannot consume artifact version.*scratch:1.*pruned"):
        reuse()
    assert as_json(lineageql("--dry-run", "--only-artifact", "--json"))["versions"] == []

    report = as_json(lineageql("--yes", "--json"))  # the default prune finishes the job
    assert set(world.versions()) == USED
    assert_used_data_intact(world)


def test_only_metadata_keeps_files_which_orphans_then_collects(world: World) -> None:
    report = as_json(lineageql("--yes", "--only-metadata", "--json"))

    assert {f"{v['name']}:{v['version']}" for v in report["metadataDeleted"]} == (
        UNUSED_SAVED | REGISTERED
    )
    assert set(world.versions()) == USED
    assert all(world.path(label).exists() for label in UNUSED_SAVED | REGISTERED)

    report = as_json(lineageql("--yes", "--orphans", "--orphan-grace", "0s", "--json"))

    removed = {o["uri"] for o in report["orphansRemoved"]}
    assert removed == {str(world.path(label)).rstrip("/") for label in UNUSED_SAVED} | {
        str(world.orphan_old),
        str(world.orphan_young),
    }
    for label in UNUSED_SAVED:
        assert not world.path(label).exists()
    # registered data is never an orphan, also in the layout after its metadata went earlier
    assert world.path("notes:1").exists() and world.path("checkpoints:1").exists()
    assert world.registered_in_layout.exists()
    assert world.stray_old.exists()
    assert_used_data_intact(world)


def test_orphans_spares_young_folders_other_layouts_and_registered_data(world: World) -> None:
    report = as_json(lineageql("--yes", "--orphans", "--json"))

    assert [o["uri"] for o in report["orphansRemoved"]] == [str(world.orphan_old)]
    assert not world.orphan_old.exists()
    assert world.orphan_young.exists()  # younger than the default 24 h grace period
    assert world.stray_old.exists()  # not a version directory
    # registered, in the layout, old, and its metadata removed by this very prune: kept
    assert "layout_data:1" not in world.versions()
    assert world.registered_in_layout.exists()
    assert_used_data_intact(world)


def test_without_yes_a_non_interactive_prune_refuses_and_changes_nothing(world: World) -> None:
    before = world.versions()

    result = lineageql()

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: prune asks for confirmation, but standard input is not a terminal; pass "
        "--yes to prune without asking (or --dry-run to see what would be deleted)"
    ]
    assert world.versions() == before


def test_an_interactive_prune_asks_first(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sdk.cli.prune._interactive", lambda: True)
    before = world.versions()

    declined = lineageql(input="n\n")
    assert declined.exit_code == 1
    assert "Delete these? [y/N]" in declined.stdout
    assert "aborted: nothing was deleted" in declined.stderr
    assert world.versions() == before

    accepted = lineageql(input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert set(world.versions()) == USED


def fail_to_remove(monkeypatch: pytest.MonkeyPatch, victim: Path) -> None:
    """Make deleting the files under `victim` fail as a read-only store would."""
    original = ArtifactStore.remove

    def remove(self: ArtifactStore, uri: str) -> None:
        if self.path(uri).rstrip("/") == str(victim).rstrip("/"):
            raise PermissionError(13, "Permission denied", str(victim))
        original(self, uri)

    monkeypatch.setattr(ArtifactStore, "remove", remove)


def test_a_file_that_cannot_be_deleted_stops_the_prune_with_one_line(world: World) -> None:
    with pytest.MonkeyPatch.context() as patch:
        fail_to_remove(patch, world.path("scratch:1"))
        result = lineageql("--yes")

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: could not delete the data of scratch:1")
    assert "Permission denied" in lines[0] and "--ignore-errors" in lines[0]
    versions = world.versions()
    assert versions["scratch:1"] is not None and world.path("scratch:1").exists()
    assert "features:2" not in versions  # deleted before the failure, in the same batch
    assert lineageql("--yes").exit_code == 0  # the next prune retries it
    assert set(world.versions()) == USED


def test_ignore_errors_goes_on_and_reports_the_file(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_to_remove(monkeypatch, world.path("scratch:1"))

    result = lineageql("--yes", "--ignore-errors")

    assert result.exit_code == 0, result.output
    assert "warning: could not delete the data of scratch:1" in result.stderr
    assert "1 error(s)" in result.stdout
    versions = world.versions()
    assert set(versions) == USED | {"scratch:1"}
    assert versions["scratch:1"] is not None  # marked: nothing can use its half-deleted data
    assert not world.path("scratch:2").exists() and not world.path("features:2").exists()


def test_an_interrupted_prune_leaves_no_metadata_without_data_and_a_rerun_finishes(
    world: World,
) -> None:
    class DiesBetweenFilesAndMetadata(Client):
        def delete_versions(self, ids: Sequence[str]) -> BatchResult:
            super().delete_versions(ids[:1])
            raise KeyboardInterrupt  # the process dies between file and metadata deletion

    with pytest.raises(KeyboardInterrupt):
        prune_artifacts(DiesBetweenFilesAndMetadata(Client().transport))

    versions = world.versions()
    assert len(UNUSED_SAVED - set(versions)) == 1  # only the first metadata deletion happened
    for label, deleted_at in versions.items():
        if not world.path(label).exists():
            assert deleted_at is not None, f"{label} points to deleted files without the mark"
    for label in UNUSED_SAVED & set(versions):
        with pytest.raises(ArtifactDataDeletedError):
            Client().get_artifact_version(*label.split(":")).load()

    report = as_json(lineageql("--yes", "--json"))

    assert len(report["deleted"]) == 2
    assert set(world.versions()) == USED
    assert not any(world.path(label).exists() for label in UNUSED_SAVED)
    assert all(world.path(label).exists() for label in REGISTERED)
    assert_used_data_intact(world)


def test_contradicting_flags_and_bad_durations_are_one_line_errors(world: World) -> None:
    both = lineageql("--yes", "--only-artifact", "--only-metadata")
    assert both.exit_code == 1
    assert both.stderr.startswith("error: --only-artifact and --only-metadata exclude each other")
    assert len(both.stderr.strip().splitlines()) == 1

    orphans = lineageql("--yes", "--orphans", "--only-metadata")
    assert orphans.exit_code == 1 and "--orphans deletes files" in orphans.stderr

    grace = lineageql("--dry-run", "--orphans", "--orphan-grace", "soon")
    assert grace.exit_code == 1
    assert grace.stderr.strip() == (
        "error: --orphan-grace 'soon' is not a duration: give a number with s, m, h or d "
        "(e.g. 30m, 24h, 7d)"
    )
    assert set(world.versions()) == USED | UNUSED_SAVED | REGISTERED


def test_an_unreachable_server_is_one_line(store_env: dict[str, str]) -> None:
    from tests.conftest import free_port

    result = lineageql("--yes", "--url", f"http://127.0.0.1:{free_port()}/graphql")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach the LineageQL server")
    assert len(result.stderr.strip().splitlines()) == 1


def test_nothing_to_prune(store_env: dict[str, str]) -> None:
    result = lineageql("--yes")
    assert result.exit_code == 0
    assert result.stdout.strip() == "nothing to prune: every artifact version is used by a run"


@pytest.mark.usefixtures("lineageql")
def test_prune_and_refused_deletion_work_embedded_and_through_a_server(
    store_env: dict[str, str],
) -> None:
    world = build_world(store_env)
    client = Client()
    features = client.get_artifact_version("features", "1")
    with pytest.raises(GraphQLError, match=r"features:1 is referenced by pipeline run") as caught:
        delete_artifact_version(client, features)
    assert caught.value.code == "CONFLICT"
    assert features.load() == [10] and world.versions()["features:1"] is None

    spare = client.get_artifact_version("features", "2")
    assert delete_artifact_version(client, spare) is False  # features:1 remains
    assert not world.path("features:2").exists()

    report = as_json(lineageql("--yes", "--json", "--orphans"))

    assert {f"{v['name']}:{v['version']}" for v in report["deleted"]} == {"scratch:1", "scratch:2"}
    assert sorted(report["removedArtifacts"]) == ["checkpoints", "layout_data", "notes", "scratch"]
    assert [o["uri"] for o in report["orphansRemoved"]] == [str(world.orphan_old)]
    assert set(world.versions()) == USED
    assert all(world.path(label).exists() for label in REGISTERED)
    assert_used_data_intact(world)
