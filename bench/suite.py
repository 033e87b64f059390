"""LineageQL and ZenML on the same pipelines and data, side by side in one run (medians).

    python bench/suite.py [--runs 5] [--cases NAME,...] [--skip-zenml] [--quick]
                          [--results bench/RESULTS.md]

Cases (`--cases`; all by default):
  process   whole-process wall time of a script running the trivial 3-step pipeline and the
            20-step linear one (ints in and out), caching off, on a warm store;
  cached    the same scripts with caching on, fully cached reruns;
  per-step  in-process cost per step: the 20-step pipeline run `runs` times in one process
            (after one first run), divided by the steps; caching off, and fully cached;
  small     save_artifact / load_artifact of a small dict, in-process, median of 50;
  large     save and load of a 100 MB float64 array and a 1M-row DataFrame (int, float and
            string columns): MB/s, exact round trip (dtypes included), and the raw floor in the
            same process (np.save/np.load; pyarrow.parquet write_table/read_table);
  verify    load_artifact of a 256 MB float64 array with each verification level
            (LINEAGEQL_VERIFY=off, size, full), side by side in one process, LineageQL only;
  listing   listing 200 versions of one artifact; the consumers of one version at 590 runs;
  startup   `python -c "import sdk"` against `python -c "import zenml"`, and
            `lineageql artifacts list` against `zenml artifact list` (on the listing store).

Whole-process cases run each side in its own subprocesses, LineageQL and ZenML taking turns;
the in-process cases run in one worker process per side and case (`cases/lineageql_worker.py`,
`peers/zenml_worker.py`). ZenML runs in its own virtualenv under `bench/.peers/` (made on first
use). `--quick` is the smoke run: tiny sizes, one repetition, LineageQL only, no results file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH / "cases")]

from cases.report import Context, Row, print_table, write_results  # noqa: E402
from peers import zenml_pipelines as zp  # noqa: E402
from peers.zenml_env import ZENML_VERSION, ensure_zenml_venv, zenml_environ  # noqa: E402

CASES = ("process", "cached", "per-step", "small", "large", "verify", "listing", "startup")
WORKER = BENCH / "cases" / "lineageql_worker.py"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Sizes:
    runs: int
    steps: int = 20
    small: int = 50
    megabytes: float = 100
    rows: int = 1_000_000
    large_runs: int = 5
    verify_megabytes: float = 256
    verify_runs: int = 7
    versions: int = 200
    consumer_runs: int = 590
    dataset_versions: int = 59
    real_zenml_runs: int = 10
    queries: int = 10


QUICK = Sizes(
    runs=1, steps=4, small=3, megabytes=1, rows=1000, large_runs=1, verify_megabytes=1,
    verify_runs=1, versions=5, consumer_runs=6, dataset_versions=3, queries=1,
)  # fmt: skip


def median(values: list[float]) -> float:
    return statistics.median(values)


# ---------------------------------------------------------------------------------------------
# Running one side


def lineageql_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGEQL_")}
    env["LINEAGEQL_HOME"] = str(home)
    return env


_LOGGING = '    logging.basicConfig(level=logging.INFO, format="%(message)s")\n'


def lineageql_source(zenml_source: str) -> str:
    """The same pipeline for LineageQL: its decorators take the same arguments as ZenML's."""
    return zenml_source.replace(
        "from zenml import pipeline, step", "import logging\n\nfrom sdk import pipeline, step"
    ).replace(
        'if __name__ == "__main__":\n',
        'if __name__ == "__main__":\n' + _LOGGING,
    )


def run_lineageql_script(script: Path, home: Path) -> zp.ScriptRun:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, script.name], cwd=script.parent, env=lineageql_env(home),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} failed:\n{done.stdout[-4000:]}")
    executed = [line.split()[1] for line in done.stdout.splitlines() if " executed in " in line]
    cached = [line.split()[1] for line in done.stdout.splitlines() if " cached: " in line]
    return zp.ScriptRun(seconds, executed, cached, done.stdout)


def run_lineageql_worker(case: str, params: dict[str, Any], home: Path) -> Any:
    done = subprocess.run(
        [sys.executable, str(WORKER), case, json.dumps(params)], env=lineageql_env(home),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800,
    )  # fmt: skip
    return zp.parse_result(done, f"lineageql_worker.py {case}")


VERIFY_LEVELS = ("off", "size", "full")

