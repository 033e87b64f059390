"""Synthetic lineage stores, built fast into a database migrated by `api.storage.migrate`.

    python bench/synthetic.py --kind chain --depth 1000 --url sqlite:///chain.db
    python bench/synthetic.py --kind fanout --width 10000 --url sqlite:///fanout.db
    python bench/synthetic.py --kind random --versions 100000 --url sqlite:///random.db

Rows are the ones the API writes when the SDK runs pipelines: same columns, same encodings
(naive-UTC timestamps `YYYY-MM-DD HH:MM:SS.ffffff` on SQLite, JSON text), automatic versions
"1", "2", … with `seq` equal to the number, each artifact's `version_seq`/`last_number`/
`updated_at` at its last version, `producer_step_run_id` on step outputs, one `step_inputs`/
`step_outputs` row per edge, every run and step COMPLETED, and timestamps increasing in the
order the API would have written the rows. Ids are uuid4-format strings drawn from a seeded
generator, so the same arguments give the same store.

How it is fast (1M versions, ~4.7M rows, in about a minute on 2 cores):

- SQLAlchemy Core bulk inserts: one executemany per table per transaction, a transaction per
  100,000 versions (with random uuid keys every commit rewrites most pages of the primary-key
  indexes, so 10,000-version transactions took 92 s for 1M versions against ~60 s);
- on SQLite the values are pre-encoded exactly as the column types encode them and go to the
  driver as tuples in the compiled INSERT's column order (the per-row parameter processing cost
  more than the insert); on other databases the model's own tables encode them;
- on SQLite, `synchronous=OFF`, `journal_mode=OFF` and a 4 GB page cache while building
  (journal_mode=WAL measured ~15 % slower: every page is written twice), the secondary indexes
  dropped and re-created from their own DDL at the end, foreign keys not enforced (the rows
  reference only rows of the same build); the file is left in WAL mode, as the API keeps it.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine, TableClause, bindparam, column, create_engine, event, table
from sqlalchemy import Table as ModelTable

from api.storage.engine import sync_url
from api.storage.migrate import upgrade
from api.storage.models import Base

CHUNK = 100_000  # versions per transaction (see `Writer.flush`)
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
TABLE_ORDER = (  # parents first: PostgreSQL checks foreign keys at every insert
    "pipelines",
    "artifacts",
    "pipeline_runs",
    "step_runs",
    "artifact_versions",
    "step_inputs",
    "step_outputs",
)
DATASET_TYPE = ("pandas.core.frame:DataFrame", "sdk.materializers.pandas:PandasMaterializer")
OUTPUT_TYPE = ("builtins:int", "sdk.materializers.builtin:BuiltInMaterializer")
SQLITE_BUILD_PRAGMAS = (
    "PRAGMA journal_mode = OFF",  # the API's connections put it back in WAL mode
    "PRAGMA synchronous = OFF",
    "PRAGMA cache_size = -4000000",  # 4 GB while building; later connections use the default
    "PRAGMA temp_store = MEMORY",
)


# ---------------------------------------------------------------------------------------------
# Values: ids, clock, encodings


class Ids:
    """uuid4-format strings from a seeded generator (version 4, RFC 4122 variant)."""

    def __init__(self, rng: random.Random) -> None:
        self._bits = rng.getrandbits

    def __call__(self) -> str:
        h = f"{self._bits(128):032x}"
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"

    def hex(self, bits: int) -> str:
        return f"{self._bits(bits):0{bits // 4}x}"


class Clock:
    """Strictly increasing timestamps, one per event, encoded for the target database."""

    def __init__(self, sqlite: bool, step_us: int = 997) -> None:
        self._sqlite = sqlite
        self._step = step_us
        self._us = 0
        self._second = -1
        self._prefix = ""

    def tick(self) -> Any:
        self._us += self._step
        seconds, micro = divmod(self._us, 1_000_000)
        if not self._sqlite:
            return EPOCH + timedelta(microseconds=self._us)
        if seconds != self._second:  # the formatted second changes once per ~1000 ticks
            self._second = seconds
            self._prefix = f"{EPOCH + timedelta(seconds=seconds):%Y-%m-%d %H:%M:%S}"
        return f"{self._prefix}.{micro:06d}"


def _untyped_tables() -> dict[str, TableClause]:
    """The store's tables as plain column lists: values pass through to the driver as given."""
    return {
        name: table(name, *(column(c.name) for c in Base.metadata.tables[name].columns))
        for name in TABLE_ORDER
    }


