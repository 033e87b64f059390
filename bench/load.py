"""Load test: `lineageql serve --workers N` on PostgreSQL under concurrent GraphQL clients.

    .venv/bin/python bench/load.py [--clients 32] [--duration 60] [--workers 2,1] [--repeat 1]
                                   [--database-url postgresql+psycopg://user@host/db]

For each repetition and each worker count (taking turns), on a fresh database:

1. starts `lineageql serve --workers N` on a free loopback port (a throwaway PostgreSQL server
   from the PostgreSQL server binaries, as the tests use, unless `--database-url` names a server
   where the user may create databases);
2. seeds it through the SDK over HTTP: 5 runs of a 5-step chain pipeline (raw -> clean ->
   features -> model -> score) and 20 saved artifacts;
3. runs `--clients` closed-loop clients (no think time) in `--processes` client processes for
   `--duration` seconds and at most `--max-requests` requests per client, each on a kept-alive
   HTTP/1.1 connection of its own (a lean client on httptools and uvloop, so that the load
   generator leaves the shared cores to the server): 80 % queries, in equal
   parts the artifact by name, the latest version of a name, a pipeline run with its steps, and a
   depth-3 lineage; 20 % mutations, in equal parts registering a new version of one of 10 hot names
   (`createArtifactVersion`, an auto version) and adding a tag (`updateArtifact`);
4. prints requests/s, p50/p95/p99 latency per operation and the error count (the first
   `--warmup` seconds are not counted), then checks the database through the API: every
   acknowledged registration exists exactly once with the version it was given, each hot name's
   versions are exactly "1".."n", registrations that were not acknowledged are either absent or
   whole (tags and metadata), and every acknowledged tag is there.

The last lines compare the worker counts (throughput ratio and p99 of the queries). When
LINEAGEQL_TOKEN is set, every request carries it as a bearer token.

    .venv/bin/python bench/load.py --per-operation 400

prints instead the server CPU of each operation alone: one worker, one client, 400 sequential
requests of each on a freshly seeded database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
HOT_NAMES = [f"hot_{i}" for i in range(10)]
STATIC_NAMES = [f"static_{i}" for i in range(20)]
READS = ("artifact", "latest_version", "run_with_steps", "lineage_depth3")
WRITES = ("register_version", "add_tag")
OPERATIONS = READS + WRITES
WEIGHTS = (0.2, 0.2, 0.2, 0.2, 0.1, 0.1)

ARTIFACT = """query Artifact($name: String!) {
  artifact(name: $name) { id name tags versionCount latestVersion { id version } }
}"""
LATEST = """query Latest($name: String!) {
  artifactVersion(name: $name) { id name version uri tags createdAt contentHash }
}"""
RUN = """query Run($id: ID!) {
  pipelineRun(id: $id) {
    id name status startedAt endedAt
    steps {
      id name status parameters
      inputs { name artifactVersion { id name version } }
      outputs { name artifactVersion { id name version } }
    }
  }
}"""
LINEAGE = """query Lineage($id: ID!) {
  lineage(id: $id, direction: BOTH, depth: 3) {
    nodes {
      __typename
      ... on ArtifactVersion { id name version }
      ... on StepRun { id name status }
    }
    edges { source target kind }
    truncated
  }
}"""
REGISTER = """mutation Register($input: ArtifactVersionInput!) {
  createArtifactVersion(input: $input) { id name version }
}"""
ADD_TAG = """mutation AddTag($name: String!, $tag: String!) {
  updateArtifact(name: $name, addTags: [$tag]) { name tags }
}"""
VERSIONS = """query Versions($name: String!, $first: Int!, $after: String) {
  artifact(name: $name) {
    versionCount
    versions(first: $first, after: $after) {
      edges { node { id version contentHash metadata tags } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
TAGS = """query Tags($name: String!) { artifact(name: $name) { tags } }"""

SEED = textwrap.dedent(
    """
    import json
    from typing import Annotated

    from sdk import pipeline, save_artifact, step

    @step
    def load() -> Annotated[list, "load_raw"]:
        return list(range(100))

    @step
    def clean(raw: list) -> Annotated[list, "load_clean"]:
        return [value for value in raw if value % 2]

    @step
    def featurize(clean: list) -> Annotated[dict, "load_features"]:
        return {"n": len(clean), "total": sum(clean)}

    @step
    def train(features: dict) -> Annotated[dict, "load_model"]:
        return {"weight": features["total"] / features["n"]}

    @step
    def evaluate(model: dict) -> Annotated[float, "load_score"]:
        return model["weight"] / 100

    @pipeline(enable_cache=False)
    def load_chain() -> None:
        evaluate(train(featurize(clean(load()))))

    runs = [load_chain() for _ in range(5)]
    for i in range(20):
        save_artifact({"i": i}, name=f"static_{i}", tags=["seed"])
    middles = [
        version.id
        for run in runs
        for name in ("featurize", "train")
        for version in run.steps[name].outputs.values()
    ]
    print(json.dumps({"runs": [run.id for run in runs], "lineage": middles}))
    """
)


# --- one client process


@dataclass
class ClientPlan:
    url: str
    clients: int
    duration: float
    warmup: float
    max_requests: int
    seed: int
    runs: list[str]
    lineage: list[str]
    store: str
    token: str | None


@dataclass
class ClientResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPERATIONS})
    errors: dict[str, int] = field(default_factory=lambda: {op: 0 for op in OPERATIONS})
    error_samples: list[str] = field(default_factory=list)
    measured: int = 0
    sent: int = 0
    cpu_seconds: float = 0.0
    registrations: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)


def _variables(op: str, rng: random.Random, plan: ClientPlan) -> tuple[str, dict[str, Any]]:
    if op == "artifact":
        return ARTIFACT, {"name": rng.choice(STATIC_NAMES + HOT_NAMES)}
    if op == "latest_version":
        return LATEST, {"name": rng.choice(STATIC_NAMES + HOT_NAMES)}
    if op == "run_with_steps":
        return RUN, {"id": rng.choice(plan.runs)}
    if op == "lineage_depth3":
        return LINEAGE, {"id": rng.choice(plan.lineage)}
    if op == "add_tag":
        return ADD_TAG, {"name": rng.choice(STATIC_NAMES), "tag": f"load-{rng.randrange(50)}"}
    marker = uuid.uuid4().hex
    version_input = {
        "name": rng.choice(HOT_NAMES),
        "uri": f"{plan.store}/load/{marker}/",
        "dataType": "builtins:dict",
        "materializer": "sdk.materializers.builtin:BuiltInContainerMaterializer",
        "contentHash": marker,
        "sizeBytes": 2,
        "metadata": {"marker": marker},
        "tags": ["load", marker[:8]],
    }
    return REGISTER, {"input": version_input}


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of a load client, one request at a time, its response
    read with httptools (uvicorn's parser). The clients share the server's two cores, so their
    cost per request is kept small: httpx's asynchronous client took 1.1-1.2 ms of CPU per
    request, which the server's workers then did not get."""

    def __init__(self, head: bytes) -> None:
        self.head = head  # the request line and headers, up to Content-Length's value
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.lost: BaseException | None = None

    @classmethod
    async def open(cls, url: str, headers: dict[str, str]) -> _Connection:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        lines += ["Content-Type: application/json", "Content-Length: "]
        head = "\r\n".join(lines).encode()
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(lambda: cls(head), host, port)
        return connection

    async def post(self, payload: bytes) -> tuple[int, bytes]:
        """The status and body of the answer to one POST of `payload`."""
        if self.lost is not None or self.transport is None:
            raise ConnectionError(f"connection lost: {self.lost}")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(b"%s%d\r\n\r\n%s" % (self.head, len(payload), payload))
        return await self.waiter

    def close(self) -> None:
        self._fail(ConnectionError("the connection was closed"))
        if self.transport is not None:
            self.transport.close()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the server closed the connection"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body, self.body = b"".join(self.body), []
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), body))
        if not self.parser.should_keep_alive():
            self.close()

    def _fail(self, exc: BaseException) -> None:
        self.lost = self.lost or exc
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))


