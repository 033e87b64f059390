"""ZenML's side of the in-process cases, run in the peer's virtualenv (`run_worker`).

    <peer python> zenml_worker.py CASE '{"param": ...}'

The same work as `bench/cases/lineageql_worker.py`, written as a ZenML user writes it. Prints
`RESULT <json>` as its last line.

The consumers case needs 590 pipeline runs. A ZenML run of a one-step pipeline takes about
1.3 s here, so 590 real runs would take 13 minutes on their own; the worker runs `real` of them
for real and then copies their rows (`clone_runs`): each copy is a real run's rows (run, step
run, its input and output links, output artifact version, step configuration, logs, metadata)
with new ids, its input pointed at the version it reads and its output given the next version
number. The question is then asked through ZenML's client, as a user would.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cases"))

import workload  # noqa: E402
from zenml import load_artifact, pipeline, save_artifact, step  # noqa: E402
from zenml.client import Client  # noqa: E402
from zenml.utils.pagination_utils import depaginate  # noqa: E402


@step
def consume(x: int) -> int:
    return x + 1


@pipeline(name="consumer", enable_cache=False)
def consumer(version: str = "1") -> None:
    consume(Client().get_artifact_version("dataset", version))


def small(params: dict[str, Any]) -> Any:
    return workload.small(save_artifact, load_artifact, params["runs"])


def large(params: dict[str, Any]) -> Any:
    return workload.large(
        lambda data, name: save_artifact(data, name).id,
        lambda ref: load_artifact(ref),
        params,
        Path(params["folder"]),
    )


def versions(params: dict[str, Any]) -> Any:
    client = Client()

    def listing(name: str) -> int:
        return len(client.list_artifact_versions(artifact=name, size=params["count"]).items)

    return workload.versions(save_artifact, listing, params["count"], params["runs"])


def consumers(params: dict[str, Any]) -> Any:
    """As LineageQL's; the consumers are found the way ZenML offers: scan the step runs
    (hydrated, the largest page) for the ones with the version among their inputs."""
    start = time.perf_counter()
    for i in range(params["versions"]):
        save_artifact(i, "dataset")
    real = min(params["real"], params["runs"])
    for i in range(real):
        consumer(version=str(i % params["versions"] + 1))
    client = Client()
    ids = [client.get_artifact_version("dataset", str(v + 1)).id for v in range(params["versions"])]
    clone_runs(_database(), real, params["runs"], [i.hex for i in ids])
    build = time.perf_counter() - start

    def query() -> int:
        target = client.get_artifact_version("dataset", "1").id
        steps = depaginate(client.list_run_steps, hydrate=True, size=1000)
        found = [
            s
            for s in steps
            if any(
                version.id == target
                for value in s.inputs.values()
                for version in (value if isinstance(value, list) else [value])
            )
        ]
        return len(found)

    count = query()
    times = [workload.timed(query) for _ in range(params["repeat"])]
    return {"build": build, "count": count, "query": times}


def _database() -> Path:
    url = Client().zen_store.config.url
    return Path(url.removeprefix("sqlite:///"))


# Tables holding rows of a run, in an order that copies referenced rows first.
_CHILDREN = (
    "step_configuration",
    "step_run_input_artifact",
    "step_run_output_artifact",
    "artifact_visualization",
    "logs",
    "run_metadata",
    "run_metadata_resource",
)


def clone_runs(db: Path, real: int, total: int, inputs: list[str]) -> None:
    """Copy the `real` runs of `consumer` until it has `total`; copy k reads `inputs[k % n]`."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    runs = con.execute(
        "SELECT r.* FROM pipeline_run r JOIN pipeline p ON r.pipeline_id = p.id"
        " WHERE p.name = 'consumer' ORDER BY r.`index`"
    ).fetchall()
    if len(runs) != real:
        raise AssertionError(f"expected {real} runs of consumer, found {len(runs)}")
    for k in range(real, total):
        template = runs[k % real]
        mapping: dict[str, Any] = {template["id"]: uuid.uuid4().hex}
        steps = con.execute(
            "SELECT * FROM step_run WHERE pipeline_run_id = ?", (template["id"],)
        ).fetchall()
        mapping.update({s["id"]: uuid.uuid4().hex for s in steps})
        step_ids = [s["id"] for s in steps]
        marks = ",".join("?" * len(step_ids))
        redirect = {
            link["artifact_id"]: inputs[k % len(inputs)]
            for link in con.execute(
                f"SELECT * FROM step_run_input_artifact WHERE step_id IN ({marks})", step_ids
            )
        }
        outputs = con.execute(
            "SELECT v.* FROM artifact_version v JOIN step_run_output_artifact o"
            f" ON o.artifact_id = v.id WHERE o.step_id IN ({marks})",
            step_ids,
        ).fetchall()
        run = dict(template)
        run.update(
            id=mapping[run["id"]],
            name=f"{run['name']}-copy-{k}",
            index=k + 1,
            orchestrator_run_id=str(uuid.uuid4()),
        )
        _insert(con, "pipeline_run", _remap(run, mapping, redirect))
        for row in steps:
            _insert(con, "step_run", _remap(dict(row), mapping, redirect))
        for row in outputs:
            version = dict(row)
            (last,) = con.execute(
                "SELECT max(version_number) FROM artifact_version WHERE artifact_id = ?",
                (version["artifact_id"],),
            ).fetchone()
            number = last + 1
            mapping[version["id"]] = uuid.uuid4().hex
            version.update(version=str(number), version_number=number)
            version["uri"] = f"{version['uri']}-copy-{k}"
            _insert(con, "artifact_version", _remap(version, mapping, redirect))
        for table in _CHILDREN:
            _copy_children(con, table, mapping, redirect)
    con.commit()
    con.close()


def _copy_children(
    con: sqlite3.Connection, table: str, mapping: dict[str, Any], redirect: dict[str, Any]
) -> None:
    """Copy the rows of `table` that belong to a copied row (`mapping`: old id -> new id)."""
    columns = [c[1] for c in con.execute(f"PRAGMA table_info({table})")]
    keys = [c for c in columns if c != "id" and c.endswith("_id")]
    olds = list(mapping)
    marks = ",".join("?" * len(olds))
    where = " OR ".join(f"{key} IN ({marks})" for key in keys)
    rows = con.execute(f"SELECT * FROM {table} WHERE {where}", olds * len(keys)).fetchall()
    for row in rows:
        copy = dict(row)
        if "id" in copy:
            mapping[copy["id"]] = uuid.uuid4().hex
        _insert(con, table, _remap(copy, mapping, redirect))


def _remap(
    row: dict[str, Any], mapping: dict[str, Any], redirect: dict[str, Any]
) -> dict[str, Any]:
    """`row` with its ids replaced: copied rows by their copies, the input by its target."""
    ids = {**redirect, **mapping}
    return {
        key: ids.get(value, value) if key == "id" or key.endswith("_id") else value
        for key, value in row.items()
    }


def _insert(con: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    names = ", ".join(f"`{name}`" for name in row)
    con.execute(
        f"INSERT INTO {table} ({names}) VALUES ({','.join('?' * len(row))})", list(row.values())
    )


CASES = {"small": small, "large": large, "versions": versions, "consumers": consumers}

if __name__ == "__main__":
    result = CASES[sys.argv[1]](json.loads(sys.argv[2]))
    print("RESULT " + json.dumps(result))