def _model_tables() -> dict[str, ModelTable]:
    return {name: Base.metadata.tables[name] for name in TABLE_ORDER}


# ---------------------------------------------------------------------------------------------
# The writer: buffers rows and flushes them in bulk


@dataclass
class ArtifactState:
    id: str
    name: str
    created_at: Any
    updated_at: Any = None
    seq: int = 0


@dataclass
class Writer:
    """Appends store rows as the API would write them; flushes every CHUNK versions."""

    engine: Engine
    seed: int
    store: str = "synthetic-store"
    versions: int = 0
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    artifacts: dict[str, ArtifactState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sqlite = self.engine.dialect.name == "sqlite"
        self.tables: dict[str, TableClause] = (
            _untyped_tables() if self.sqlite else dict(_model_tables())
        )
        self.ids = Ids(random.Random(self.seed))
        self.clock = Clock(self.sqlite)
        self._no_parameters = self.json({})
        self.rows = {name: [] for name in TABLE_ORDER}
        self._inserts: dict[str, tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]]]] = {}
        self._unflushed = 0
        self._new_artifacts: list[ArtifactState] = []

    def _compiled_insert(
        self, name: str, columns: list[str]
    ) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]]]:
        """The INSERT of these columns of `name` (the others take their NULL default: a new NOT
        NULL column fails loudly), and the row-to-tuple getter in its order."""
        if name not in self._inserts:
            given = set(columns)
            columns = [c.name for c in self.tables[name].columns if c.name in given]
            if len(columns) != len(given):
                raise ValueError(f"{name} has no column(s) {given - set(columns)}")
            statement = self.tables[name].insert().values({c: None for c in columns})
            sql = str(statement.compile(dialect=self.engine.dialect))
            self._inserts[name] = (sql, itemgetter(*columns))
        return self._inserts[name]

    def json(self, value: dict[str, Any]) -> Any:
        return json.dumps(value) if self.sqlite else value

    def metadata(self, size: int) -> Any:
        return f'{{"storage_size": {size}}}' if self.sqlite else {"storage_size": size}

    def pipeline(self, name: str) -> str:
        pipeline_id = self.ids()
        self.rows["pipelines"].append(
            {"id": pipeline_id, "name": name, "created_at": self.clock.tick()}
        )
        return pipeline_id

    def artifact(self, name: str) -> ArtifactState:
        state = self.artifacts.get(name)
        if state is None:
            state = self.artifacts[name] = ArtifactState(self.ids(), name, self.clock.tick())
            self._new_artifacts.append(state)
        return state

    def version(
        self,
        name: str,
        *,
        producer: str | None,
        kind: tuple[str, str] = OUTPUT_TYPE,
        source: str = "STEP_OUTPUT",
        path: str = "data",
    ) -> str:
        """A new automatic version of artifact `name` (created if missing); its id."""
        art = self.artifact(name)
        art.seq += 1
        version_id = self.ids()
        size = 1 + (self.versions % 4096)
        art.updated_at = self.clock.tick()
        self.rows["artifact_versions"].append(
            {
                "id": version_id,
                "artifact_id": art.id,
                "seq": art.seq,
                "version": str(art.seq),
                "is_custom": False,
                "uri": f"{self.store}/{path}/{self.ids.hex(128)}/",
                "data_type": kind[0],
                "materializer": kind[1],
                "content_hash": self.ids.hex(256),
                "size_bytes": size,
                "metadata": self.metadata(size),
                "source": source,
                "producer_step_run_id": producer,
                "created_at": self.clock.tick(),
            }
        )
        self.versions += 1
        self._unflushed += 1
        return version_id

    def step(
        self,
        run_id: str,
        name: str,
        inputs: Sequence[tuple[str, str]],
        outputs: Sequence[tuple[str, str]],
    ) -> tuple[str, list[str]]:
        """A completed step run consuming `inputs` (input name, version id) and producing one
        version per (output name, artifact name); its id and the new version ids."""
        step_id = self.ids()
        started = self.clock.tick()
        for input_name, version_id in inputs:
            self.rows["step_inputs"].append(
                {
                    "step_run_id": step_id,
                    "name": input_name,
                    "artifact_version_id": version_id,
                    "created_at": self.clock.tick(),
                }
            )
        produced = []
        for output_name, artifact_name in outputs:
            version_id = self.version(artifact_name, producer=step_id, path=f"{name}/{output_name}")
            produced.append(version_id)
            self.rows["step_outputs"].append(
                {
                    "step_run_id": step_id,
                    "name": output_name,
                    "artifact_version_id": version_id,
                    "created_at": self.clock.tick(),
                }
            )
        self.rows["step_runs"].append(
            {
                "id": step_id,
                "run_id": run_id,
                "name": name,
                "status": "COMPLETED",
                "parameters": self._no_parameters,
                "code_hash": None,
                "cache_key": None,
                "original_step_run_id": None,
                "started_at": started,
                "ended_at": self.clock.tick(),
                "error": None,
            }
        )
        return step_id, produced

    def run_row(self, run_id: str, pipeline_id: str, name: str, started: Any) -> None:
        """The finished pipeline run (written when it ends, as its `ended_at` is known)."""
        self.rows["pipeline_runs"].append(
            {
                "id": run_id,
                "pipeline_id": pipeline_id,
                "name": name,
                "status": "COMPLETED",
                "started_at": started,
                "ended_at": self.clock.tick(),
                "error": None,
            }
        )

    @contextmanager
    def run(self, pipeline_id: str, name: str) -> Iterator[str]:
        run_id, started = self.ids(), self.clock.tick()
        yield run_id
        self.run_row(run_id, pipeline_id, name, started)
        if self._unflushed >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Write everything buffered in one transaction. Called between runs only, so every
        row's references are written by then or in this same flush."""
        self.rows["artifacts"] = [self._artifact_row(a) for a in self._new_artifacts]
        self._new_artifacts.clear()
        with self.engine.begin() as conn:
            for name in TABLE_ORDER:
                rows = self.rows[name]
                if not rows:
                    continue
                if self.sqlite:  # already encoded: hand the driver tuples in column order
                    sql, order = self._compiled_insert(name, list(rows[0]))
                    conn.exec_driver_sql(sql, list(map(order, rows)))
                else:
                    conn.execute(self.tables[name].insert(), rows)
                rows.clear()
        self._unflushed = 0

    @staticmethod
    def _artifact_row(art: ArtifactState) -> dict[str, Any]:
        return {
            "id": art.id,
            "name": art.name,
            "created_at": art.created_at,
            "updated_at": art.updated_at or art.created_at,
            "version_seq": art.seq,
            "last_number": art.seq,
        }

    def close(self) -> None:
        """Write what is still buffered, then every artifact's final counters."""
        self.flush()
        artifacts = self.tables["artifacts"]
        stmt = (
            artifacts.update()
            .where(artifacts.c.id == bindparam("b_id"))
            .values(
                version_seq=bindparam("b_seq"),
                last_number=bindparam("b_seq"),
                updated_at=bindparam("b_updated"),
            )
        )
        final = [
            {"b_id": a.id, "b_seq": a.seq, "b_updated": a.updated_at or a.created_at}
            for a in self.artifacts.values()
        ]
        with self.engine.begin() as conn:
            conn.execute(stmt, final)