def _record(
    result: ClientResult,
    op: str,
    variables: dict[str, Any],
    data: Any,
    error: str | None,
    began: float,
    counted_from: float,
) -> None:
    """One answer's latency, error and (for the mutations) what to verify afterwards."""
    elapsed = time.perf_counter() - began
    result.sent += 1
    if began >= counted_from:
        result.measured += 1
        result.latencies[op].append(elapsed)
    if error is not None:
        result.errors[op] += 1
        if len(result.error_samples) < 10:
            result.error_samples.append(error)
    if op == "register_version":
        ack = data["createArtifactVersion"] if data else None
        result.registrations.append(
            {"name": variables["input"]["name"], "marker": variables["input"]["contentHash"]}
            | ({"id": ack["id"], "version": ack["version"]} if ack else {})
        )
    elif op == "add_tag":
        result.tags.append({**variables, "ack": data is not None})


async def _client(plan: ClientPlan, index: int, start: float, result: ClientResult) -> None:
    rng = random.Random(plan.seed * 1000 + index)
    deadline, counted_from = start + plan.duration, start + plan.warmup
    headers = _auth_headers(plan.token)
    connection: _Connection | None = None
    try:
        for _ in range(plan.max_requests):
            now = time.perf_counter()
            if now >= deadline:
                return
            op = rng.choices(OPERATIONS, WEIGHTS)[0]
            query, variables = _variables(op, rng, plan)
            began = time.perf_counter()
            error: str | None = None
            data: Any = None
            try:
                if connection is None or connection.lost is not None:
                    connection = await _Connection.open(plan.url, headers)
                async with asyncio.timeout(30):
                    status, raw = await connection.post(
                        orjson.dumps({"query": query, "variables": variables})
                    )
                body = orjson.loads(raw)
                if status != 200 or body.get("errors"):
                    error = f"{op}: HTTP {status} {raw[:300]!r}"
                else:
                    data = body["data"]
            except (OSError, TimeoutError, ValueError) as exc:
                error = f"{op}: {type(exc).__name__}: {exc}"
                if connection is not None:
                    connection.close()
                    connection = None
            _record(result, op, variables, data, error, began, counted_from)
    finally:
        if connection is not None:
            connection.close()


