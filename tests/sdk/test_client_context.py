"""The active client: `Client()` and every facade call use the client chosen in this context
(`with client:` / `activate()` / `client=`), else the default one for the environment."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdk import Client, load_artifact, pipeline, register_artifact, save_artifact, step
from sdk.client.client import current_client
from sdk.errors import InputError, NotFoundError
from sdk.settings import PREFIX, Settings, prefixed


@pytest.fixture
def other(tmp_path: Path, sqlite_template: Path) -> Iterator[Client]:
    """A second embedded store, not the one the environment names."""
    import shutil

    home = tmp_path / "other"
    home.mkdir()
    shutil.copyfile(sqlite_template, home / "metadata.db")
    client = Client.from_env(
        {
            "LINEAGEQL_HOME": str(home),
            "LINEAGEQL_DATABASE_URL": f"sqlite:///{home / 'metadata.db'}",
            "LINEAGEQL_ARTIFACT_STORE": str(home / "artifacts"),
        }
    )
    yield client
    client.close()


def test_client_without_arguments_shares_the_default_transport(store_env: dict[str, str]) -> None:
    assert Client().transport is Client().transport
    assert Client().settings == Settings.from_env()


def test_with_client_makes_it_the_active_one_until_the_block_ends(
    store_env: dict[str, str], other: Client
) -> None:
    default = Client().transport
    with other:
        assert Client().transport is other.transport
        saved = save_artifact({"a": 1}, "chosen")
    assert Client().transport is default
    with pytest.raises(NotFoundError):
        load_artifact("chosen")  # the default store never saw it
    assert load_artifact("chosen", client=other) == {"a": 1}
    assert other.get_artifact_version(saved.id).name == "chosen"


def test_client_argument_of_the_facade_functions(
    store_env: dict[str, str], other: Client, tmp_path: Path
) -> None:
    save_artifact([1, 2], "listed", client=other)
    assert load_artifact("listed", client=other) == [1, 2]
    assert [a.name for a in Client().list_artifacts()] == []
    folder = Path(other.store.root) / "data"
    folder.mkdir(parents=True)
    (folder / "f.txt").write_text("x")
    registered = register_artifact(str(folder), "files", client=other)
    assert registered.source == "REGISTERED"
    assert {a.name for a in other.list_artifacts()} == {"files", "listed"}


def test_a_pipeline_runs_through_the_client_of_its_options(
    store_env: dict[str, str], other: Client
) -> None:
    @step
    def one() -> int:
        return 1

    @pipeline(enable_cache=False)
    def elsewhere() -> None:
        one()

    run = elsewhere.with_options(client=other)()
    assert other.get_pipeline_run(run.id).status == "COMPLETED"
    with pytest.raises(NotFoundError):
        Client().get_pipeline("elsewhere")


def test_activation_is_per_thread(store_env: dict[str, str], other: Client) -> None:
    seen: list[bool] = []
    with other:
        thread = threading.Thread(target=lambda: seen.append(Client().transport is other.transport))
        thread.start()
        thread.join()
    assert seen == [False]


def test_activate_sets_the_client_for_the_rest_of_the_context(
    store_env: dict[str, str], other: Client
) -> None:
    def body() -> bool:
        other.activate()
        return Client().transport is other.transport

    import contextvars

    assert contextvars.copy_context().run(body) is True
    assert Client().transport is not other.transport  # the copy was activated, not this one


def test_a_changed_environment_gets_a_new_default(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = Client().transport
    monkeypatch.setenv("LINEAGEQL_HOME", str(tmp_path / "second-home"))
    assert Client().transport is not first


def test_closing_the_default_lets_the_next_client_build_a_new_one(
    store_env: dict[str, str],
) -> None:
    first = Client()
    save_artifact(1, "before")
    first.close()
    assert Client().transport is not first.transport
    assert load_artifact("before") == 1


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LINEAGEQL_RETRIES", "many", "LINEAGEQL_RETRIES must be a non-negative number"),
        ("LINEAGEQL_TIMEOUT", "0", "LINEAGEQL_TIMEOUT must be a positive number"),
        ("LINEAGEQL_HEARTBEAT_INTERVAL", "0.001", "LINEAGEQL_HEARTBEAT_INTERVAL must be"),
    ],
)
def test_settings_name_a_bad_value(variable: str, value: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Settings.from_env({variable: value})


def test_settings_read_the_environment_once() -> None:
    env = {"LINEAGEQL_URL": "http://127.0.0.1:1/graphql", "LINEAGEQL_RETRIES": "2"}
    settings = Settings.from_env(env)
    env["LINEAGEQL_RETRIES"] = "9"
    assert settings.url == "http://127.0.0.1:1/graphql"
    assert settings.retries == 2
    assert settings.heartbeat_interval == 30.0
    assert dict(settings.environment) == {
        "LINEAGEQL_URL": "http://127.0.0.1:1/graphql",
        "LINEAGEQL_RETRIES": "2",
    }


def test_the_environment_scan_reads_what_os_environ_reads(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`prefixed` matches undecoded names on the process environment: what it finds is what a
    decoded scan finds, non-ASCII values and other prefixes included."""
    monkeypatch.setenv("LINEAGEQL_NOTE", "données ✓")
    monkeypatch.setenv("LINEAGEQLX", "not ours")
    monkeypatch.setenv("XLINEAGEQL_A", "not ours either")
    decoded = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX)))
    assert prefixed(PREFIX) == decoded
    assert ("LINEAGEQL_NOTE", "données ✓") in decoded
    assert prefixed(PREFIX, {"LINEAGEQL_A": "1", "B": "2"}) == (("LINEAGEQL_A", "1"),)


def test_the_default_client_follows_every_variable(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = current_client()
    assert current_client() is first  # nothing changed: the same client, no new settings
    monkeypatch.setenv("LINEAGEQL_TIMEOUT", "12")
    second = current_client()
    assert second is not first and second.settings.timeout == 12.0
    assert current_client() is second
    monkeypatch.delenv("LINEAGEQL_TIMEOUT")
    third = current_client()
    assert third is not second and third.settings.timeout == first.settings.timeout