# ---------------------------------------------------------------------------------------------
# Database set-up


def build_engine(url: str) -> Engine:
    """A migrated database and a blocking engine tuned for bulk loading."""
    upgrade(url)
    engine = create_engine(sync_url(url))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_BUILD_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

    return engine


@contextmanager
def deferred_indexes(engine: Engine) -> Iterator[None]:
    """On SQLite, drop the secondary indexes of the store's tables while loading and create them
    again from their own DDL afterwards (one sorted build beats a million random inserts)."""
    if engine.dialect.name != "sqlite":
        yield
        return
    names = ", ".join(f"'{name}'" for name in TABLE_ORDER)
    with engine.begin() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master "
            f"WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({names})"
        ).all()
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    with engine.begin() as conn:
        for _, sql in indexes:
            conn.exec_driver_sql(sql)


@contextmanager
def writer(url: str, seed: int) -> Iterator[Writer]:
    engine = build_engine(url)
    try:
        w = Writer(engine, seed)
        with deferred_indexes(engine):
            yield w
            w.close()
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode = WAL")
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# Shapes


@dataclass(frozen=True)
class Chain:
    tail: str
    root: str


def build_chain(url: str, depth: int = 1000, seed: int = 0) -> Chain:
    """One run of `depth` steps: step i consumes version i-1 and produces version i; version 0
    is a saved dataset. The upstream of the tail is depth + 1 versions, depth steps and
    2 * depth edges."""
    with writer(url, seed) as w:
        pipeline_id = w.pipeline("chain")
        with w.run(pipeline_id, "chain-run-0") as run_id:
            root = previous = w.version(
                "chain::dataset", producer=None, kind=DATASET_TYPE, source="SAVED"
            )
            for i in range(1, depth + 1):
                step = f"step_{i}"
                _, (previous,) = w.step(
                    run_id, step, [("data", previous)], [("output", f"chain::{step}::output")]
                )
    return Chain(tail=previous, root=root)


