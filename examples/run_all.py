"""Run every example in order, then summarise the store: each artifact and its versions.

Exits with status 1 when an example fails (the others still run). `make demo` runs this, then
serves GraphiQL over the same store.

    python examples/run_all.py
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # imported from elsewhere: make the sibling examples importable
    sys.path.insert(0, str(HERE))

import checkpoints  # noqa: E402
import custom_version  # noqa: E402
import digits_svc  # noqa: E402
import fine_tuning  # noqa: E402
import iris  # noqa: E402
import predictions  # noqa: E402
import split  # noqa: E402

from sdk import Client  # noqa: E402

EXAMPLES: list[tuple[str, Callable[[], Any]]] = [
    ("iris", iris.main),
    ("custom_version", custom_version.main),
    ("split", split.main),
    ("digits_svc", digits_svc.main),
    ("fine_tuning", fine_tuning.main),
    ("predictions", predictions.main),  # uses the model fine_tuning trained
    ("checkpoints", checkpoints.main),
]


def store_description() -> str:
    url = os.environ.get("LINEAGEQL_URL")
    if url:
        return f"server {url}"
    home = Path(os.environ.get("LINEAGEQL_HOME") or ".lineageql").expanduser().absolute()
    return f"embedded store {home}"


def summary(client: Client) -> None:
    artifacts = client.list_artifacts()
    print(f"\n{len(artifacts)} artifacts in the {store_description()}:")
    for artifact in artifacts:
        versions = [v.version for v in artifact.versions]
        shown = ", ".join(versions) if len(versions) <= 8 else ", ".join(["…", *versions[-8:]])
        plural = "" if len(versions) == 1 else "s"
        print(f"  {artifact.name}: {len(versions)} version{plural} ({shown})")
    statuses = Counter(run.status for run in client.list_pipeline_runs())
    counts = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    print(f"{statuses.total()} pipeline runs: {counts}")


def main() -> int:
    """Run the examples; 0 when all of them succeeded, else 1."""
    failed: list[str] = []
    for name, run_example in EXAMPLES:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            run_example()
        except Exception:  # report every failing example, then fail at the end
            traceback.print_exc()
            failed.append(name)
            print(f"=== {name} FAILED ===", flush=True)
        else:
            print(f"=== {name} done in {time.perf_counter() - started:.1f}s ===", flush=True)
    try:
        summary(Client())
    except Exception:
        traceback.print_exc()
        failed.append("summary")
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("\nall examples succeeded")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per request to a server
    sys.exit(main())
