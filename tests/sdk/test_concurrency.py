"""Concurrent writers get gap-free, duplicate-free auto versions (SQLite file and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sdk import Client

WRITER = textwrap.dedent(
    """
    import sys
    from sdk import save_artifact

    for i in range(int(sys.argv[1])):
        save_artifact({"writer": sys.argv[2], "i": i}, name="shared")
    """
)


@pytest.mark.slow
def test_two_processes_saving_100_times_each_get_versions_1_to_200(
    store_env: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, **store_env}
    env.pop("LINEAGEQL_URL", None)
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), "100", name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("a", "b")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err.decode()[-3000:]

    versions = Client().list_artifact_versions(name="shared")
    numbers = [v.version for v in versions]
    assert numbers == [str(n) for n in range(1, 201)]
    by_writer = {"a": 0, "b": 0}
    for version in versions:
        by_writer[version.load()["writer"]] += 1
    assert by_writer == {"a": 100, "b": 100}
