"""Foundation figures, measured side by side in one run (medians; machines here are noisy).

    python bench/foundation.py [--runs 5]

1. `python -c "import sdk"` against `python -c "pass"` (interpreter start-up alone);
2. whole-process wall time of a script running a trivial 3-step pipeline (ints in and out),
   on a fresh store (includes creating the database) and on a warm one;
3. save_artifact / load_artifact of a 100 MB float64 array, against np.save / np.load of the
   same array to the same disk (the raw floor).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

PIPELINE = textwrap.dedent(
    """
    from sdk import pipeline, step

    @step
    def one() -> int:
        return 1

    @step
    def add(x: int, y: int = 1) -> int:
        return x + y

    @step
    def double(x: int) -> int:
        return 2 * x

    @pipeline
    def trivial() -> None:
        double(add(one()))

    assert trivial().steps["double"].outputs["output"].load() == 4
    """
)


def median_time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_process(args: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)


def store_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGEQL_")}
    env["LINEAGEQL_HOME"] = str(home)
    return env


def bench_imports(runs: int) -> list[tuple[str, float, str]]:
    py = sys.executable
    bare = median_time(lambda: run_process([py, "-c", "pass"]), runs)
    sdk = median_time(lambda: run_process([py, "-c", "import sdk"]), runs)
    return [
        ("python -c 'pass'", bare, ""),
        ("python -c 'import sdk'", sdk, f"+{(sdk - bare) * 1000:.0f} ms over bare start-up"),
    ]


def bench_pipeline(runs: int, workdir: Path) -> list[tuple[str, float, str]]:
    script = workdir / "trivial.py"
    script.write_text(PIPELINE)
    counter = iter(range(10_000))

    def fresh() -> None:
        run_process([sys.executable, str(script)], store_env(workdir / f"fresh{next(counter)}"))

    warm_env = store_env(workdir / "warm")
    run_process([sys.executable, str(script)], warm_env)
    return [
        ("3-step pipeline, fresh store (process)", median_time(fresh, runs), ""),
        (
            "3-step pipeline, warm store (process)",
            median_time(lambda: run_process([sys.executable, str(script)], warm_env), runs),
            "",
        ),
    ]


def bench_array(runs: int, workdir: Path) -> list[tuple[str, float, str]]:
    import numpy as np

    os.environ.update(store_env(workdir / "arrays"))
    from sdk import load_artifact, save_artifact

    array = np.random.default_rng(0).random(100 * 1024 * 1024 // 8)
    megabytes = array.nbytes / 1e6
    raw = workdir / "raw.npy"
    names = iter(range(10_000))

    def raw_save() -> None:  # a new file each time, as every artifact version is
        with open(workdir / f"raw{next(names)}.npy", "wb") as handle:
            np.save(handle, array)

    raw_save()
    os.replace(workdir / "raw0.npy", raw)

    saved = save_artifact(array, name="bench_array")
    assert np.array_equal(load_artifact(saved.id), array)
    rows = []
    timings = {
        "np.save (floor)": median_time(raw_save, runs),
        "save_artifact": median_time(lambda: save_artifact(array, name="bench_array"), runs),
        "np.load (floor)": median_time(lambda: np.load(raw), runs),
        "load_artifact": median_time(lambda: load_artifact(saved.id), runs),
    }
    for label, seconds in timings.items():
        floor = timings["np.save (floor)" if "save" in label else "np.load (floor)"]
        rows.append(
            (
                f"100 MB float64 array: {label}",
                seconds,
                f"{megabytes / seconds:.0f} MB/s, {floor / seconds:.0%} of the floor",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lineageql-bench-") as tmp:
        workdir = Path(tmp)
        rows = bench_imports(args.runs) + bench_pipeline(args.runs, workdir)
        rows += bench_array(args.runs, workdir)
    print(f"median of {args.runs} runs, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"{'case':<48} {'median':>10}  notes")
    for label, seconds, note in rows:
        print(f"{label:<48} {seconds * 1000:>8.1f}ms  {note}")


if __name__ == "__main__":
    main()
