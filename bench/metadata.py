"""Metadata filter figures: a filter plus a sort by logged metadata over many versions,
LineageQL next to ZenML 0.98 on the same data.

    .venv/bin/python bench/metadata.py [--count 100000] [--runs 20] [--zenml-count 10000]
                                       [--skip-zenml] [--database-url URL]

LineageQL: `--count` artifact versions (100 artifacts) each with logged metadata `accuracy` (a
number in [0, 1)) and `stage`, written straight into a fresh database (SQLite in a temporary
directory, or `--database-url`) after its migrations, in bulk; then, median of `--runs` after
one untimed call, in this process:

1. GraphQL through the schema (`api.LocalExecutor`): `artifactVersions(filter: {metadata:
   [{key: "accuracy", op: GT, value: 0.9}]}, orderBy: {metadata: "accuracy", desc: true},
   first: 50)`, ids, names and versions;
2. the same through the SDK: `Client().list_artifact_versions(metadata={"accuracy":
   "gt:0.9"}, sort_by="desc:metadata:accuracy", limit=50)`, ArtifactVersion objects;
3. the second page of (1), after the first page's end cursor;
4. the filter alone in creation order (what ZenML answers, below).

ZenML 0.98 (its own virtualenv, bench/peers/zenml_env.py) is seeded through its store API with
`--zenml-count` versions with the same values (bench/peers/zenml_metadata.py; its batch API
registers about 16 versions a second here, so 100,000 would take close to two hours), then
times `Client().list_artifact_versions(run_metadata="accuracy:gt:0.9", sort_by="desc:created",
size=50)` (ZenML sorts by its own columns, not by a metadata value). LineageQL is measured at
that count too, so the two are side by side on the same data.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

QUERY = """
query ($first: Int, $after: String, $order: MetadataOrder, $filter: ArtifactVersionFilter) {
  artifactVersions(filter: $filter, orderBy: $order, first: $first, after: $after) {
    edges { node { id name version } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
FILTER = {"metadata": [{"key": "accuracy", "op": "GT", "value": 0.9}]}
ORDER = {"metadata": "accuracy", "desc": True}
ARTIFACTS = 100
CHUNK = 5_000


def accuracy(i: int) -> float:
    """Version i's accuracy (bench/peers/zenml_metadata.py seeds ZenML with the same)."""
    return round(random.Random(i).random(), 4)


def seed(database_url: str, count: int) -> None:
    """`count` versions of ARTIFACTS artifacts, each with `accuracy` and `stage` logged, written
    in bulk (what registering them one by one would leave in the tables)."""
    from sqlalchemy import create_engine, insert

    import api
    from api.storage import models
    from api.storage.base import new_id
    from api.storage.engine import sync_url
    from api.storage.metadata import MetadataType, MetadataValue, sort_columns

    api.upgrade_database(database_url)
    engine = create_engine(sync_url(database_url))
    start = datetime.now(UTC) - timedelta(days=1)
    artifact_ids = [new_id() for _ in range(ARTIFACTS)]
    with engine.begin() as conn:
        conn.execute(
            insert(models.Artifact.__table__),
            [
                {
                    "id": aid,
                    "name": f"model_{n}",
                    "created_at": start,
                    "updated_at": start,
                    "version_seq": count // ARTIFACTS + 1,
                    "last_number": count // ARTIFACTS + 1,
                }
                for n, aid in enumerate(artifact_ids)
            ],
        )
        for first in range(0, count, CHUNK):
            versions, values = [], []
            for i in range(first, min(first + CHUNK, count)):
                vid = new_id()
                number = i // ARTIFACTS + 1
                versions.append(
                    {
                        "id": vid,
                        "artifact_id": artifact_ids[i % ARTIFACTS],
                        "seq": number,
                        "version": str(number),
                        "is_custom": False,
                        "uri": f"bench/{vid}/",
                        "data_type": "builtins.float",
                        "materializer": "sdk.materializers.builtin.BuiltInMaterializer",
                        "content_hash": None,
                        "size_bytes": 8,
                        "metadata": {},
                        "source": "SAVED",
                        "created_at": start + timedelta(microseconds=i),
                    }
                )
                for key, value, kind in (
                    ("accuracy", accuracy(i), MetadataType.FLOAT),
                    ("stage", "prod" if i % 3 else "dev", MetadataType.STRING),
                ):
                    group, number_value, text = sort_columns(MetadataValue(key, value, kind))
                    values.append(
                        {
                            "owner_id": vid,
                            "key": key,
                            "value": value,
                            "type": kind.value,
                            "sort_group": group,
                            "num_value": number_value,
                            "text_value": text,
                            "logged_at": start,
                        }
                    )
            conn.execute(insert(models.ArtifactVersion.__table__), versions)
            conn.execute(insert(models.VersionRunMetadata.__table__), values)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    engine.dispose()


def median_ms(call: Callable[[], Any], runs: int) -> float:
    call()  # untimed: caches warm, statements prepared
    times = []
    for _ in range(runs):
        clock = time.perf_counter()
        call()
        times.append((time.perf_counter() - clock) * 1000)
    return statistics.median(times)


def measure_lineageql(database_url: str, home: Path, count: int, runs: int) -> dict[str, Any]:
    import api
    from sdk import Client

    started = time.perf_counter()
    seed(database_url, count)
    seeded = time.perf_counter() - started
    settings = api.Settings(
        home=home, database_url=database_url, artifact_store=str(home / "store")
    )
    executor = api.LocalExecutor(settings)
    variables = {"first": 50, "filter": FILTER, "order": ORDER}

    def graphql() -> dict[str, Any]:
        answer: dict[str, Any] = executor.execute(QUERY, variables)
        assert "errors" not in answer, answer
        return answer["data"]["artifactVersions"]

    first_page = graphql()
    expected = sorted((accuracy(i) for i in range(count) if accuracy(i) > 0.9), reverse=True)
    assert len(first_page["edges"]) == min(50, len(expected))
    cursor = first_page["pageInfo"]["endCursor"]

    def second_page() -> None:
        answer = executor.execute(QUERY, {**variables, "after": cursor})
        assert "errors" not in answer and len(answer["data"]["artifactVersions"]["edges"]) > 0

    def filter_only() -> None:
        answer = executor.execute(QUERY, {"first": 50, "filter": FILTER})
        assert "errors" not in answer

    client = Client.from_env(
        {
            "LINEAGEQL_HOME": str(home),
            "LINEAGEQL_DATABASE_URL": database_url,
            "LINEAGEQL_ARTIFACT_STORE": str(home / "store"),
        }
    )

    def sdk() -> None:
        found = client.list_artifact_versions(
            metadata={"accuracy": "gt:0.9"}, sort_by="desc:metadata:accuracy", limit=50
        )
        assert len(found) == min(50, len(expected))

    try:
        return {
            "count": count,
            "matching": len(expected),
            "seed_seconds": seeded,
            "graphql_ms": median_ms(graphql, runs),
            "sdk_ms": median_ms(sdk, runs),
            "second_page_ms": median_ms(second_page, runs),
            "filter_only_ms": median_ms(filter_only, runs),
        }
    finally:
        client.close()
        executor.close()


def measure_zenml(count: int, runs: int, home: Path) -> dict[str, Any]:
    from peers.zenml_env import ensure_zenml_venv, zenml_environ

    python = ensure_zenml_venv()
    script = ROOT / "bench" / "peers" / "zenml_metadata.py"
    done = subprocess.run(
        [str(python), str(script), str(count), str(runs)],
        env=zenml_environ(home),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--zenml-count", type=int, default=10_000)
    parser.add_argument("--skip-zenml", action="store_true")
    parser.add_argument("--database-url", help="an empty database to seed (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        def url(name: str) -> str:
            return args.database_url or f"sqlite:///{root / name}.db"

        rows = [measure_lineageql(url("big"), root / "big", args.count, args.runs)]
        if not args.skip_zenml and args.zenml_count != args.count and not args.database_url:
            rows.append(measure_lineageql(url("peer"), root / "peer", args.zenml_count, args.runs))
        zenml = None if args.skip_zenml else measure_zenml(args.zenml_count, args.runs, root)
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"LineageQL ({database}, in-process), median of {args.runs} runs, first page of 50:")
    for row in rows:
        print(
            f"  {row['count']:>7,} versions ({row['matching']:,} with accuracy > 0.9, seeded in "
            f"{row['seed_seconds']:.1f} s): filter + sort GraphQL {row['graphql_ms']:.2f} ms, "
            f"SDK {row['sdk_ms']:.2f} ms, second page {row['second_page_ms']:.2f} ms, "
            f"filter alone (creation order) {row['filter_only_ms']:.2f} ms"
        )
    if zenml is not None:
        print(
            f"ZenML 0.98 (SQLite, in-process), median of {zenml['runs']} runs: "
            f"{zenml['count']:,} versions (seeded through its store API in "
            f"{zenml['seed_seconds']:.0f} s), list_artifact_versions(run_metadata="
            f"'accuracy:gt:0.9', sort_by='desc:created', size=50) {zenml['median_ms']:.1f} ms "
            f"({zenml['total']:,} matching)"
        )
    else:
        print("ZenML: not run (--skip-zenml)")


if __name__ == "__main__":
    main()