# The `verify` case, run in a fresh process on the embedded store: one array saved, then loads
# by id with each level of LINEAGEQL_VERIFY taking turns (the first level rotating), every
# timed call after `settle()` as in `large`.
VERIFY_WORKER = """
import json, os, sys, time
sys.path.insert(0, sys.argv[2])
import workload
from sdk import load_artifact, save_artifact
params = json.loads(sys.argv[1])
levels = params["levels"]
data = workload.make_array(params["megabytes"])
ref = save_artifact(data, "verified_array").id
times = {level: [] for level in levels}
for level in levels:  # untimed: one load of each, and an exact round trip
    os.environ["LINEAGEQL_VERIFY"] = level
    if not workload.same_array(data, load_artifact(ref)):
        raise AssertionError(f"verify={level}: the array did not round-trip")
for repetition in range(params["runs"]):
    shift = repetition % len(levels)
    for level in levels[shift:] + levels[:shift]:
        os.environ["LINEAGEQL_VERIFY"] = level
        workload.settle(data.nbytes)
        start = time.perf_counter()
        load_artifact(ref)
        times[level].append(time.perf_counter() - start)
print("RESULT " + json.dumps({"bytes": int(data.nbytes), **times}))
"""


def timed_process(args: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"{shlex.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return seconds


# ---------------------------------------------------------------------------------------------
# Cases


@dataclass
class Bench:
    sizes: Sizes
    workdir: Path
    zenml: bool

    def home(self, side: str, name: str) -> Path:
        return self.workdir / f"{side}-{name}"

    def sides(self) -> list[str]:
        return ["lineageql", "zenml"] if self.zenml else ["lineageql"]

    def script(self, side: str, name: str, source: str) -> Path:
        folder = self.workdir / f"{side}-scripts"
        folder.mkdir(exist_ok=True)
        path = folder / f"{name}.py"
        path.write_text(lineageql_source(source) if side == "lineageql" else source)
        return path

    def run_script(self, side: str, script: Path, home: Path) -> zp.ScriptRun:
        return (run_lineageql_script if side == "lineageql" else zp.run_script)(script, home)

    def worker(self, side: str, case: str, params: dict[str, Any], home: Path) -> Any:
        if side == "lineageql":
            return run_lineageql_worker(case, params, home)
        return zp.run_worker(case, params, home)

    def whole_process(self, cache: bool) -> list[Row]:
        steps = self.sizes.steps
        pipelines = {
            "3 steps": (zp.trivial_script(cache), 3),
            f"{steps} steps": (zp.linear_script(steps, enable_cache=cache), steps),
        }
        rows = []
        for label, (source, count) in pipelines.items():
            slug = f"{label.replace(' ', '-')}-{'cached' if cache else 'uncached'}"
            times: dict[str, list[float]] = {side: [] for side in self.sides()}
            scripts = {side: self.script(side, slug.replace("-", "_"), source)
                       for side in self.sides()}  # fmt: skip
            for side in self.sides():  # warm store (and, with caching, a filled cache)
                self.run_script(side, scripts[side], self.home(side, slug))
            for _ in range(self.sizes.runs):
                for side in self.sides():
                    result = self.run_script(side, scripts[side], self.home(side, slug))
                    done = result.cached if cache else result.executed
                    if len(done) != count:
                        what = "cached" if cache else "executed"
                        raise RuntimeError(f"{side} {slug}: {len(done)} of {count} {what}")
                    times[side].append(result.seconds)
            rows.append(self.row(
                f"whole process, {label}, " + ("fully cached rerun" if cache else "caching off"),
                times,
                target={("3 steps", False): 15.0, (f"{steps} steps", True): 15.0}.get(
                    (label, cache)),
            ))  # fmt: skip
        return rows

    def row(
        self, case: str, times: dict[str, list[float]], target: float | None = None,
        note: str = "", per: float = 1,
    ) -> Row:  # fmt: skip
        ours = median(times["lineageql"]) / per
        theirs = median(times["zenml"]) / per if times.get("zenml") else None
        row = Row(case, ours, theirs, note=note)
        if target is not None:
            row.target = f">= {target:g}x faster"
            row.met = None if theirs is None else theirs / ours >= target
        return row

    def per_step(self) -> list[Row]:
        steps, runs = self.sizes.steps, self.sizes.runs
        source = zp.in_process_source(steps, max(runs, 1))
        results: dict[str, dict[str, Any]] = {}
        for side in self.sides():
            script = self.script(side, "per_step", source)
            home = self.home(side, "per-step")
            if side == "lineageql":
                run = run_lineageql_script(script, home)
                results[side] = json.loads(run.output.split("RESULT ", 1)[1].splitlines()[0])
            else:
                results[side] = zp.run_in_process(script, home)
        uncached = {side: r["uncached"] for side, r in results.items()}
        cached = {side: r["cached"] for side, r in results.items()}
        return [
            self.row("in-process per step, caching off", uncached, 50.0,
                     f"{steps}-step pipeline run {runs} times in one process / {steps}", steps),
            self.row("in-process per step, fully cached", cached, per=steps),
        ]  # fmt: skip

    def small(self) -> list[Row]:
        results = {side: self.worker(side, "small", {"runs": self.sizes.small},
                                     self.home(side, "objects"))
                   for side in self.sides()}  # fmt: skip
        note = f"median of {self.sizes.small}; a new version each save; load: latest by name"
        return [
            self.row("save_artifact, small dict", {s: r["save"] for s, r in results.items()},
                     10.0, note),
            self.row("load_artifact, small dict", {s: r["load"] for s, r in results.items()},
                     10.0),
        ]  # fmt: skip

    def large(self) -> list[Row]:
        results = {}
        for side in self.sides():
            params = {
                "megabytes": self.sizes.megabytes,
                "rows": self.sizes.rows,
                "runs": self.sizes.large_runs,
                "folder": str(self.home(side, "raw")),
            }
            results[side] = self.worker(side, "large", params, self.home(side, "large"))
        rows = []
        labels = {"array": f"{self.sizes.megabytes:g} MB float64 array",
                  "frame": f"{self.sizes.rows:,}-row DataFrame"}  # fmt: skip
        for kind, label in labels.items():
            ours = results["lineageql"][kind]
            megabytes = ours["bytes"] / 1e6
            for op in ("save", "load"):

                def rate(side: str, key: str, kind: str = kind, size: float = megabytes) -> float:
                    return size / median(results[side][kind][key])

                theirs = rate("zenml", op) if self.zenml else None
                floor = rate("lineageql", f"floor_{op}")
                mine = rate("lineageql", op)
                exact = "exact" if ours["exact"] else "NOT EXACT"
                if self.zenml:
                    exact += ("; ZenML exact" if results["zenml"][kind]["exact"]
                              else "; ZenML NOT exact")  # fmt: skip
                rows.append(Row(
                    f"{op} {label} ({megabytes:.0f} MB)", mine, theirs, rate=True,
                    floor=mine / floor, target=">= 80% of floor, exact",
                    met=mine / floor >= 0.8 and ours["exact"],
                    note=f"floor {floor:,.0f} MB/s; {exact}; median of {self.sizes.large_runs}",
                ))  # fmt: skip
        return rows

    def verify(self) -> list[Row]:
        """Loads of one large array without verification, with the size check (the default)
        and with the full content hash, side by side."""
        params = {"megabytes": self.sizes.verify_megabytes, "runs": self.sizes.verify_runs,
                  "levels": list(VERIFY_LEVELS)}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-c", VERIFY_WORKER, json.dumps(params), str(BENCH / "cases")],
            env=lineageql_env(self.home("lineageql", "verify")), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=1800,
        )  # fmt: skip
        result = zp.parse_result(done, "verify worker")
        megabytes = result["bytes"] / 1e6
        base = median(result["off"])
        rows = []
        for level in VERIFY_LEVELS:
            ours = median(result[level])
            note = f"median of {self.sizes.verify_runs}"
            if level != "off":
                note = f"{ours / base:.2f}x verify=off ({ours - base:+.3f} s); " + note
            rows.append(Row(f"load {megabytes:.0f} MB array, LINEAGEQL_VERIFY={level}", ours,
                            note=note))  # fmt: skip
        return rows

    def listing(self) -> list[Row]:
        sizes = self.sizes
        versions = {side: self.worker(side, "versions", {"count": sizes.versions,
                                      "runs": sizes.queries}, self.home(side, "objects"))
                    for side in self.sides()}  # fmt: skip
        params = {"versions": sizes.dataset_versions, "runs": sizes.consumer_runs,
                  "real": sizes.real_zenml_runs, "repeat": sizes.queries}  # fmt: skip
        consumers = {side: self.worker(side, "consumers", params, self.home(side, "objects"))
                     for side in self.sides()}  # fmt: skip
        counts = {side: r["count"] for side, r in consumers.items()}
        expected = -(-sizes.consumer_runs // sizes.dataset_versions)
        if set(counts.values()) != {expected}:
            raise RuntimeError(f"consumers of dataset:1: {counts}, expected {expected}")
        builds = ", ".join(f"{side} {r['build']:.0f} s" for side, r in consumers.items())
        return [
            self.row(f"list {sizes.versions} versions of one artifact",
                     {s: r["list"] for s, r in versions.items()},
                     note=f"median of {sizes.queries}"),
            self.row(f"consumers of one version at {sizes.consumer_runs} runs",
                     {s: r["query"] for s, r in consumers.items()}, 100.0,
                     f"{expected} consumers; GraphQL `consumers` / ZenML: scan of the hydrated "
                     f"step runs; build {builds}" + (
                         f" (ZenML: {sizes.real_zenml_runs} real runs, then copies)"
                         if self.zenml else "")),
        ]  # fmt: skip

    def startup(self) -> list[Row]:
        commands: dict[str, dict[str, tuple[list[str], dict[str, str]]]] = {
            "import": {"lineageql": ([sys.executable, "-c", "import sdk"],
                                     lineageql_env(self.home("lineageql", "objects")))},
            "list": {"lineageql": ([str(BIN / "lineageql"), "artifacts", "list"],
                                   lineageql_env(self.home("lineageql", "objects")))},
        }  # fmt: skip
        if self.zenml:
            python = ensure_zenml_venv()
            env = zenml_environ(self.home("zenml", "objects"))
            commands["import"]["zenml"] = ([str(python), "-c", "import zenml"], env)
            commands["list"]["zenml"] = ([str(python.parent / "zenml"), "artifact", "list"], env)
        pending = subprocess.run(
            [str(BIN / "lineageql"), "artifacts", "list", "--help"], capture_output=True
        ).returncode != 0  # fmt: skip
        if pending:
            del commands["list"]
        times: dict[str, dict[str, list[float]]] = {case: {} for case in commands}
        for case, sides in commands.items():
            for args, env in sides.values():  # untimed: the store's first open
                timed_process(args, env, self.workdir)
            for _ in range(self.sizes.runs):
                for side, (args, env) in sides.items():
                    times[case].setdefault(side, []).append(timed_process(args, env, self.workdir))
        rows = [self.row('python -c "import sdk" / "import zenml"', times["import"])]
        label = "`lineageql artifacts list` / `zenml artifact list`"
        if pending:
            note = "pending: the command does not exist yet"
            rows.append(Row(label, None, target=">= 5x faster", note=note))
        else:
            note = "on the store of `small` and `listing`"
            rows.append(self.row(label, times["list"], 5.0, note))
        return rows


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each case")
    parser.add_argument("--cases", default=",".join(CASES), help=f"among {','.join(CASES)}")
    parser.add_argument("--skip-zenml", action="store_true", help="LineageQL only")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny, once, no ZenML")
    parser.add_argument("--results", type=Path, help="markdown file to write the results to")
    args = parser.parse_args(argv)
    chosen = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(chosen) - set(CASES))
    if unknown:
        parser.error(f"unknown cases {unknown}; choose among {', '.join(CASES)}")
    sizes = QUICK if args.quick else Sizes(runs=args.runs)
    zenml = not (args.quick or args.skip_zenml)
    started = time.perf_counter()
    install = ""
    if zenml:
        start = time.perf_counter()
        ensure_zenml_venv()
        spent = time.perf_counter() - start
        install = f"; ZenML virtualenv check/install {spent:.0f} s"
    load_start = os.getloadavg()[0]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lineageql-suite-") as tmp:
        bench = Bench(sizes, Path(tmp), zenml)
        runners: dict[str, Callable[[], list[Row]]] = {
            "process": lambda: bench.whole_process(cache=False),
            "cached": lambda: bench.whole_process(cache=True),
            "per-step": bench.per_step,
            "small": bench.small,
            "large": bench.large,
            "verify": bench.verify,
            "listing": bench.listing,
            "startup": bench.startup,
        }
        for case in CASES:
            if case in chosen:
                case_start = time.perf_counter()
                rows += runners[case]()
                print(f"[{case}: {time.perf_counter() - case_start:.0f} s]", file=sys.stderr)
    load = f"{load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    seconds = time.perf_counter() - started
    print(f"median of {sizes.runs}; {load}; {seconds:.0f} s")
    print_table(rows)
    if args.results and not args.quick:
        from importlib.metadata import version

        from cases.report import commit

        context = Context(
            command="python bench/suite.py " + shlex.join(sys.argv[1:] if argv is None else argv),
            runs=sizes.runs, python=platform.python_version(),
            lineageql=f"{version('lineageql')} at commit {commit(BENCH.parent)}",
            zenml=ZENML_VERSION if zenml else "not run", install=install, load=load,
            seconds=seconds,
        )  # fmt: skip
        write_results(args.results, rows, context)
        print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
