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


def test_examples_run_against_a_server(tmp_path: Path) -> None:
    server = LiveServer(clean_env(LINEAGEQL_HOME=str(tmp_path / "server")), tmp_path / "server.log")
    try:
        result = run_examples(clean_env(LINEAGEQL_URL=server.url), tmp_path)
    finally:
        server.stop()
    assert f"in the server {server.url}" in result.stdout
    assert "all examples succeeded" in result.stdout
    assert not (tmp_path / ".lineageql").exists(), "the examples must not use an embedded store"