async def _run_clients(plan: ClientPlan) -> ClientResult:
    result = ClientResult()
    start = time.perf_counter()
    await asyncio.gather(*(_client(plan, i, start, result) for i in range(plan.clients)))
    return result


def _event_loop_run(main: Coroutine[Any, Any, ClientResult]) -> ClientResult:
    """`main` on uvloop's loop where it is installed (as the server's workers run), else on
    asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def client_main(plan_path: Path, out_path: Path) -> None:
    plan = ClientPlan(**json.loads(plan_path.read_text()))
    result = _event_loop_run(_run_clients(plan))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_seconds = usage.ru_utime + usage.ru_stime
    out_path.write_text(json.dumps(result.__dict__))


# --- the orchestrator


@dataclass
class RunFigures:
    workers: int
    requests_per_s: float
    errors: int
    per_op: dict[str, tuple[int, float, float, float]]  # count, p50, p95, p99 (ms)
    read_p99_ms: float
    verification: list[str]
    problems: list[str]
    server_cpu_ms: float = 0.0  # per request, all worker processes
    client_cpu_ms: float = 0.0  # per request, the load generator


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


@contextmanager
def _postgres(url: str | None, workdir: Path) -> Iterator[str]:
    if url:
        yield url
        return
    sys.path.insert(0, str(ROOT))
    from tests.pgserver import postgres_server

    with postgres_server(workdir) as server_url:
        yield server_url


def _admin(url: str, statement: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = (
        make_url(url)
        .set(drivername="postgresql", database="postgres")
        .render_as_string(hide_password=False)
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(statement)


@contextmanager
def _fresh_database(base_url: str) -> Iterator[str]:
    from sqlalchemy.engine import make_url

    name = f"lineageql_load_{uuid.uuid4().hex[:12]}"
    _admin(base_url, f"CREATE DATABASE {name}")
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(base_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a running process and its descendants (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_process_tree_cpu(int(child)) for child in children)


@contextmanager
def _server(env: dict[str, str], workers: int, log: Path) -> Iterator[tuple[str, int]]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [sys.executable, "-m", "sdk.cli", "serve", "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*argv, "--workers", str(workers)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while log.read_text().count("Application startup complete") < workers:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/graphql", process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _post(http: httpx.Client, url: str, query: str, variables: dict[str, Any]) -> Any:
    body = http.post(url, json={"query": query, "variables": variables}).json()
    if body.get("errors"):
        raise RuntimeError(f"verification query failed: {body['errors']}")
    return body["data"]


def _versions_of(http: httpx.Client, url: str, name: str) -> tuple[int, list[dict[str, Any]]]:
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    count = 0
    while True:
        data = _post(http, url, VERSIONS, {"name": name, "first": 500, "after": after})
        if data["artifact"] is None:
            return 0, []
        count = data["artifact"]["versionCount"]
        page = data["artifact"]["versions"]
        nodes.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return count, nodes
        after = page["pageInfo"]["endCursor"]


def verify(
    http: httpx.Client, url: str, results: list[ClientResult]
) -> tuple[list[str], list[str]]:
    """Lines describing what was checked, and the problems found."""
    attempts = [r for result in results for r in result.registrations]
    acked = {r["marker"]: r for r in attempts if "id" in r}
    problems: list[str] = []
    found_markers: dict[str, int] = {}
    unacked_whole = 0
    total_versions = 0
    for name in HOT_NAMES:
        count, nodes = _versions_of(http, url, name)
        total_versions += len(nodes)
        numbers = sorted(int(node["version"]) for node in nodes)
        if numbers != list(range(1, len(nodes) + 1)) or count != len(nodes):
            problems.append(f"{name}: versions are not exactly 1..{len(nodes)} (count {count})")
        for node in nodes:
            marker = node["contentHash"]
            found_markers[marker] = found_markers.get(marker, 0) + 1
            whole = node["metadata"] == {"marker": marker} and set(node["tags"]) == {
                "load",
                marker[:8],
            }
            if not whole:
                problems.append(f"{name} v{node['version']}: half-written ({node})")
            ack = acked.get(marker)
            if ack is None:
                unacked_whole += whole
                if marker not in {a["marker"] for a in attempts}:
                    problems.append(f"{name} v{node['version']}: registered by nobody")
            elif (ack["id"], ack["version"], ack["name"]) != (node["id"], node["version"], name):
                problems.append(f"{name}: acknowledged {ack} stored as {node}")
    duplicated = [m for m, n in found_markers.items() if n > 1]
    lost = [m for m in acked if m not in found_markers]
    if duplicated:
        problems.append(f"{len(duplicated)} registrations stored more than once")
    if lost:
        problems.append(f"{len(lost)} acknowledged registrations missing")
    tag_adds = [t for result in results for t in result.tags if t["ack"]]
    tags_now = {
        name: set(_post(http, url, TAGS, {"name": name})["artifact"]["tags"])
        for name in STATIC_NAMES
    }
    missing_tags = [t for t in tag_adds if t["tag"] not in tags_now[t["name"]]]
    if missing_tags:
        problems.append(f"{len(missing_tags)} acknowledged tags missing")
    lines = [
        f"registrations: {len(attempts)} sent, {len(acked)} acknowledged, {total_versions} "
        f"stored; lost {len(lost)}, duplicated {len(duplicated)}, stored but unacknowledged "
        f"{total_versions - len(acked) - sum(n - 1 for n in found_markers.values())} "
        f"(whole: {unacked_whole})",
        "hot names: "
        + ", ".join(
            f"{name} {'1..' + str(n) if n else 'none'}"
            for name, n in _counts(found_markers, attempts).items()
        ),
        f"tags: {len(tag_adds)} acknowledged adds, {len(missing_tags)} missing",
    ]
    return lines, problems


def _counts(found: dict[str, int], attempts: list[dict[str, Any]]) -> dict[str, int]:
    counts = {name: 0 for name in HOT_NAMES}
    for attempt in attempts:
        if attempt["marker"] in found:
            counts[attempt["name"]] += 1
    return counts


@dataclass
class Seeded:
    url: str  # GraphQL URL
    server_pid: int
    ids: dict[str, Any]  # what SEED printed: the runs and the lineage starts
    work: Path


@contextmanager
def _seeded_server(base_url: str, workers: int) -> Iterator[Seeded]:
    """`lineageql serve --workers N` on a fresh database, seeded through the SDK over HTTP."""
    work = Path(tempfile.mkdtemp(prefix="lineageql-load-"))
    with _fresh_database(base_url) as database_url:
        env = {
            **os.environ,
            "LINEAGEQL_HOME": str(work / "home"),
            "LINEAGEQL_DATABASE_URL": database_url,
            "LINEAGEQL_ARTIFACT_STORE": str(work / "store"),
            "PYTHONPATH": str(ROOT),
        }
        env.pop("LINEAGEQL_URL", None)
        with _server(env, workers, work / "server.log") as (url, server_pid):
            seed_env = {**env, "LINEAGEQL_URL": url}
            seed_env.pop("LINEAGEQL_DATABASE_URL")
            seeded = subprocess.run(
                [sys.executable, "-c", SEED], env=seed_env, capture_output=True, text=True
            )
            if seeded.returncode != 0:
                raise RuntimeError(f"seeding failed: {seeded.stderr[-3000:]}")
            ids = json.loads(seeded.stdout.strip().splitlines()[-1])
            yield Seeded(url, server_pid, ids, work)


def _auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def run_once(args: argparse.Namespace, base_url: str, workers: int, rep: int) -> RunFigures:
    token = os.environ.get("LINEAGEQL_TOKEN")
    with _seeded_server(base_url, workers) as server:
        cpu_before = _process_tree_cpu(server.server_pid)
        results = _load(args, server.url, server.ids, server.work, token, seed=rep * 10 + workers)
        server_cpu = _process_tree_cpu(server.server_pid) - cpu_before
        with httpx.Client(headers=_auth_headers(token), timeout=60) as http:
            lines, problems = verify(http, server.url, results)
    figures = _figures(args, workers, results, lines, problems)
    sent = sum(result.sent for result in results)
    figures.server_cpu_ms = server_cpu / sent * 1000
    figures.client_cpu_ms = sum(result.cpu_seconds for result in results) / sent * 1000
    return figures


def _load(
    args: argparse.Namespace,
    url: str,
    ids: dict[str, list[str]],
    work: Path,
    token: str | None,
    seed: int,
) -> list[ClientResult]:
    per_process = [args.clients // args.processes] * args.processes
    for i in range(args.clients % args.processes):
        per_process[i] += 1
    procs = []
    for i, clients in enumerate(per_process):
        plan = ClientPlan(
            url=url,
            clients=clients,
            duration=args.duration,
            warmup=args.warmup,
            max_requests=args.max_requests,
            seed=seed * 100 + i,
            runs=ids["runs"],
            lineage=ids["lineage"],
            store=str(work / "store"),
            token=token,
        )
        plan_path, out_path = work / f"plan{i}.json", work / f"out{i}.json"
        plan_path.write_text(json.dumps(plan.__dict__))
        argv = [sys.executable, __file__, "--client", str(plan_path), str(out_path)]
        procs.append((subprocess.Popen(argv), out_path))
    results = []
    for proc, out_path in procs:
        if proc.wait(timeout=args.duration + 300) != 0:
            raise RuntimeError(f"a client process failed (exit {proc.returncode})")
        results.append(ClientResult(**json.loads(out_path.read_text())))
    return results


def _figures(
    args: argparse.Namespace,
    workers: int,
    results: list[ClientResult],
    lines: list[str],
    problems: list[str],
) -> RunFigures:
    per_op = {}
    for op in OPERATIONS:
        values = [v for result in results for v in result.latencies[op]]
        per_op[op] = (
            len(values),
            _percentile(values, 0.50),
            _percentile(values, 0.95),
            _percentile(values, 0.99),
        )
    reads = [v for result in results for op in READS for v in result.latencies[op]]
    measured = sum(result.measured for result in results)
    samples = [s for result in results for s in result.error_samples][:5]
    return RunFigures(
        workers=workers,
        requests_per_s=measured / (args.duration - args.warmup),
        errors=sum(sum(result.errors.values()) for result in results),
        per_op=per_op,
        read_p99_ms=_percentile(reads, 0.99),
        verification=lines + [f"error sample: {s}" for s in samples],
        problems=problems,
    )


def _print_run(figures: RunFigures, args: argparse.Namespace) -> None:
    print(
        f"\n== --workers {figures.workers}: {args.clients} clients, {args.duration:.0f} s "
        f"({args.warmup:.0f} s warm-up not counted)"
    )
    print(
        f"requests/s {figures.requests_per_s:.1f}   errors {figures.errors}   CPU per request: "
        f"server {figures.server_cpu_ms:.1f} ms, load generator {figures.client_cpu_ms:.1f} ms"
    )
    print(f"{'operation':<18} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for op, (count, p50, p95, p99) in figures.per_op.items():
        print(f"{op:<18} {count:>7} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f}")
    print(f"{'all queries':<18} {'':>7} {'':>8} {'':>8} {figures.read_p99_ms:>8.1f}")
    for line in figures.verification:
        print(f"  {line}")
    print("  verification: " + ("OK" if not figures.problems else "FAILED"))
    for problem in figures.problems:
        print(f"  PROBLEM: {problem}")


def per_operation(args: argparse.Namespace, base_url: str) -> None:
    """Server CPU per request of each operation alone: one worker, one client, sequential
    requests (`--per-operation` of each after 30 untimed), on a freshly seeded database. What
    a request costs without the queueing and the switching of the concurrent run."""
    with _seeded_server(base_url, 1) as server:
        ids, url, store = server.ids, server.url, str(server.work / "store")
        plan = ClientPlan(url, 1, 0, 0, 0, 1, ids["runs"], ids["lineage"], store, None)
        rng = random.Random(1)
        headers = _auth_headers(os.environ.get("LINEAGEQL_TOKEN"))
        print("operation            server CPU ms/request   wall ms/request")
        with httpx.Client(headers=headers, timeout=60) as http:
            for op in OPERATIONS:
                for _ in range(30):
                    _post(http, url, *_variables(op, rng, plan))
                cpu, began = _process_tree_cpu(server.server_pid), time.perf_counter()
                for _ in range(args.per_operation):
                    _post(http, url, *_variables(op, rng, plan))
                cpu = (_process_tree_cpu(server.server_pid) - cpu) / args.per_operation * 1000
                wall = (time.perf_counter() - began) / args.per_operation * 1000
                print(f"{op:20s} {cpu:22.2f} {wall:17.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not counted")
    parser.add_argument("--max-requests", type=int, default=100_000, help="per client")
    parser.add_argument("--workers", default="2,1", help="worker counts to compare")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("LINEAGEQL_LOAD_DATABASE_URL"))
    parser.add_argument(
        "--per-operation",
        type=int,
        metavar="N",
        help="instead: N sequential requests of each operation alone, one worker, one client",
    )
    args = parser.parse_args()
    if args.per_operation:
        with _postgres(
            args.database_url, Path(tempfile.mkdtemp(prefix="lineageql-load-pg-"))
        ) as url:
            per_operation(args, url)
        return 0
    worker_counts = [int(n) for n in args.workers.split(",")]
    print(f"load test, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    runs: dict[int, list[RunFigures]] = {n: [] for n in worker_counts}
    failed = False
    with _postgres(args.database_url, Path(tempfile.mkdtemp(prefix="lineageql-load-pg-"))) as url:
        for rep in range(args.repeat):
            for workers in worker_counts:
                figures = run_once(args, url, workers, rep)
                _print_run(figures, args)
                runs[workers].append(figures)
                failed = failed or bool(figures.problems) or figures.errors > 0
    print(f"\n== medians of {args.repeat} run(s)")
    medians = {}
    for workers, repeated in runs.items():
        rps = statistics.median(f.requests_per_s for f in repeated)
        p99 = statistics.median(f.read_p99_ms for f in repeated)
        medians[workers] = (rps, p99)
        errors = sum(f.errors for f in repeated)
        server_cpu = statistics.median(f.server_cpu_ms for f in repeated)
        print(
            f"--workers {workers}: {rps:.1f} requests/s, p99 of queries {p99:.1f} ms, "
            f"errors {errors}, server CPU {server_cpu:.1f} ms per request"
        )
    if len(worker_counts) >= 2:
        first, second = worker_counts[0], worker_counts[1]
        ratio = medians[first][0] / medians[second][0]
        print(f"throughput ratio --workers {first} / --workers {second}: {ratio:.2f}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        client_main(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(main())
