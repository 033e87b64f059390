"""The migration lock of SQLite databases (`api.storage.migrate`): real processes racing to
migrate one fresh file take turns, and the lock needs nothing POSIX-only."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock
from sqlalchemy import create_engine, inspect

from api.storage.migrate import HEAD_REVISION, migration_lock_path
from tests.conftest import ROOT

# Each racer imports the API first, then waits for the starting signal, so that they all ask
# for the lock at about the same moment; Alembic's upgrade is wrapped to record when it ran
# (it runs inside the lock) and to take long enough for an overlap to show.
RACER = """
import json, sys, time
from pathlib import Path

import alembic.command

import api

url, log, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
upgrade = alembic.command.upgrade


def timed(*args, **kwargs):
    start = time.time()
    time.sleep(0.3)
    upgrade(*args, **kwargs)
    with open(log, "a") as out:
        out.write(json.dumps([start, time.time()]) + "\\n")


alembic.command.upgrade = timed
while not go.exists():
    time.sleep(0.005)
api.upgrade_database(url)
"""


def _revision(database: Path) -> str | None:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        engine.dispose()


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_processes_racing_to_migrate_a_fresh_file_take_turns(tmp_path: Path) -> None:
    database, log, go = tmp_path / "fresh.db", tmp_path / "upgrades.jsonl", tmp_path / "go"
    racers = [_start(RACER, f"sqlite:///{database}", str(log), str(go)) for _ in range(4)]
    time.sleep(1.0)  # let them import the API and reach the starting line
    go.touch()
    outcomes = [(p.wait(timeout=180), p.communicate()[1]) for p in racers]
    for returncode, stderr in outcomes:
        assert returncode == 0, stderr

    spans = sorted(tuple(json.loads(line)) for line in log.read_text().splitlines())
    assert len(spans) == 4  # every racer ran Alembic (the ones after the first found no work)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert end <= start, f"two upgrades of one file overlapped: {spans}"
    assert _revision(database) == HEAD_REVISION


def test_an_upgrade_waits_for_the_lock_holder(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    code = "import sys, api; api.upgrade_database(sys.argv[1])"
    with FileLock(migration_lock_path(database)):
        waiting = _start(code, f"sqlite:///{database}")
        time.sleep(2.0)
        assert waiting.poll() is None, waiting.communicate()
        assert not database.exists()  # it has not even opened the database
    assert waiting.wait(timeout=120) == 0, waiting.communicate()[1]
    assert _revision(database) == HEAD_REVISION


def test_migrating_needs_no_fcntl(tmp_path: Path) -> None:
    """As on Windows: without `fcntl` the migration lock still works (filelock picks the
    platform's own lock; here, where none is left, its portable soft lock)."""
    code = (
        "import sys, warnings\n"
        "sys.modules['fcntl'] = None\n"
        "warnings.filterwarnings('ignore', 'only soft file lock is available')\n"
        "import api\n"
        "api.upgrade_database(sys.argv[1])\n"
    )
    database = tmp_path / "fresh.db"
    result = subprocess.run(
        [sys.executable, "-c", code, f"sqlite:///{database}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _revision(database) == HEAD_REVISION
