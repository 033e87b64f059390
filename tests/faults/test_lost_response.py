"""A lost answer never loses data nor makes a second copy: registration is idempotent and the
SDK keeps the files of a request whose outcome it does not know."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdk import Client, load_artifact, pipeline, save_artifact, step
from sdk.errors import OutcomeUnknownError
from tests.conftest import LiveServer, _close_transports
from tests.faults.proxy import LossyProxy, first


@pytest.fixture
def server(
    store_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    live = LiveServer({**os.environ, **store_env}, tmp_path / "server.log")
    monkeypatch.delenv("LINEAGEQL_DATABASE_URL")
    monkeypatch.setenv("LINEAGEQL_RETRY_BACKOFF", "0.05")
    try:
        yield live
    finally:
        _close_transports()
        live.stop()


def through(proxy: LossyProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGEQL_URL", proxy.url)
    _close_transports()


def test_a_lost_registration_answer_is_retried_into_exactly_one_version(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LossyProxy(server.url, first(b"createArtifactVersion")).running() as proxy:
        through(proxy, monkeypatch)
        saved = save_artifact({"weights": [1, 2, 3]}, "model")
        assert len(proxy.dropped) == 1  # the fault happened: the server committed, no answer
        versions = Client().list_artifact_versions(name="model")
        assert [v.version for v in versions] == ["1"]
        assert saved.id == versions[0].id
        assert load_artifact("model") == {"weights": [1, 2, 3]}
        assert load_artifact(saved.id) == {"weights": [1, 2, 3]}


def test_without_retries_the_outcome_is_unknown_and_the_data_is_kept(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAGEQL_RETRIES", "0")
    with LossyProxy(server.url, first(b"createArtifactVersion")).running() as proxy:
        through(proxy, monkeypatch)
        with pytest.raises(OutcomeUnknownError, match="kept at") as caught:
            save_artifact([1, 2, 3], "numbers")
        assert "may or may not have been applied" in str(caught.value)
        versions = Client().list_artifact_versions(name="numbers")
        assert [v.version for v in versions] == ["1"]  # the server did register it
        assert versions[0].load() == [1, 2, 3]  # and its data was not deleted


def test_lost_answers_in_a_pipeline_register_each_output_once(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    @step
    def make() -> list[int]:
        return [1, 2]

    @step
    def total(values: list[int]) -> int:
        return sum(values)

    @pipeline(enable_cache=False)
    def lossy() -> None:
        total(make())

    markers = [b"StartPipelineRun", b"StartStepRun", b"FinishStepRun", b"FinishPipelineRun"]
    droppers = [first(marker) for marker in markers]
    with LossyProxy(server.url, lambda body: any(d(body) for d in droppers)).running() as proxy:
        through(proxy, monkeypatch)
        run = lossy()
        assert len(proxy.dropped) == len(markers)
        assert run.status == "COMPLETED"
        runs = Client().list_pipeline_runs(pipeline_name="lossy")
        assert len(runs) == 1 and set(runs[0].steps) == {"make", "total"}
        for name in ("lossy::make::output", "lossy::total::output"):
            assert len(Client().list_artifact_versions(name=name)) == 1
        assert run.steps["total"].outputs["output"].load() == 3
