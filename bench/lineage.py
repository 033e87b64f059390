"""Lineage figures: LineageQL's `lineage` query next to ML Metadata, on the same graphs.

    .venv/bin/python bench/lineage.py [--runs 20] [--sizes 10000,100000,1000000] [--skip-mlmd]

Builds synthetic stores with bench/synthetic.py into a temporary directory (a chain 1,000 steps
deep, one dataset version consumed by 10,000 and by 1,000 step runs, random pipeline DAGs of
each size), then times, median of `--runs` after one untimed call per distinct start:

1. full upstream of the chain's tail (one `lineage` call, depth = the server maximum);
2. downstream of the 10,000-wide fan-out root, depth 1, first page of 500;
3. downstream of the 1,000-wide fan-out root, depth 1, whole (2,001 nodes, one page);
4. a 10,000-node downstream page of the 10,000-wide fan-out (bytes and time over HTTP);
5. depth-3 neighbourhood (BOTH) of random versions (one per run) at each size; the figure must
   not grow with the store: the ratio largest/smallest size is printed.

LineageQL is measured through the GraphQL schema in-process (`api.LocalExecutor`) and over HTTP
(`lineageql serve` in a subprocess, one persistent httpx client; the time includes decoding the
JSON answer), the two taking turns call by call. ML Metadata answers the same questions with
`get_lineage_subgraph` on a copy of each graph in its own SQLite store, in the same run just
before (bench/peers/mlmd_lineage.py, its own virtualenv).
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import synthetic
from peers import mlmd_lineage

CHAIN_DEPTH = 1000
FANOUT_WIDTH = 10_000
SMALL_FANOUT_WIDTH = 1000
MAX_PAGE = 10_000
QUERY = """
query Lineage($id: ID!, $direction: LineageDirection!, $depth: Int!, $first: Int!) {
  lineage(id: $id, direction: $direction, depth: $depth, first: $first) {
    nodes {
      ... on ArtifactVersion { id name version }
      ... on StepRun { id name status }
    }
    edges { source target kind }
    truncated
    totalCount
  }
}
"""


# ---------------------------------------------------------------------------------------------
# Stores


@dataclass
class Store:
    name: str
    path: Path
    build_s: float

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"


@dataclass
class Stores:
    chain: synthetic.Chain
    fanout_root: str
    small_fanout_root: str
    samples: dict[int, list[str]]
    all: dict[str, Store] = field(default_factory=dict)


def _timed_build(workdir: Path, name: str, build: Callable[[str], Any]) -> tuple[Store, Any]:
    path = workdir / f"{name}.db"
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    began = time.perf_counter()
    result = build(f"sqlite:///{path}")
    store = Store(name, path, time.perf_counter() - began)
    print(f"built {name}: {store.build_s:.1f} s, {_versions(path):,} versions", file=sys.stderr)
    return store, result


def _versions(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM artifact_versions").fetchone()[0])


def build_stores(workdir: Path, sizes: list[int]) -> Stores:
    chain_store, chain = _timed_build(
        workdir, "chain", lambda url: synthetic.build_chain(url, CHAIN_DEPTH)
    )
    fan_store, fan_root = _timed_build(
        workdir, "fanout", lambda url: synthetic.build_fanout(url, FANOUT_WIDTH)
    )
    small_store, small_root = _timed_build(
        workdir, "fanout_1k", lambda url: synthetic.build_fanout(url, SMALL_FANOUT_WIDTH)
    )
    stores = Stores(chain, fan_root, small_root, {})
    for store in (chain_store, fan_store, small_store):
        stores.all[store.name] = store
    for size in sizes:
        build = functools.partial(synthetic.build_random_dags, versions=size)
        store, sample = _timed_build(workdir, f"random_{size}", build)
        stores.all[store.name] = store
        stores.samples[size] = sample
    return stores


# ---------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Target:
    seconds: float
    transport: str  # "in-process" or "HTTP"

    def __str__(self) -> str:
        return f"< {self.seconds * 1000:g} ms {self.transport}"


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    store: str
    direction: str
    depth: int
    first: int
    starts: list[str]
    mlmd: dict[str, Any]  # how MLMD asks: `loop`, or `directions` and `hops`
    target: Target | None = None
    beat_mlmd: bool = False

    def variables(self, run: int) -> dict[str, Any]:
        return {
            "id": self.starts[run % len(self.starts)],
            "direction": self.direction,
            "depth": self.depth,
            "first": self.first,
        }


def make_cases(stores: Stores, runs: int) -> list[Case]:
    down1 = {"directions": ["DOWNSTREAM"], "hops": 2}
    cases = [
        Case(
            "chain",
            f"chain {CHAIN_DEPTH:,} deep: full upstream of the tail",
            "chain",
            "UPSTREAM",
            CHAIN_DEPTH,
            MAX_PAGE,
            [stores.chain.tail],
            {"loop": True},
            Target(0.080, "in-process"),
            beat_mlmd=True,
        ),
        Case(
            "fan_page",
            f"fan-out {FANOUT_WIDTH:,}: downstream depth 1, first 500",
            "fanout",
            "DOWNSTREAM",
            1,
            500,
            [stores.fanout_root],
            down1,
        ),
        Case(
            "fan_small",
            f"fan-out {SMALL_FANOUT_WIDTH:,}: downstream depth 1, whole",
            "fanout_1k",
            "DOWNSTREAM",
            1,
            MAX_PAGE,
            [stores.small_fanout_root],
            down1,
            beat_mlmd=True,
        ),
        Case(
            "fan_big",
            f"fan-out {FANOUT_WIDTH:,}: {MAX_PAGE:,}-node downstream page",
            "fanout",
            "DOWNSTREAM",
            1,
            MAX_PAGE,
            [stores.fanout_root],
            down1,
            Target(0.300, "HTTP"),
        ),
    ]
    sizes = sorted(stores.samples)
    for size in sizes:
        cases.append(
            Case(
                f"hood_{size}",
                f"depth-3 neighbourhood at {_short(size)} versions",
                f"random_{size}",
                "BOTH",
                3,
                MAX_PAGE,
                stores.samples[size][:runs],
                {"directions": ["UPSTREAM", "DOWNSTREAM"], "hops": 6},
                Target(0.010, "in-process") if size == max(sizes) else None,
            )
        )
    return cases


def _short(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return f"{size:,}"


# ---------------------------------------------------------------------------------------------
# Measuring LineageQL


@dataclass
class Timing:
    median_s: float
    nodes: float
    edges: float
    bytes: float | None = None
    truncated: bool = False


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    nodes: list[int] = field(default_factory=list)
    edges: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    truncated: bool = False

    def add(self, seconds: float, answer: dict[str, Any], size: int | None) -> None:
        graph = answer["lineage"]
        self.seconds.append(seconds)
        self.nodes.append(len(graph["nodes"]))
        self.edges.append(len(graph["edges"]))
        self.truncated = self.truncated or graph["truncated"]
        if size is not None:
            self.sizes.append(size)

    def timing(self) -> Timing:
        return Timing(
            statistics.median(self.seconds),
            statistics.median(self.nodes),
            statistics.median(self.edges),
            statistics.median(self.sizes) if self.sizes else None,
            self.truncated,
        )


Ask = Callable[[dict[str, Any]], tuple[dict[str, Any], int | None]]


def measure_case(asks: dict[str, Ask], case: Case, runs: int) -> dict[str, Timing]:
    """Median of `runs` calls per transport, the transports taking turns call by call (so the
    machine's noise hits them alike), after one untimed call per distinct start."""
    for run in range(min(runs, len(case.starts))):
        for ask in asks.values():
            ask(case.variables(run))
    samples = {transport: Samples() for transport in asks}
    for run in range(runs):
        for transport, ask in asks.items():
            began = time.perf_counter()
            answer, size = ask(case.variables(run))
            samples[transport].add(time.perf_counter() - began, answer, size)
    return {transport: s.timing() for transport, s in samples.items()}


def _data(response: dict[str, Any]) -> dict[str, Any]:
    if response.get("errors"):
        raise RuntimeError(f"GraphQL errors: {response['errors']}")
    data: dict[str, Any] = response["data"]
    return data


def _settings(workdir: Path, store: Store) -> Any:
    import api

    return api.Settings(
        home=workdir / "home",
        database_url=store.url,
        artifact_store=str(workdir / "artifacts"),
        max_lineage_depth=CHAIN_DEPTH,
        max_lineage_page_size=MAX_PAGE,
    )


@contextmanager
def in_process(workdir: Path, store: Store) -> Iterator[Ask]:
    """Ask through the GraphQL schema in this process (`api.LocalExecutor`)."""
    import api

    executor = api.LocalExecutor(_settings(workdir, store))
    try:

        def ask(variables: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
            return _data(executor.execute(QUERY, variables)), None

        yield ask
    finally:
        executor.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


@contextmanager
def live_server(workdir: Path, store: Store) -> Iterator[str]:
    """`lineageql serve` on a free loopback port over `store` (as the tests' LiveServer);
    yields the GraphQL URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGEQL_")}
    env.update(
        LINEAGEQL_HOME=str(workdir / "home"),
        LINEAGEQL_DATABASE_URL=store.url,
        LINEAGEQL_ARTIFACT_STORE=str(workdir / "artifacts"),
        LINEAGEQL_MAX_LINEAGE_DEPTH=str(CHAIN_DEPTH),
        LINEAGEQL_MAX_LINEAGE_PAGE_SIZE=str(MAX_PAGE),
    )
    port = _free_port()
    log = workdir / f"server-{store.name}.log"
    command = [sys.executable, "-m", "sdk.cli", "serve", "--port", str(port)]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_ready(process, port, log)
            yield f"http://127.0.0.1:{port}/graphql"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def over_http(workdir: Path, store: Store) -> Iterator[Ask]:
    """Ask a live server with one persistent client; the time includes decoding the JSON."""
    with live_server(workdir, store) as url, httpx.Client(timeout=120) as client:

        def ask(variables: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
            response = client.post(url, json={"query": QUERY, "variables": variables})
            response.raise_for_status()
            return _data(response.json()), len(response.content)

        yield ask


def measure_store(
    workdir: Path, store: Store, cases: list[Case], runs: int
) -> dict[str, dict[str, Timing]]:
    """Each case of this store in-process and over HTTP: {case key: {transport: timing}}."""
    with in_process(workdir, store) as local, over_http(workdir, store) as http:
        asks = {"in-process": local, "HTTP": http}
        return {case.key: measure_case(asks, case, runs) for case in cases}


# ---------------------------------------------------------------------------------------------
# MLMD


def measure_mlmd(workdir: Path, stores: Stores, cases: list[Case], runs: int) -> dict[str, Any]:
    used = {case.store for case in cases}
    spec = {
        "workdir": str(workdir / "mlmd"),
        "runs": runs,
        "stores": [
            {"name": s.name, "source": str(s.path)} for s in stores.all.values() if s.name in used
        ],
        "cases": [{"name": c.key, "store": c.store, "starts": c.starts, **c.mlmd} for c in cases],
    }
    return mlmd_lineage.run_peer(spec)


# ---------------------------------------------------------------------------------------------
# Report


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


@dataclass
class Results:
    cases: list[Case]
    local: dict[str, Timing]
    http: dict[str, Timing]
    mlmd: dict[str, Any] | None

    def mlmd_case(self, key: str) -> dict[str, Any] | None:
        return None if self.mlmd is None else self.mlmd["cases"].get(key)

    def ratio(self, case: Case) -> float | None:
        theirs = self.mlmd_case(case.key)
        return None if theirs is None else self.local[case.key].median_s / theirs["median_s"]

    def met(self, case: Case) -> str:
        checks = []
        if case.target is not None:
            timing = self.http if case.target.transport == "HTTP" else self.local
            checks.append(timing[case.key].median_s < case.target.seconds)
        ratio = self.ratio(case)
        if case.beat_mlmd and ratio is not None:
            checks.append(ratio < 1)
        if not checks:
            return ""
        return "yes" if all(checks) else "NO"


def _target_text(case: Case) -> str:
    parts = [str(case.target)] if case.target is not None else []
    if case.beat_mlmd:
        parts.append("ours/MLMD < 1")
    return "; ".join(parts)


def print_table(results: Results) -> None:
    rows = [("case", "in-process", "HTTP", "MLMD", "ours/MLMD", "target", "met?")]
    for case in results.cases:
        theirs = results.mlmd_case(case.key)
        ratio = results.ratio(case)
        rows.append(
            (
                case.label,
                _ms(results.local[case.key].median_s),
                _ms(results.http[case.key].median_s),
                _ms(theirs["median_s"]) if theirs else "-",
                "-" if ratio is None else f"{ratio:.2f}",
                _target_text(case),
                results.met(case),
            )
        )
    _print_rows(rows)


def print_sizes(results: Results) -> None:
    rows = [("case", "nodes", "edges", "bytes (HTTP)", "truncated", "MLMD nodes/edges/calls")]
    for case in results.cases:
        ours, theirs = results.http[case.key], results.mlmd_case(case.key)
        mlmd = f"{theirs['nodes']:g}/{theirs['edges']:g}/{theirs['calls']:g}" if theirs else "-"
        rows.append(
            (
                case.label,
                f"{ours.nodes:g}",
                f"{ours.edges:g}",
                f"{ours.bytes:,.0f}" if ours.bytes is not None else "-",
                "yes" if ours.truncated else "no",
                mlmd,
            )
        )
    _print_rows(rows)


def _print_rows(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def print_flatness(results: Results, sizes: list[int]) -> None:
    if len(sizes) < 2:
        return
    small, large = min(sizes), max(sizes)
    ratio = results.local[f"hood_{large}"].median_s / results.local[f"hood_{small}"].median_s
    verdict = "yes" if ratio < 2 else "NO"
    label = f"{_short(large)}/{_short(small)}"
    print(f"depth-3 neighbourhood, in-process, {label}: {ratio:.2f} (target < 2: {verdict})")


def print_builds(stores: Stores, results: Results) -> None:
    mlmd_stores = results.mlmd["stores"] if results.mlmd else {}
    print("store builds (LineageQL bulk insert; MLMD put_* in batches of 10,000):")
    for store in stores.all.values():
        theirs = mlmd_stores.get(store.name)
        extra = f", MLMD {theirs['build_s']:.1f} s" if theirs else ""
        versions = f"{_versions(store.path):>9,} versions"
        print(f"  {store.name:<16} {versions}: {store.build_s:6.1f} s{extra}")


def print_header(runs: int, mlmd: dict[str, Any] | None) -> None:
    sqlite_version = sqlite3.sqlite_version
    peer = f", ml-metadata {mlmd['version']}" if mlmd else ", MLMD skipped"
    print(
        f"{date.today()}: median of {runs} runs, Python {platform.python_version()}, "
        f"SQLite {sqlite_version}, {os.cpu_count()} cores{peer}"
    )


# ---------------------------------------------------------------------------------------------
# Main


def run(workdir: Path, sizes: list[int], runs: int, skip_mlmd: bool) -> None:
    stores = build_stores(workdir, sizes)
    cases = make_cases(stores, runs)
    mlmd = None if skip_mlmd else measure_mlmd(workdir, stores, cases, runs)
    local: dict[str, Timing] = {}
    http: dict[str, Timing] = {}
    for store in stores.all.values():
        mine = [c for c in cases if c.store == store.name]
        if mine:
            for key, timings in measure_store(workdir, store, mine, runs).items():
                local[key], http[key] = timings["in-process"], timings["HTTP"]
    results = Results(cases, local, http, mlmd)
    print_header(runs, mlmd)
    print_builds(stores, results)
    print()
    print_table(results)
    print()
    print_sizes(results)
    print()
    print_flatness(results, sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="random store sizes")
    parser.add_argument("--skip-mlmd", action="store_true", help="LineageQL only")
    parser.add_argument("--workdir", type=Path, help="keep the stores here (default: a temp dir)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        run(args.workdir, sizes, args.runs, args.skip_mlmd)
        return
    with tempfile.TemporaryDirectory(prefix="lineageql-lineage-") as tmp:
        run(Path(tmp), sizes, args.runs, args.skip_mlmd)


if __name__ == "__main__":
    main()
