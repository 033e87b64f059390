"""A store — database and files — moved, copied or restored elsewhere still loads, and prune
never mistakes a moved, empty or foreign store's data for orphans."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from sdk import Client, pipeline, register_artifact, save_artifact, step
from sdk.cli import app
from sdk.errors import StoreMismatchError
from sdk.prune import plan_prune
from tests.conftest import _close_transports


def prune(*args: str) -> Result:
    return CliRunner().invoke(
        app, ["artifacts", "prune", "--orphans", "--orphan-grace", "0s", "--yes", *args]
    )


@step
def raw() -> np.ndarray:
    return np.arange(12.0).reshape(3, 4)


@step
def scaled(values: np.ndarray) -> np.ndarray:
    return values * 2


@pipeline(enable_cache=False)
def moving() -> None:
    scaled(raw())


def use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """The embedded default layout: `{home}/metadata.db` and `{home}/artifacts/`."""
    _close_transports()
    monkeypatch.chdir(home.parent)
    monkeypatch.setenv("LINEAGEQL_HOME", str(home))
    for variable in ("LINEAGEQL_URL", "LINEAGEQL_DATABASE_URL", "LINEAGEQL_ARTIFACT_STORE"):
        monkeypatch.delenv(variable, raising=False)


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project folder whose embedded store holds a run, saved, registered and unused data."""
    home = tmp_path / "before" / ".lineageql"
    home.parent.mkdir()
    use_home(monkeypatch, home)
    moving()
    save_artifact({"a": 1}, "settings")
    save_artifact("unused", "scratch")  # unused: prune deletes it, nothing else
    folder = home / "artifacts" / "registered" / "images"
    folder.mkdir(parents=True)
    (folder / "cat.txt").write_text("meow")
    register_artifact(str(folder), "images")
    _close_transports()
    yield home
    _close_transports()


def test_a_moved_store_loads_and_prune_deletes_nothing_a_version_points_into(
    filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = tmp_path / "after" / ".lineageql"
    moved.parent.mkdir()
    shutil.move(str(filled), str(moved))
    use_home(monkeypatch, moved)
    client = Client()
    versions = client.list_artifact_versions()
    assert len(versions) == 5
    for version in versions:
        assert version.uri.startswith(str(moved / "artifacts")), version.uri
        loaded = version.load()
        assert loaded is not None
    assert client.get_artifact_version("images").load().joinpath("cat.txt").read_text() == "meow"
    np.testing.assert_array_equal(
        client.get_artifact_version("moving::scaled::output").load(),
        np.arange(12.0).reshape(3, 4) * 2,
    )
    before = files_under(moved / "artifacts")
    result = prune()
    assert result.exit_code == 0, result.output
    _close_transports()
    after = files_under(moved / "artifacts")
    removed = before - after
    assert removed and all(part.parts[0] == "_saved" for part in removed)  # unused saves only
    assert [v.name for v in Client().list_artifact_versions(name="scratch")] == []
    for version in Client().list_artifact_versions():
        assert version.load() is not None


def test_prune_refuses_an_empty_or_foreign_store_and_deletes_nothing(
    filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_home(monkeypatch, filled)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("LINEAGEQL_ARTIFACT_STORE", str(empty))
    _close_transports()
    with pytest.raises(StoreMismatchError, match="none of the 5 versions"):
        plan_prune(Client(), orphans=True)
    assert prune().exit_code != 0

    other_home = tmp_path / "other" / ".lineageql"  # another project's store, with data
    other_home.parent.mkdir()
    use_home(monkeypatch, other_home)
    save_artifact([1], "theirs")
    _close_transports()
    foreign = other_home / "artifacts"
    foreign_files = files_under(foreign)
    use_home(monkeypatch, filled)
    monkeypatch.setenv("LINEAGEQL_ARTIFACT_STORE", str(foreign))
    _close_transports()
    with pytest.raises(StoreMismatchError, match="belongs to another store"):
        plan_prune(Client(), orphans=True)
    result = prune()
    assert result.exit_code != 0 and "nothing was deleted" in result.output
    assert files_under(foreign) == foreign_files

    monkeypatch.delenv("LINEAGEQL_ARTIFACT_STORE")  # its own store again: prune works
    _close_transports()
    own = files_under(filled / "artifacts")
    assert prune().exit_code == 0
    removed = own - files_under(filled / "artifacts")
    assert removed and all(part.parts[0] == "_saved" for part in removed)  # unused saves only
