"""SIGKILL in the middle of `save_artifact` of a large array, at random moments: no registered
version ever points at missing or partial data, the next save works, and the orphan sweep
finds every folder the killed saves left behind.

Each trial is a fresh process on the same embedded store (SQLite file, local artifact folder)
that opens the store, builds the array, says READY, waits for a line on stdin, then saves. The
parent kills it after a random delay drawn within the time a whole save took (measured first,
once, in the same way), so kills land while the data is written, while it is hashed, while
the visualizations are written and while the version is registered."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from sdk import Client, save_artifact
from sdk.prune import plan_prune
from tests.faults.common import (
    database_url,  # noqa: F401 (SQLite only)
    verify_json,
)

ROOT = Path(__file__).resolve().parents[2]
VALUES = 12_500_000  # float64: 100 MB
TRIALS = 12
SEED = 13

CHILD = """
import sys
import numpy as np
from sdk import Client, save_artifact
Client().list_artifact_versions(limit=1)  # the embedded store is open before the clock runs
data = np.random.default_rng(int(sys.argv[1])).random(int(sys.argv[2]))
print("READY", flush=True)
sys.stdin.readline()
version = save_artifact(data, "killed")
print("SAVED", version.id, flush=True)
"""


class Saver:
    """One child process, READY to save when `go()` is called."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(SEED), str(VALUES)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            text=True,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()
        assert ready.strip() == "READY", ready + self._stderr()

    def go(self) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return time.perf_counter()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def saved_id(self) -> str | None:
        """The id the child printed, if it finished the save before it was killed."""
        assert self.process.stdout is not None
        rest = self.process.stdout.read()
        self._stderr()
        for line in rest.splitlines():
            if line.startswith("SAVED "):
                return line.split()[1]
        return None

    def _stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read() if self.process.poll() is not None else ""


def test_sigkill_during_saves_loses_no_registered_version(store_env: dict[str, str]) -> None:
    env = {**os.environ, **store_env}
    env.pop("LINEAGEQL_URL", None)
    expected = np.random.default_rng(SEED).random(VALUES)

    calibration = Saver(env)
    started = calibration.go()
    calibration.process.wait(timeout=120)
    whole_save = time.perf_counter() - started
    saved = [calibration.saved_id()]
    assert saved[0] is not None, "the calibration save did not finish"

    rng = random.Random(SEED)
    killed = 0
    for _ in range(TRIALS):
        saver = Saver(env)
        delay = rng.uniform(0.0, whole_save)
        started = saver.go()
        time.sleep(max(0.0, delay - (time.perf_counter() - started)))
        saver.kill()
        found = saver.saved_id()
        if found is None:
            killed += 1
        saved.append(found)
    assert killed >= TRIALS // 2, f"only {killed} of {TRIALS} saves were killed before the end"

    client = Client()
    versions = client.list_artifact_versions(name="killed")
    ids = {v.id for v in versions}
    finished = [i for i in saved if i is not None]
    assert set(finished) <= ids, "a save that reported success has no version"
    assert len(versions) <= TRIALS + 1
    for version in versions:  # every registered version is whole
        loaded = version.load(verify="full")
        assert loaded.shape == expected.shape and np.array_equal(loaded, expected)
    code, report = verify_json("killed")
    assert code == 0 and report["ok"] == len(versions), report

    after = save_artifact(np.arange(10), "killed")
    assert after.version == str(len(versions) + 1)
    assert np.array_equal(after.load(verify="full"), np.arange(10))

    store = client.store
    root = Path(store.path(store.uri))
    registered = {Path(store.path(v.uri)).resolve() for v in [*versions, after]}
    leftovers = {p.resolve() for p in root.glob("_saved/killed/*") if p.is_dir()} - registered
    plan = plan_prune(client, orphans=True, orphan_grace=timedelta(0))
    orphans = {Path(store.path(o.uri)).resolve() for o in plan.orphans}
    assert leftovers <= orphans
    assert not orphans & registered
    print(
        f"{TRIALS} trials, {killed} killed mid-save, {len(versions)} versions registered "
        f"(whole save {whole_save:.2f} s), {len(leftovers)} leftover folders, all found"
    )
