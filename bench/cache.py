"""Caching figures, LineageQL next to ZenML 0.98.0 in the same run (medians; noisy machines).

    .venv/bin/python bench/cache.py [--runs 5] [--skip-zenml] [--max-load 1.2] [--wait 900]

1. Whole-process wall time of a script running a 20-step linear pipeline (ints in and out:
   step 1 takes the parameter 0, step i takes step i-1's output and returns it + 1; caching
   on): (a) the first run on a fresh store, (b) the fully cached rerun on the same store, (c)
   the rerun after step 10's code changed (`return x + 1 + 0 * 1` becomes `return x + 2 - 1`:
   another logic, the same output bytes). The steps that executed in each run are parsed from
   the run's log. Each repetition uses a fresh store (LINEAGEQL_HOME; for ZenML a fresh global
   config directory, which holds its local SQLite store and artifact store).
2. The same pipelines written for ZenML (bench/peers/zenml_pipelines.py, its own virtualenv
   under bench/.peers/), LineageQL and ZenML taking turns within each repetition.
3. In-process cost per step (the 20-step pipeline run once, then timed again in the same
   process, divided by 20): a fully cached rerun, an uncached rerun (`enable_cache=False`),
   and the pure cache-key computation (`sdk.pipeline.cache.components` + `cache_key`), warm (code
   digests memoised, as in every run after a process's first) and cold.
4. `save_artifact` of a 1 GB float64 array (a new version directory each time, deleted after),
   as shipped (streamed XXH3-128), and with the hasher replaced by a no-op, taking turns;
   `np.save` of the same array to the same disk as the floor. The hashing share is
   (as shipped - no hashing) / as shipped.

Before measuring it waits (up to --wait seconds) for the 1-minute load average to fall below
--max-load, and prints the load at the start and the end of the measurements.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

from peers import zenml_pipelines
from peers.zenml_env import ZENML_VERSION, ensure_zenml_venv

STEPS = 20
CHANGED = 10
GB = 10**9
_EXECUTED = re.compile(r"^Step (\w+) executed in", re.MULTILINE)
_CACHED = re.compile(r"^Step (\w+) cached:", re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# The LineageQL pipeline, as a user's script


def lineageql_source(steps: int, changed: int | None = None) -> str:
    """The linear pipeline for LineageQL; step `changed` computes the same value differently."""
    lines = ["import logging", "", "from sdk import pipeline, step", ""]
    for i in range(1, steps + 1):
        body = "x + 2 - 1" if i == changed else "x + 1 + 0 * 1"
        name = zenml_pipelines.step_name(i)
        lines += ["", "@step", f"def {name}(x: int) -> int:", f"    return {body}", ""]
    lines += ["", '@pipeline(name="linear")', "def linear() -> None:"]
    lines += [f"    x = {zenml_pipelines.step_name(1)}(0)"]
    lines += [f"    x = {zenml_pipelines.step_name(i)}(x)" for i in range(2, steps + 1)]
    return "\n".join(lines) + "\n"


def lineageql_script(steps: int, changed: int | None = None) -> str:
    return lineageql_source(steps, changed) + (
        '\n\nif __name__ == "__main__":\n'
        '    logging.basicConfig(level=logging.INFO, format="%(message)s")\n'
        "    linear()\n"
    )


def store_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGEQL_")}
    env["LINEAGEQL_HOME"] = str(home)
    return env


def run_lineageql(script: Path, home: Path) -> zenml_pipelines.ScriptRun:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, script.name],
        cwd=script.parent,
        env=store_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} failed:\n{done.stdout[-4000:]}")
    return zenml_pipelines.ScriptRun(
        seconds, _EXECUTED.findall(done.stdout), _CACHED.findall(done.stdout), done.stdout
    )


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Row:
    case: str
    ours: float | None
    theirs: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    percent: bool = False


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    if percent:
        return f"{value:.1%}"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.01:
        return f"{value * 1000:.0f} ms"
    return f"{value * 1000:.2f} ms"


def _ratio(row: Row) -> str:
    if row.ours is None or row.theirs is None or row.percent:
        return "-"
    return f"{row.ours / row.theirs:.3f} ({row.theirs / row.ours:.1f}x)"


def _met(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def print_table(rows: list[Row]) -> None:
    header = ("case", "LineageQL", "ZenML", "ours/theirs", "target", "met?", "notes")
    cells = [header] + [
        (
            r.case,
            _fmt(r.ours, r.percent),
            _fmt(r.theirs),
            _ratio(r),
            r.target or "-",
            _met(r.met),
            r.note,
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header) - 1)]
    for line in cells:
        padded = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line[:-1])
        ]
        print("  ".join(padded) + ("  " + line[-1] if line[-1] else ""))


# ---------------------------------------------------------------------------------------------
# 1-2. Whole-process runs


@dataclass
class Side:
    name: str
    run: Callable[[Path, Path], zenml_pipelines.ScriptRun]
    source: Callable[[int, int | None], str]
    times: dict[str, list[float]]
    executed: dict[str, list[tuple[str, ...]]]


def _side(name: str, run: Callable[[Path, Path], zenml_pipelines.ScriptRun], source: Any) -> Side:
    return Side(name, run, source, {c: [] for c in "abc"}, {c: [] for c in "abc"})


def bench_whole_process(runs: int, workdir: Path, zenml: bool) -> list[Row]:
    sides = [_side("lineageql", run_lineageql, lineageql_script)]
    if zenml:
        sides.append(_side("zenml", zenml_pipelines.run_script, zenml_pipelines.linear_script))
    for repetition in range(runs):
        for side in sides:
            folder = workdir / f"{side.name}-scripts"
            folder.mkdir(exist_ok=True)
            script = folder / "linear_pipeline.py"
            home = workdir / f"{side.name}-home-{repetition}"
            for case, changed in (("a", None), ("b", None), ("c", CHANGED)):
                script.write_text(side.source(STEPS, changed))
                result = side.run(script, home)
                side.times[case].append(result.seconds)
                side.executed[case].append(tuple(result.executed))
                if len(result.executed) + len(result.cached) != STEPS:
                    raise RuntimeError(f"{side.name} ({case}): {STEPS} steps not all in the log")
            shutil.rmtree(home)
    ours, theirs = sides[0], (sides[1] if zenml else None)

    def medians(case: str) -> tuple[float, float | None]:
        mine = statistics.median(ours.times[case])
        return mine, None if theirs is None else statistics.median(theirs.times[case])

    def executed(side: Side, case: str) -> str:
        distinct = sorted(set(side.executed[case]))
        counts = "/".join(str(len(steps)) for steps in distinct)
        named = len(distinct) == 1 and 0 < len(distinct[0]) <= 2
        return f"{counts} of {STEPS} executed" + (f" ({', '.join(distinct[0])})" if named else "")

    def note(case: str) -> str:
        text = f"ours: {executed(ours, case)}"
        return text + (f"; ZenML: {executed(theirs, case)}" if theirs else "")

    changed_step = zenml_pipelines.step_name(CHANGED)
    only_changed = all(steps == (changed_step,) for steps in ours.executed["c"])
    cached, their_cached = medians("b")
    return [
        Row("20 steps, first run, fresh store", *medians("a"), note=note("a")),
        Row("20 steps, fully cached rerun", cached, their_cached, ">= 10x faster",
            None if their_cached is None else their_cached >= 10 * cached, note("b")),
        Row(f"20 steps, rerun after step {CHANGED} changed", *medians("c"),
            f"only step {CHANGED} runs", only_changed, note("c")),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# 3. In-process cost per step


@contextlib.contextmanager
def lineageql_home(home: Path) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("LINEAGEQL_")}
    for key in saved:
        del os.environ[key]
    os.environ["LINEAGEQL_HOME"] = str(home)
    try:
        yield
    finally:
        del os.environ["LINEAGEQL_HOME"]
        os.environ.update(saved)


def load_module(path: Path, source: str) -> ModuleType:
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_in_process(runs: int, workdir: Path, zenml: bool) -> list[Row]:
    from sdk.pipeline import cache

    folder = workdir / "in-process"
    folder.mkdir()
    with lineageql_home(folder / "store"):
        module = load_module(folder / "linear_in_process.py", lineageql_source(STEPS))
        pipe = module.linear
        first = pipe()
        cached_runs = []
        for _ in range(runs):
            start = time.perf_counter()
            run = pipe()
            cached_runs.append(time.perf_counter() - start)
            if {s.status for s in run.steps.values()} != {"CACHED"}:
                raise RuntimeError("the in-process rerun was not fully cached")
        uncached_pipe = pipe.with_options(enable_cache=False)
        uncached_runs = [timed(uncached_pipe) for _ in range(runs)]

        keyed: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
        for i in range(1, STEPS + 1):
            step = getattr(module, zenml_pipelines.step_name(i))
            if i == 1:
                keyed.append((step, {}, {"x": 0}))
            else:
                output = first.steps[zenml_pipelines.step_name(i - 1)].outputs["output"]
                keyed.append((step, {"x": output}, {}))

        def keys() -> None:
            for step, artifacts, parameters in keyed:
                parts = cache.components(step, artifacts, parameters)
                assert parts is not None
                cache.cache_key(parts)

        def cold_keys() -> float:
            cache._code_digests.clear()
            return timed(keys)

        repetitions = max(50, 10 * runs)
        warm = statistics.median(timed(keys) for _ in range(repetitions)) / STEPS
        cold = statistics.median(cold_keys() for _ in range(repetitions)) / STEPS

    theirs: dict[str, Any] | None = None
    if zenml:
        script = workdir / "zenml-in-process" / "linear_in_process.py"
        script.parent.mkdir()
        script.write_text(zenml_pipelines.in_process_source(STEPS, runs))
        theirs = zenml_pipelines.run_in_process(script, workdir / "zenml-in-process-home")

    cached = statistics.median(cached_runs) / STEPS
    uncached = statistics.median(uncached_runs) / STEPS
    their_cached = None if theirs is None else statistics.median(theirs["cached"]) / STEPS
    their_uncached = None if theirs is None else statistics.median(theirs["uncached"]) / STEPS
    return [
        Row("in-process per step: cached rerun", cached, their_cached, "< 2 ms", cached < 0.002,
            "a 20-step rerun / 20 (incl. the run's start and finish)"),
        Row("in-process per step: uncached rerun", uncached, their_uncached,
            note=f"enable_cache=False; a cached step costs {cached / uncached:.0%} of it"),
        Row("cache key per step (warm)", warm, note="components + cache_key, code digest memoised"),
        Row("cache key per step (cold)", cold, note="first key in a process: AST of the source"),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# 4. Content hash cost


class NoHash:
    """A stand-in hasher that hashes nothing (the content hash becomes all zeros)."""

    def __init__(self, data: Any = b"", **_: Any) -> None:
        pass

    def update(self, data: Any) -> NoHash:
        return self

    def hexdigest(self) -> str:
        return "0" * 64


def bench_hashing(runs: int, workdir: Path) -> list[Row]:
    import numpy as np

    import sdk.materializers.base as base
    from sdk import Client, save_artifact

    shipped = base.new_hasher
    variants: dict[str, Any] = {"shipped": shipped, "none": NoHash}
    times: dict[str, list[float]] = {label: [] for label in [*variants, "floor"]}
    array = np.random.default_rng(0).random(GB // 8)
    raw = workdir / "raw.npy"

    def save_raw() -> float:
        start = time.perf_counter()
        with open(raw, "wb") as handle:
            np.save(handle, array)
        seconds = time.perf_counter() - start
        raw.unlink()
        return seconds

    with lineageql_home(workdir / "hash-store"):
        store = Client().store

        def save(label: str) -> float:
            base.new_hasher = variants[label]  # type: ignore[method-assign]
            try:
                start = time.perf_counter()
                version = save_artifact(array, name=f"gb_{label}")
                seconds = time.perf_counter() - start
            finally:
                base.new_hasher = shipped  # type: ignore[method-assign]
            store.remove(version.uri)
            return seconds

        # Untimed: the first gigabyte written in a process is slower (fresh memory for the page
        # cache), whatever writes it. Then the variants take turns, in a rotating order.
        save_raw()
        save("shipped")
        labels = list(times)
        for repetition in range(runs):
            shift = repetition % len(labels)
            for label in labels[shift:] + labels[:shift]:
                times[label].append(save_raw() if label == "floor" else save(label))
    medians = {label: statistics.median(values) for label, values in times.items()}
    share = (medians["shipped"] - medians["none"]) / medians["shipped"]

    def speed(label: str) -> str:
        low, high = min(times[label]), max(times[label])
        return f"{GB / 1e6 / medians[label]:.0f} MB/s; range {low * 1000:.0f}-{high * 1000:.0f} ms"

    return [
        Row("1 GB array: np.save (floor)", medians["floor"], note=speed("floor")),
        Row("1 GB array: save_artifact, no hashing", medians["none"], note=speed("none")),
        Row("1 GB array: save_artifact (XXH3-128)", medians["shipped"], note=speed("shipped")),
        Row("  hashing share of the write", share, target="< 10 %", met=share < 0.10,
            percent=True),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------


def wait_quiet(max_load: float, wait: float) -> float:
    """Wait until the 1-minute load average is below `max_load` (at most `wait` s)."""
    deadline = time.monotonic() + wait
    load = os.getloadavg()[0]
    while load >= max_load and time.monotonic() < deadline:
        print(f"load average {load:.2f} >= {max_load}: waiting", file=sys.stderr)
        time.sleep(30)
        load = os.getloadavg()[0]
    return load


def versions(zenml: bool) -> str:
    import numpy

    parts = [
        f"LineageQL {importlib.metadata.version('lineageql')}",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
        f"xxhash {importlib.metadata.version('xxhash')}",
        f"NumPy {numpy.__version__}",
    ]
    return ", ".join(parts + ([f"ZenML {ZENML_VERSION}"] if zenml else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions (hashing: at most 3)")
    parser.add_argument("--skip-zenml", action="store_true")
    parser.add_argument("--max-load", type=float, default=1.2)
    parser.add_argument("--wait", type=float, default=900, help="seconds to wait for quiet")
    args = parser.parse_args()
    zenml = not args.skip_zenml
    if zenml:
        ensure_zenml_venv()
    with tempfile.TemporaryDirectory(prefix="lineageql-bench-cache-") as tmp:
        workdir = Path(tmp)
        load_start = wait_quiet(args.max_load, args.wait)
        rows = bench_whole_process(args.runs, workdir, zenml)
        rows += bench_in_process(args.runs, workdir, zenml)
        rows += bench_hashing(min(args.runs, 3), workdir)
        load_end = os.getloadavg()[0]
    print(
        f"{date.today().isoformat()}, {os.cpu_count()} cores, {versions(zenml)}; "
        f"median of {args.runs} (hashing {min(args.runs, 3)}); "
        f"load average {load_start:.2f} at the start, {load_end:.2f} at the end"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
