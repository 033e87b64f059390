"""The data and the timing loops shared by both sides' in-process workers.

Imported by `bench/cases/lineageql_worker.py` (project virtualenv) and by
`bench/peers/zenml_worker.py` (the ZenML peer's virtualenv), so it needs only the standard
library, NumPy, pandas and pyarrow. A worker hands in `save(data, name) -> ref` and
`load(ref) -> data`; everything else (the data, the raw floor, the order of the calls, the
equality check) is the same for both sides.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

SMALL = {"learning_rate": 0.01, "epochs": 10, "layers": [64, 32, 16], "optimizer": "adam"}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def small(save: Callable[[Any, str], Any], load: Callable[[str], Any], runs: int) -> Any:
    """`runs` saves of a small dict as new versions of one artifact, then `runs` loads of the
    latest by name; one untimed call of each first."""
    save(SMALL, "small_dict")
    if load("small_dict") != SMALL:
        raise AssertionError("the small dict did not round-trip")
    saves = [timed(lambda: save(SMALL, "small_dict")) for _ in range(runs)]
    loads = [timed(lambda: load("small_dict")) for _ in range(runs)]
    return {"save": saves, "load": loads}


def make_array(megabytes: float) -> Any:
    import numpy as np

    return np.random.default_rng(0).random(int(megabytes * 1e6) // 8)


def make_frame(rows: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "value": rng.random(rows),
            "label": [f"label_{i % 1000}_{i}" for i in range(rows)],
        }
    )


def same_array(saved: Any, loaded: Any) -> bool:
    import numpy as np

    return (
        type(loaded) is type(saved)
        and loaded.dtype == saved.dtype
        and loaded.shape == saved.shape
        and bool(np.array_equal(loaded, saved))
    )


def same_frame(saved: Any, loaded: Any) -> bool:
    return (
        type(loaded) is type(saved)
        and list(loaded.dtypes) == list(saved.dtypes)
        and loaded.index.equals(saved.index)
        and bool(loaded.equals(saved))
    )


def _floor_array(folder: Path) -> tuple[Callable[[Any], Path], Callable[[Path], Any]]:
    import numpy as np

    def write(data: Any) -> Path:
        path = folder / f"floor-{time.perf_counter_ns()}.npy"
        with open(path, "wb") as handle:
            np.save(handle, data)
        return path

    return write, lambda path: np.load(path)


def _floor_frame(folder: Path) -> tuple[Callable[[Any], Path], Callable[[Path], Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(data: Any) -> Path:
        path = folder / f"floor-{time.perf_counter_ns()}.parquet"
        pq.write_table(pa.Table.from_pandas(data), path)
        return path

    return write, lambda path: pq.read_table(path).to_pandas()


def settle(size: int) -> None:
    """Put every timed call of `large` in the same state: the previous write flushed, and memory
    for the call's result at hand. On these virtual machines, memory the kernel has not handed
    out lately costs about 1 s per GB on first touch, and the call after a 100 MB write pays
    for flushing it; untreated, whichever call came second in a pair took 250-500 ms instead
    of 20-50 ms (same `np.load`, same file)."""
    import numpy as np

    os.sync()
    block = np.ones(2 * size // 8)
    del block


def large(
    save: Callable[[Any, str], Any],
    load: Callable[[Any], Any],
    params: dict[str, Any],
    folder: Path,
) -> Any:
    """Save and load of a float64 array and a DataFrame (int, float and string columns), each
    next to the raw floor on the same disk (`np.save`/`np.load`; `pq.write_table` of
    `pa.Table.from_pandas` / `pq.read_table(...).to_pandas()`); one untimed round of each
    first. Every save writes a new file or version. Floor and artifact take turns, the one to go
    first alternating, and every timed call starts from `settle()`."""
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    kinds = {
        "array": (make_array(params["megabytes"]), _floor_array(folder), same_array),
        "frame": (make_frame(params["rows"]), _floor_frame(folder), same_frame),
    }
    for kind, (data, (floor_write, floor_read), same) in kinds.items():
        size = data.nbytes if kind == "array" else int(data.memory_usage(deep=True).sum())
        times: dict[str, list[float]] = {"floor_save": [], "save": [], "floor_load": [], "load": []}
        path = floor_write(data)
        name = f"large_{kind}"
        ref = save(data, name)
        exact = same(data, load(ref)) and same(data, floor_read(path))
        for repetition in range(params["runs"]):
            saves = [
                ("floor_save", partial(floor_write, data)),
                ("save", partial(save, data, name)),
            ]
            for key, fn in saves[:: 1 if repetition % 2 == 0 else -1]:
                settle(size)
                start = time.perf_counter()
                made = fn()
                times[key].append(time.perf_counter() - start)
                path, ref = (made, ref) if key == "floor_save" else (path, made)
            loads = [("floor_load", partial(floor_read, path)), ("load", partial(load, ref))]
            for key, fn in loads[:: 1 if repetition % 2 == 0 else -1]:
                settle(size)
                times[key].append(timed(fn))
        results[kind] = {"bytes": size, "exact": exact, **times}
    return results


def versions(
    save: Callable[[Any, str], Any], listing: Callable[[str], int], count: int, runs: int
) -> Any:
    """`count` versions of one artifact, then `runs` listings of all of them."""
    start = time.perf_counter()
    for i in range(count):
        save(i, "many_versions")
    build = time.perf_counter() - start
    if listing("many_versions") != count:
        raise AssertionError(f"the listing did not return {count} versions")
    return {"build": build, "list": [timed(lambda: listing("many_versions")) for _ in range(runs)]}
