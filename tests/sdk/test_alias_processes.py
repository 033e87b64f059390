"""Aliases moved from separate processes at once (embedded SQLite/PostgreSQL from each process,
or a real server): exactly one promotion wins, the others are refused naming the winner."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.sdk.test_aliases import three_models

pytestmark = pytest.mark.usefixtures("lineageql_live")


PROMOTE_IN_A_PROCESS = """
import os, sys, time
from pathlib import Path
from sdk import Client
from tests.sdk.test_aliases import MOVE

go = Path(sys.argv[1])
client = Client()
client.list_aliases("model")  # connected (and migrated) before the race
Path(sys.argv[1] + "." + sys.argv[2]).touch()
while not go.exists():
    time.sleep(0.005)
try:
    client.graphql(MOVE.replace('version: "3"', 'version: "' + sys.argv[2] + '"'), {"expected": ""})
    print("won", sys.argv[2])
except Exception as exc:
    print("lost", exc)
"""


def test_promotions_from_separate_processes_one_wins(tmp_path: Path) -> None:
    client = three_models()
    go = tmp_path / "go"
    versions = ("1", "2", "3", "2")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROMOTE_IN_A_PROCESS, str(go), version],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for version in versions
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"go.{v}").exists() for v in set(versions)):
        assert time.monotonic() < deadline, [p.poll() for p in processes]
        time.sleep(0.01)
    go.touch()
    outputs = [p.communicate(timeout=60)[0].strip().splitlines()[-1] for p in processes]
    winners = [o for o in outputs if o.startswith("won")]
    assert len(winners) == 1, outputs
    assert all(
        "moved meanwhile" in o or "at the same time" in o for o in outputs if o.startswith("lost")
    ), outputs
    assert client.get_artifact_version("model@production").version == winners[0].split()[1]
    assert len(client.alias_history("model", "production")) == 1
