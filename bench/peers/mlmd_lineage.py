"""ML Metadata (MLMD) as the lineage peer: the same graphs, timed through `get_lineage_subgraph`.

This file has two sides. In the project's virtualenv, `run_peer(spec)` makes sure a separate
virtualenv with ML Metadata exists under `bench/.peers/mlmd/` (created on first use) and runs
this same file there as a subprocess, passing the spec as JSON on stdin and reading the results
as JSON from stdout. In that virtualenv (standard library and `ml_metadata` only) the file:

1. copies each LineageQL store of the spec into an MLMD SQLite store, read straight from the
   LineageQL database: every artifact version becomes an Artifact, every step run an Execution,
   every `step_inputs` row an INPUT Event and every `step_outputs` row an OUTPUT Event (event
   path = the input/output name), written with `put_artifacts`/`put_executions`/`put_events` in
   batches; so both sides answer on the very same graph;
2. times each case, median of `runs` calls after one untimed call per distinct start: one case
   is one or
   more `get_lineage_subgraph` calls (`LineageSubgraphQueryOptions` with a starting-artifact
   filter, `max_num_hops`, a direction; read mask `artifacts`, `executions`, `events`).

MLMD counts hops between nodes, so N step levels are 2N hops, and caps one call at 100 hops: a
case with `loop` walks on from the frontier (the artifacts whose producing execution is not yet
in the graph) in calls of 100 hops until a call brings no new node, as a client has to.

    python bench/peers/mlmd_lineage.py < spec.json     (inside bench/.peers/mlmd/)
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

MLMD_VERSION = "1.17.1"
# ml-metadata 1.17.1 requires protobuf>=4.25.2,<5; pinned to the release it was measured with.
REQUIREMENTS = (f"ml-metadata=={MLMD_VERSION}", "protobuf==4.25.9")
VENV = Path(__file__).resolve().parent.parent / ".peers" / "mlmd"
MAX_HOPS = 100
MAX_STARTING_NODES = 100
BATCH = 10_000
READ_MASK = ("artifacts", "executions", "events")


# ---------------------------------------------------------------------------------------------
# Project side: the virtualenv and the subprocess


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _has_mlmd(python: Path) -> bool:
    if not python.exists():
        return False
    check = f"import ml_metadata, sys; sys.exit(ml_metadata.__version__ != {MLMD_VERSION!r})"
    return subprocess.run([str(python), "-c", check], capture_output=True).returncode == 0


def ensure_venv() -> Path:
    """The peer's Python, installing ML Metadata into its own virtualenv on first use (MLMD
    ships cp311 manylinux wheels for 1.17.1; later releases need a newer glibc)."""
    python = _venv_python()
    if _has_mlmd(python):
        return python
    base = shutil.which("python3.11") or sys.executable
    print(f"creating {VENV.name} peer virtualenv with {', '.join(REQUIREMENTS)}", file=sys.stderr)
    subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    if not _has_mlmd(python):
        raise RuntimeError(f"ml-metadata {MLMD_VERSION} did not install into {VENV}")
    return python


def run_peer(spec: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    """Build the spec's stores in MLMD and time its cases; the parsed JSON results."""
    python = ensure_venv()
    env = {**os.environ, "GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [str(python), str(Path(__file__).resolve())],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"MLMD peer failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ---------------------------------------------------------------------------------------------
# Peer side: building MLMD stores from LineageQL stores


def _batches(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _open_store(path: Path) -> Any:
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as pb

    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return metadata_store.MetadataStore(config)


class MlmdCopy:
    """An MLMD store holding the graph of one LineageQL store; maps LineageQL ids to MLMD ids."""

    def __init__(self, source: Path, target: Path) -> None:
        from ml_metadata.proto import metadata_store_pb2 as pb

        self.pb = pb
        target.unlink(missing_ok=True)
        self.store = _open_store(target)
        self.artifact_type = self.store.put_artifact_type(pb.ArtifactType(name="ArtifactVersion"))
        self.execution_type = self.store.put_execution_type(pb.ExecutionType(name="StepRun"))
        self.artifact_ids: dict[str, int] = {}
        self.counts = self._copy(source)

    def _copy(self, source: Path) -> dict[str, int]:
        db = sqlite3.connect(source)
        try:
            artifacts = self._put_artifacts(db)
            executions = self._put_executions(db)
            events = self._put_events(db, executions)
        finally:
            db.close()
        return {"artifacts": artifacts, "executions": len(executions), "events": events}

    def _put_artifacts(self, db: sqlite3.Connection) -> int:
        pb = self.pb
        rows = db.execute(
            "SELECT v.id, a.name || ':' || v.version, v.uri FROM artifact_versions v "
            "JOIN artifacts a ON a.id = v.artifact_id ORDER BY v.created_at"
        ).fetchall()
        for batch in _batches(rows):
            protos = [pb.Artifact(type_id=self.artifact_type, name=n, uri=u) for _, n, u in batch]
            ids = self.store.put_artifacts(protos)
            self.artifact_ids.update(zip((row[0] for row in batch), ids, strict=True))
        return len(rows)

    def _put_executions(self, db: sqlite3.Connection) -> dict[str, int]:
        pb = self.pb
        rows = db.execute(
            "SELECT s.id, r.name || '/' || s.name FROM step_runs s "
            "JOIN pipeline_runs r ON r.id = s.run_id ORDER BY s.started_at"
        ).fetchall()
        execution_ids: dict[str, int] = {}
        complete = pb.Execution.COMPLETE
        for batch in _batches(rows):
            protos = [
                pb.Execution(type_id=self.execution_type, name=n, last_known_state=complete)
                for _, n in batch
            ]
            ids = self.store.put_executions(protos)
            execution_ids.update(zip((row[0] for row in batch), ids, strict=True))
        return execution_ids

    def _put_events(self, db: sqlite3.Connection, executions: dict[str, int]) -> int:
        pb = self.pb
        count = 0
        for table, kind in (("step_inputs", pb.Event.INPUT), ("step_outputs", pb.Event.OUTPUT)):
            rows = db.execute(
                f"SELECT step_run_id, artifact_version_id, name FROM {table} ORDER BY created_at"
            ).fetchall()
            for batch in _batches(rows):
                events = [self._event(kind, s, v, n, executions) for s, v, n in batch]
                self.store.put_events(events)
            count += len(rows)
        return count

    def _event(
        self, kind: int, step: str, version: str, name: str, executions: dict[str, int]
    ) -> Any:
        event = self.pb.Event(
            artifact_id=self.artifact_ids[version], execution_id=executions[step], type=kind
        )
        event.path.steps.add().key = name
        return event


# ---------------------------------------------------------------------------------------------
# Peer side: the questions


class Lineage:
    """`get_lineage_subgraph` calls, as a client asks the questions of the benchmark."""

    def __init__(self, copy: MlmdCopy) -> None:
        self.copy = copy
        self.pb = copy.pb

    def _call(self, starts: Iterable[int], direction: str, hops: int) -> Any:
        pb = self.pb
        options = pb.LineageSubgraphQueryOptions(
            starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(
                filter_query=f"id IN ({', '.join(str(s) for s in starts)})"
            ),
            max_num_hops=hops,
            direction=pb.LineageSubgraphQueryOptions.Direction.Value(direction),
        )
        return self.copy.store.get_lineage_subgraph(options, list(READ_MASK))

    def subgraph(self, start: str, directions: Sequence[str], hops: int) -> tuple[int, int, int]:
        """Nodes, edges and calls: one call per direction, the answers merged."""
        nodes: set[tuple[str, int]] = set()
        edges: set[tuple[int, int, int]] = set()
        for direction in directions:
            graph = self._call([self.copy.artifact_ids[start]], direction, hops)
            _merge(graph, nodes, edges)
        return len(nodes), len(edges), len(directions)

    def full_upstream(self, start: str) -> tuple[int, int, int]:
        """The whole upstream, in calls of 100 hops from the frontier until nothing is new."""
        nodes: set[tuple[str, int]] = set()
        edges: set[tuple[int, int, int]] = set()
        frontier = [self.copy.artifact_ids[start]]
        expanded: set[int] = set()
        calls = 0
        while frontier:
            expanded.update(frontier)
            calls += 1
            graph = self._call(frontier, "UPSTREAM", MAX_HOPS)
            if not _merge(graph, nodes, edges):
                break
            produced = {e.artifact_id for e in graph.events if e.type == self.pb.Event.OUTPUT}
            open_ends = [a.id for a in graph.artifacts if a.id not in produced]
            frontier = [a for a in open_ends if a not in expanded][:MAX_STARTING_NODES]
        return len(nodes), len(edges), calls


def _merge(graph: Any, nodes: set[tuple[str, int]], edges: set[tuple[int, int, int]]) -> bool:
    """Add a call's answer to the running graph; whether it brought a new node."""
    before = len(nodes)
    nodes.update(("a", a.id) for a in graph.artifacts)
    nodes.update(("e", e.id) for e in graph.executions)
    edges.update((e.artifact_id, e.execution_id, e.type) for e in graph.events)
    return len(nodes) > before


def _time_case(lineage: Lineage, case: dict[str, Any], runs: int) -> dict[str, Any]:
    starts: list[str] = case["starts"]

    def ask(start: str) -> tuple[int, int, int]:
        if case.get("loop"):
            return lineage.full_upstream(start)
        return lineage.subgraph(start, case["directions"], case["hops"])

    for start in starts[:runs]:  # warm-up: one untimed call per distinct start
        ask(start)
    seconds, sizes = [], []
    for i in range(runs):
        start = starts[i % len(starts)]
        began = time.perf_counter()
        sizes.append(ask(start))
        seconds.append(time.perf_counter() - began)
    return {
        "median_s": statistics.median(seconds),
        "nodes": statistics.median(s[0] for s in sizes),
        "edges": statistics.median(s[1] for s in sizes),
        "calls": statistics.median(s[2] for s in sizes),
    }


def peer_main(spec: dict[str, Any]) -> dict[str, Any]:
    from ml_metadata import __version__

    workdir = Path(spec["workdir"])
    workdir.mkdir(parents=True, exist_ok=True)
    stores: dict[str, dict[str, Any]] = {}
    cases: dict[str, dict[str, Any]] = {}
    for store in spec["stores"]:
        began = time.perf_counter()
        copy = MlmdCopy(Path(store["source"]), workdir / f"{store['name']}.mlmd.db")
        stores[store["name"]] = {**copy.counts, "build_s": time.perf_counter() - began}
        print(f"MLMD store {store['name']}: {stores[store['name']]}", file=sys.stderr)
        lineage = Lineage(copy)
        for case in spec["cases"]:
            if case["store"] == store["name"]:
                cases[case["name"]] = _time_case(lineage, case, spec["runs"])
        del lineage, copy  # close the store before the next one is built
    return {"version": __version__, "stores": stores, "cases": cases}


if __name__ == "__main__":
    json.dump(peer_main(json.load(sys.stdin)), sys.stdout)
