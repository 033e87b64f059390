"""The examples, end to end: `examples/run_all.py` in a fresh process, twice, on one store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdk import Client
from tests.conftest import ROOT, LiveServer, _close_transports

RUN_ALL = ROOT / "examples" / "run_all.py"
STORE_KEYS = ("LINEAGEQL_URL", "LINEAGEQL_DATABASE_URL", "LINEAGEQL_ARTIFACT_STORE")

pytestmark = pytest.mark.slow


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any LINEAGEQL store settings, plus `overrides`."""
    env = {key: value for key, value in os.environ.items() if key not in STORE_KEYS}
    env.pop("LINEAGEQL_HOME", None)
    env.update(overrides)
    return env


def run_examples(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(RUN_ALL)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"run_all.py exited {result.returncode}\n--- stdout ---\n{result.stdout[-4000:]}"
        f"\n--- stderr ---\n{result.stderr[-4000:]}"
    )
    return result


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty LINEAGEQL_HOME; this process's SDK points at it too (embedded)."""
    path = tmp_path / "home"
    for key in (*STORE_KEYS, "LINEAGEQL_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LINEAGEQL_HOME", str(path))
    yield path
    _close_transports()


def test_examples_run_twice_on_one_store(home: Path, tmp_path: Path) -> None:
    env = clean_env(LINEAGEQL_HOME=str(home))
    first = run_examples(env, tmp_path)
    second = run_examples(env, tmp_path)
    assert "all examples succeeded" in first.stdout
    assert "created iris_raw:raw_2023" in first.stdout
    assert "as expected, ArtifactVersionExistsError" in second.stdout

    client = Client()
    iris = client.get_artifact("iris_dataset")
    assert [v.version for v in iris.versions] == ["1", "2", "3", "4"]
    assert iris.load().shape == (150, 5)

    raw = client.get_artifact_version("iris_raw", "raw_2023")
    assert raw.is_custom_version
    assert set(raw.tags) == {"raw", "iris"}
    assert [v.version for v in client.get_artifact("iris_raw").versions] == ["raw_2023"]

    last_run = client.get_pipeline("digits_pipeline").last_run
    assert last_run.status == "COMPLETED"
    assert last_run.steps["train"].status == "CACHED"  # unchanged code and data: reused
    stored = last_run.steps["train"].outputs["svc_model"]
    assert stored.version == "1"
    model = stored.load()
    X_test = last_run.steps["evaluate"].inputs["X_test"].load()
    y_test = last_run.steps["evaluate"].inputs["y_test"].load()
    predictions = model.predict(X_test)
    assert predictions.shape == y_test.shape
    assert (predictions == y_test).mean() > 0.9

    assert "saved the untrained SVC as my_model:1" in first.stdout
    assert "my_model:1 exists already" in second.stdout
    check_fine_tuning(client)
    check_predictions(client)
    check_checkpoints(client, home)


def check_fine_tuning(client: Client) -> None:
    """Two runs of fine_tuning (ZenML's docs example): the hand-saved version "1", automatic
    versions after it, free-text tags, and the lineage of the last model."""
    models = client.get_artifact("my_model").versions
    assert [v.version for v in models] == ["1", "2", "3", "4", "5"]
    untrained = models[0]
    assert (untrained.source, set(untrained.tags), untrained.producer) == (
        "SAVED",
        {"SVC", "untrained"},
        None,
    )
    assert [v.is_custom_version for v in models] == [True, False, False, False, False]
    assert all(set(v.tags) == {"SVC", "trained"} for v in models[1:])
    dataset = client.get_artifact("my_dataset").versions
    assert [v.version for v in dataset] == ["1"]  # the loader is cached on reruns
    assert set(dataset[0].tags) == {"digits", "computer vision", "classification"}
    tagged = {a.name for a in client.list_artifacts(tag="computer vision")}
    assert "my_dataset" in tagged  # through its version's tag
    assert "my_model" in {a.name for a in client.list_artifacts(tag="SVC")}

    last_run = client.get_pipeline("model_finetuning_pipeline").last_run
    assert set(last_run.steps) == {"model_finetuner_step"}  # dataset_version="1": no loader
    finetuner = last_run.steps["model_finetuner_step"]
    assert finetuner.inputs["dataset"].id == dataset[0].id
    assert finetuner.inputs["model"].id == models[3].id
    assert finetuner.outputs["my_model"].id == models[4].id

    upstream = {v.id for v in models[4].upstream(depth=10).artifact_versions}
    assert {dataset[0].id, untrained.id} <= upstream
    features, labels = dataset[0].load()
    assert (models[4].load().predict(features) == labels).mean() > 0.9


def check_predictions(client: Client) -> None:
    saved = client.get_artifact("digits_predictions").versions
    assert [v.version for v in saved] == ["1", "2"]
    assert saved[-1].source == "SAVED" and set(saved[-1].tags) == {"SVC", "predictions"}
    assert saved[-1].load().shape == (1797,)
    latest_model = client.get_artifact_version("my_model")
    made = client.get_artifact_version("inference_predictions")
    assert latest_model.id in {v.id for v in made.upstream(depth=1).artifact_versions}


def check_checkpoints(client: Client, home: Path) -> None:
    registered = client.get_artifact("training_checkpoints").versions
    assert [v.version for v in registered] == ["1", "2"]
    for version in registered:
        assert version.source == "REGISTERED"
        assert Path(version.uri).is_relative_to(home / "artifacts" / "registered")
        local = version.load()
        assert isinstance(local, Path)
        assert not local.is_relative_to(home)
        names = sorted(p.name for p in local.iterdir())
        assert names == ["epoch_01.npy", "epoch_02.npy", "epoch_03.npy", "summary.json"]


def test_examples_run_against_a_server(tmp_path: Path) -> None:
    server = LiveServer(clean_env(LINEAGEQL_HOME=str(tmp_path / "server")), tmp_path / "server.log")
    try:
        result = run_examples(clean_env(LINEAGEQL_URL=server.url), tmp_path)
    finally:
        server.stop()
    assert f"in the server {server.url}" in result.stdout
    assert "all examples succeeded" in result.stdout
    assert not (tmp_path / ".lineageql").exists(), "the examples must not use an embedded store"
