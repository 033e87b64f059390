"""The side-by-side benchmark suite runs every LineageQL case once at tiny size (no ZenML)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SUITE = Path(__file__).resolve().parent.parent / "bench" / "suite.py"


def test_suite_quick_runs_every_lineageql_case(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGEQL_", "ZENML_"))}
    done = subprocess.run(
        [sys.executable, str(SUITE), "--quick"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for case in (
        "whole process, 3 steps, caching off",
        "fully cached rerun",
        "in-process per step, caching off",
        "save_artifact, small dict",
        "load 1,000-row DataFrame",
        "consumers of one version",
        'python -c "import sdk"',
        "artifacts list",
    ):
        assert case in done.stdout
    assert "ZenML" not in done.stderr
    assert not (tmp_path / "RESULTS.md").exists()


def test_metadata_bench_runs_at_tiny_size(tmp_path: Path) -> None:
    """bench/metadata.py seeds, filters, sorts and pages (its own asserts check the answers)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGEQL_", "ZENML_"))}
    done = subprocess.run(
        [sys.executable, str(SUITE.with_name("metadata.py")), "--count", "500", "--runs", "2"]
        + ["--skip-zenml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "500 versions" in done.stdout and "filter + sort GraphQL" in done.stdout
    assert "ZenML: not run" in done.stdout
