"""The HTTP transport: the server tells the SDK where its artifact store is; clear errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdk import (
    Client,
    LineageQLError,
    TransportError,
    load_artifact,
    pipeline,
    save_artifact,
    step,
)
from tests.conftest import LiveServer, free_port


@pytest.fixture
def server_only(
    store_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    """A live server; the SDK process knows only its URL."""
    server = LiveServer({**os.environ, **store_env}, tmp_path / "server.log")
    for key in store_env:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LINEAGEQL_URL", server.url)
    monkeypatch.chdir(tmp_path)
    yield server
    server.stop()


def test_the_sdk_uses_the_artifact_store_the_server_reports(
    server_only: LiveServer, store_env: dict[str, str], tmp_path: Path
) -> None:
    @step
    def make() -> dict[str, int]:
        return {"a": 1}

    @pipeline
    def remote() -> None:
        make()

    run = remote()
    output = run.steps["make"].outputs["output"]
    assert output.uri.startswith(store_env["LINEAGEQL_ARTIFACT_STORE"])
    assert output.load() == {"a": 1}
    assert Client().store.uri == store_env["LINEAGEQL_ARTIFACT_STORE"]
    saved = save_artifact([1, 2], name="listed")
    assert load_artifact("listed") == [1, 2] and saved.version == "1"
    assert not (tmp_path / ".lineageql").exists()  # nothing embedded was created


def test_an_unreachable_server_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}/graphql"
    monkeypatch.setenv("LINEAGEQL_URL", url)
    with pytest.raises(
        LineageQLError, match=r"cannot reach the LineageQL server at .*lineageql serve"
    ):
        Client().list_artifacts()


def test_when_the_server_vanishes_mid_step_written_data_is_kept(
    server_only: LiveServer, store_env: dict[str, str]
) -> None:
    """finishStepRun's outcome is unknown after a transport error: the files must survive."""

    @step
    def outlive_server() -> dict[str, int]:
        server_only.stop()
        return {"kept": 1}

    @pipeline
    def vanishing() -> None:
        outlive_server()

    with pytest.raises(TransportError):
        vanishing()
    written = list(Path(store_env["LINEAGEQL_ARTIFACT_STORE"]).glob("outlive_server/output/*"))
    assert len(written) == 1 and any(written[0].iterdir())


def test_a_step_error_propagates_even_when_the_failure_cannot_be_recorded(
    server_only: LiveServer,
) -> None:
    class StepBroke(Exception):
        pass

    @step
    def broken() -> int:
        server_only.stop()
        raise StepBroke("own error")

    @pipeline
    def unrecordable() -> None:
        broken()

    with pytest.raises(StepBroke, match="own error"):
        unrecordable()