def build_fanout(url: str, width: int = 10_000, seed: int = 0, steps_per_run: int = 100) -> str:
    """One saved dataset version consumed by `width` step runs (runs of `steps_per_run` steps),
    each producing one version; returns the dataset version's id."""
    with writer(url, seed) as w:
        pipeline_id = w.pipeline("fanout")
        root = w.version("fanout::dataset", producer=None, kind=DATASET_TYPE, source="SAVED")
        runs = -(-width // steps_per_run)
        for r in range(runs):
            with w.run(pipeline_id, f"fanout-run-{r}") as run_id:
                for i in range(min(steps_per_run, width - r * steps_per_run)):
                    step = f"train_{i}"
                    w.step(run_id, step, [("data", root)], [("model", f"fanout::{step}::model")])
    return root


@dataclass(frozen=True)
class StepTemplate:
    name: str
    inputs: tuple[tuple[str, int], ...]  # (input name, index in the run's available versions)
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class PipelineTemplate:
    name: str
    steps: tuple[StepTemplate, ...]


def pipeline_templates(rng: random.Random, count: int) -> list[PipelineTemplate]:
    """`count` pipelines of 5-20 steps; each step consumes 1-3 versions available earlier in
    the run (index 0 is the run's source dataset) and produces 1-2 versions."""
    templates = []
    for p in range(count):
        available = 1
        steps = []
        for s in range(rng.randint(5, 20)):
            picks = rng.sample(range(available), rng.randint(1, min(3, available)))
            outputs = ("output",) if rng.random() < 0.6 else ("output_0", "output_1")
            steps.append(
                StepTemplate(
                    name=f"step_{s}",
                    inputs=tuple((f"in_{k}", index) for k, index in enumerate(sorted(picks))),
                    outputs=outputs,
                )
            )
            available += len(outputs)
        templates.append(PipelineTemplate(name=f"pipeline_{p}", steps=tuple(steps)))
    return templates


@dataclass
class RandomDags:
    """Repeated runs of a fixed set of pipelines. A run's source is a new version of its
    dataset, or (cross-pipeline, `cross` of the runs) a recent version of another run; each step
    also takes an extra recent version of another run with probability `extra`. "Recent" is a
    window of the last `window` versions, so every version's consumers stay bounded whatever
    the store size: the graph around a version looks the same at 10k and at 1M versions."""

    target: int
    seed: int = 0
    pipelines: int = 50
    cross: float = 0.2
    extra: float = 0.05
    window: int = 2000
    sample_size: int = 100
    sample: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.templates = pipeline_templates(random.Random(self.seed + 1), self.pipelines)
        picker = random.Random(self.seed + 2)
        size = min(self.sample_size, self.target)
        self._sample_at = set(picker.sample(range(self.target), size))
        self.recent: deque[str] = deque(maxlen=self.window)

    def build(self, url: str) -> list[str]:
        with writer(url, self.seed) as w:
            pipeline_ids = [w.pipeline(t.name) for t in self.templates]
            n = 0
            while w.versions < self.target:
                index = self.rng.randrange(len(self.templates))
                template = self.templates[index]
                with w.run(pipeline_ids[index], f"{template.name}-run-{n}") as run_id:
                    self._run(w, template, run_id)
                n += 1
        return self.sample

    def _keep(self, w: Writer, version_ids: Sequence[str]) -> None:
        """Note the versions just written whose position was drawn for the sample."""
        first = w.versions - len(version_ids)
        for offset, version_id in enumerate(version_ids):
            if first + offset in self._sample_at:
                self.sample.append(version_id)

    def _source(self, w: Writer, template: PipelineTemplate) -> str:
        if self.recent and self.rng.random() < self.cross:
            return self.recent[self.rng.randrange(len(self.recent))]
        version_id = w.version(
            f"{template.name}::dataset", producer=None, kind=DATASET_TYPE, source="EXTERNAL"
        )
        self._keep(w, [version_id])
        return version_id

    def _run(self, w: Writer, template: PipelineTemplate, run_id: str) -> None:
        available = [self._source(w, template)]
        produced: list[str] = []
        for step in template.steps:
            room = self.target - w.versions
            if room <= 0:
                break
            inputs = [(name, available[i]) for name, i in step.inputs]
            if self.recent and self.rng.random() < self.extra:
                extra = self.recent[self.rng.randrange(len(self.recent))]
                if extra not in (version_id for _, version_id in inputs):  # one edge per pair
                    inputs.append(("extra", extra))
            outputs = [(o, f"{template.name}::{step.name}::{o}") for o in step.outputs[:room]]
            _, new = w.step(run_id, step.name, inputs, outputs)
            self._keep(w, new)
            available.extend(new)
            produced.extend(new)
        self.recent.extend(produced)


def build_random_dags(url: str, versions: int, seed: int = 0, sample_size: int = 100) -> list[str]:
    """Random pipeline DAGs filling the store to exactly `versions` artifact versions; returns
    `sample_size` version ids drawn uniformly (seeded) from all of them."""
    return RandomDags(target=versions, seed=seed, sample_size=sample_size).build(url)


# ---------------------------------------------------------------------------------------------
# Command line


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return {
                name: int(conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one())
                for name in TABLE_ORDER
            }
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("chain", "fanout", "random"), required=True)
    parser.add_argument("--url", required=True, help="database URL, e.g. sqlite:///store.db")
    parser.add_argument("--depth", type=int, default=1000)
    parser.add_argument("--width", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result: object
    if args.kind == "chain":
        result = build_chain(args.url, args.depth, args.seed)
    elif args.kind == "fanout":
        result = build_fanout(args.url, args.width, args.seed)
    else:
        result = build_random_dags(args.url, args.versions, args.seed)[:5]
    elapsed = time.perf_counter() - start
    print(f"built {args.kind} in {elapsed:.1f} s: {_counts(args.url)}")
    print(f"ids: {result}")


if __name__ == "__main__":
    main()
