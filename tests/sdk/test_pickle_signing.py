"""Pickled artifacts are signed with the store secret and verified before any byte is
unpickled: tampered data, a missing signature, another secret or another Python are refused."""

from __future__ import annotations

import json
import os
import pickle
import platform
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sdk import Client, load_artifact, save_artifact
from sdk.artifacts.secret import StoreSecretError, key_id, store_secret
from sdk.artifacts.store import ArtifactStore
from sdk.materializers import PickleFallbackWarning, load_data, save_data
from sdk.materializers.base import UntrustedArtifactError, allowing_untrusted
from sdk.materializers.io import SavedData
from sdk.materializers.pickle import _new_mac

SECRET = "a-deployment-secret-" + "s" * 40


@dataclass
class Point:
    x: int
    y: int


class Planted:
    """A pickle that touches `marker` when unpickled: proof of code running on load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ArtifactStore:
    monkeypatch.setenv("LINEAGEQL_STORE_SECRET", SECRET)
    return ArtifactStore(str(tmp_path / "store"))


def save(store: ArtifactStore, value: Any = None) -> SavedData:
    with pytest.warns(PickleFallbackWarning):
        return save_data(Point(1, 2) if value is None else value, new_uri(store), store)


def new_uri(store: ArtifactStore) -> str:
    return store.new_version_uri("step", "output")


def load(store: ArtifactStore, saved: SavedData) -> Any:
    return load_data(saved.uri, saved.materializer, saved.data_type, store)


def file_of(store: ArtifactStore, saved: SavedData, name: str) -> Path:
    return Path(posixpath.join(store.path(saved.uri), name))


def header_of(store: ArtifactStore, saved: SavedData) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(file_of(store, saved, "versions.json").read_text())
    return header


def write_header(store: ArtifactStore, saved: SavedData, header: dict[str, Any]) -> None:
    file_of(store, saved, "versions.json").write_text(json.dumps(header))


def test_saved_pickle_is_signed_and_loads(store: ArtifactStore) -> None:
    saved = save(store)
    header = header_of(store, saved)
    assert header["algorithm"] == "hmac-sha256"
    assert header["python"] == platform.python_version()
    assert header["cloudpickle"]
    assert header["key_id"] == key_id(SECRET.encode())
    assert len(header["signature"]) == 64
    assert load(store, saved) == Point(1, 2)


def test_tampered_data_is_refused_before_unpickling(store: ArtifactStore, tmp_path: Path) -> None:
    saved = save(store)
    marker = tmp_path / "code-ran"
    file_of(store, saved, "data.pkl").write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(UntrustedArtifactError, match="signature .* does not match"):
        load(store, saved)
    assert not marker.exists()
    with allowing_untrusted():  # the explicit escape hatch does run it
        load(store, saved)
    assert marker.exists()


def test_a_changed_header_breaks_the_signature(store: ArtifactStore) -> None:
    saved = save(store)
    header = header_of(store, saved)
    write_header(store, saved, {**header, "cloudpickle": "0.0.1"})
    with pytest.raises(UntrustedArtifactError, match="changed after it was saved"):
        load(store, saved)


def test_missing_signature_is_refused(store: ArtifactStore) -> None:
    saved = save(store)
    header = header_of(store, saved)
    del header["signature"]
    write_header(store, saved, header)
    with pytest.raises(UntrustedArtifactError, match="is not signed") as refused:
        load(store, saved)
    assert "allow_untrusted=True" in str(refused.value)
    with allowing_untrusted():
        assert load(store, saved) == Point(1, 2)


def test_missing_versions_file_is_refused(store: ArtifactStore) -> None:
    saved = save(store)
    file_of(store, saved, "versions.json").unlink()
    with pytest.raises(UntrustedArtifactError, match="no versions.json"):
        load(store, saved)
    with allowing_untrusted():
        assert load(store, saved) == Point(1, 2)


def test_another_python_version_recorded_is_refused(store: ArtifactStore) -> None:
    saved = save(store)
    # Re-sign a header that records another Python, as that Python would have written it.
    header = {k: v for k, v in header_of(store, saved).items() if k != "signature"}
    header["python"] = "3.8.10"
    mac = _new_mac(SECRET.encode(), header)
    mac.update(file_of(store, saved, "data.pkl").read_bytes())
    write_header(store, saved, {**header, "signature": mac.hexdigest()})
    with pytest.raises(UntrustedArtifactError, match=r"pickled with Python 3\.8\.10") as refused:
        load(store, saved)
    assert f"this is Python {platform.python_version()}" in str(refused.value)
    with allowing_untrusted():
        assert load(store, saved) == Point(1, 2)


def test_another_store_secret_is_refused_naming_both_key_ids(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = save(store)
    other = "another-clients-secret-" + "o" * 40
    monkeypatch.setenv("LINEAGEQL_STORE_SECRET", other)
    with pytest.raises(UntrustedArtifactError, match="signed with another store secret") as refused:
        load(store, saved)
    message = str(refused.value)
    assert key_id(SECRET.encode()) in message and key_id(other.encode()) in message
    assert "LINEAGEQL_STORE_SECRET" in message


# --- the store secret -----------------------------------------------------------------------


@pytest.fixture
def no_secret_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.delenv("LINEAGEQL_STORE_SECRET", raising=False)
    monkeypatch.delenv("LINEAGEQL_STORE_SECRET_FILE", raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("LINEAGEQL_HOME", str(home))
    yield home


def test_embedded_home_gets_a_private_secret_on_first_use(no_secret_env: Path) -> None:
    path = no_secret_env / "store.secret"
    assert not path.exists()
    first = store_secret()
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first) == 64
    assert store_secret() == first  # reused, not regenerated
    assert not [p for p in no_secret_env.iterdir() if p.name != "store.secret"]  # no leftovers


def test_secret_file_variable_is_used(no_secret_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = no_secret_env.parent / "shared.secret"
    shared.write_text("x" * 48 + "\n")
    monkeypatch.setenv("LINEAGEQL_STORE_SECRET_FILE", str(shared))
    assert store_secret() == b"x" * 48
    assert not (no_secret_env / "store.secret").exists()
    monkeypatch.setenv("LINEAGEQL_STORE_SECRET_FILE", str(shared) + ".missing")
    with pytest.raises(StoreSecretError, match="cannot read LINEAGEQL_STORE_SECRET_FILE"):
        store_secret()


def test_a_short_secret_is_refused_with_how_to_make_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGEQL_STORE_SECRET", "hunter2")
    with pytest.raises(StoreSecretError, match=r"7 characters; it needs at least 32.*token_hex"):
        store_secret()


# --- through the SDK ------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_load_artifact_refuses_then_allows_untrusted(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAGEQL_STORE_SECRET", SECRET)
    with pytest.warns(PickleFallbackWarning):
        version = save_artifact(Point(3, 4), "point")
    assert load_artifact("point") == Point(3, 4)
    monkeypatch.setenv("LINEAGEQL_STORE_SECRET", "a-stranger-" + "z" * 40)
    with pytest.raises(UntrustedArtifactError, match="another store secret"):
        load_artifact("point")
    assert load_artifact("point", allow_untrusted=True) == Point(3, 4)
    assert version.load(allow_untrusted=True) == Point(3, 4)
    assert Client().get_artifact("point").load(allow_untrusted=True) == Point(3, 4)
    with pytest.raises(UntrustedArtifactError):
        Client().get_artifact("point").load()
    assert os.environ["LINEAGEQL_HOME"] == store_env["LINEAGEQL_HOME"]
