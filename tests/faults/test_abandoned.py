"""A pipeline process killed with SIGKILL leaves no run RUNNING forever: its heartbeats stop,
and the run and its open step are recorded ABANDONED with the reason."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdk import Client
from sdk.cli import app
from tests.conftest import ROOT

PIPELINE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sdk import pipeline, step

    READY = Path(sys.argv[1])

    @step
    def quick() -> int:
        return 1

    @step
    def slow(value: int) -> int:
        READY.write_text("running")
        time.sleep(600)
        return value

    @pipeline(enable_cache=False)
    def doomed() -> None:
        slow(quick())

    doomed()
    """
)


def start_and_kill(tmp_path: Path, name: str) -> None:
    """Run the pipeline in a process of its own and SIGKILL it while its second step runs."""
    script, ready = tmp_path / f"{name}.py", tmp_path / f"{name}.ready"
    script.write_text(PIPELINE)
    process = subprocess.Popen(
        [sys.executable, str(script), str(ready)],
        cwd=ROOT,
        env={**os.environ, "LINEAGEQL_HEARTBEAT_INTERVAL": "0.2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the pipeline never reached its slow step"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_a_killed_pipeline_is_abandoned_after_its_heartbeat_window(
    lineageql_live: str, tmp_path: Path
) -> None:
    # The pipeline runs in a subprocess of its own: over HTTP it needs a server it can reach.
    start_and_kill(tmp_path, "first")
    time.sleep(1.2)  # past the window: 4 heartbeat intervals of 0.2 s
    (run,) = Client().list_pipeline_runs(pipeline_name="doomed")  # listing sweeps
    assert run.status == "ABANDONED"
    assert run.ended_at is not None
    assert "no heartbeat" in (run.error or "")
    assert run.steps["quick"].status == "COMPLETED"
    assert run.steps["slow"].status == "ABANDONED"
    assert "heartbeats" in (run.steps["slow"].error or "")
    assert run.steps["slow"].outputs == {}  # nothing registered for it


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_runs_reap_reports_abandoned_runs(store_env: dict[str, str], tmp_path: Path) -> None:
    start_and_kill(tmp_path, "second")
    time.sleep(1.2)
    result = CliRunner().invoke(app, ["runs", "reap"])
    assert result.exit_code == 0, result.output
    assert "ABANDONED" in result.output and "no heartbeat" in result.output
    again = CliRunner().invoke(app, ["runs", "reap"])
    assert "No run to reap" in again.output
    (run,) = Client().list_pipeline_runs(status="ABANDONED")
    assert run.pipeline_name == "doomed"
