"""Design constraints that decide later speed and surprise: light imports, two round trips per
step, steps defined anywhere, the same materializer in every process state."""

from __future__ import annotations

import linecache
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from sdk import Client, pipeline, step
from sdk.client.transport import Transport

HEAVY = ("numpy", "pandas", "pyarrow", "sklearn", "cloudpickle", "httpx", "alembic")


def run_python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def test_an_int_pipeline_imports_no_heavy_library(store_env: dict[str, str]) -> None:
    out = run_python(
        f"""
        import sys
        from sdk import pipeline, step

        @step
        def one() -> int:
            return 1

        @step
        def inc(x: int) -> int:
            return x + 1

        @pipeline
        def light() -> None:
            inc(one())

        assert light().steps["inc"].outputs["output"].load() == 2
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        """,
        store_env,
    )
    assert out == "[]"


class CountingTransport:
    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.operations: list[str] = []

    def execute(self, document: str, variables: Any = None) -> dict[str, Any]:
        self.operations.append(document.split("(")[0].split()[-1])
        return self.inner.execute(document, variables)


def test_each_step_costs_one_round_trip_to_start_and_one_to_finish(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = CountingTransport(Client().transport)

    @step
    def a() -> int:
        return 1

    @step
    def b(x: int) -> tuple[int, int]:
        return x, x

    @step
    def c(x: int, y: int) -> int:
        return x + y

    @pipeline
    def three() -> None:
        x, y = b(a())
        c(x, y)

    with Client(counting):  # the active client: the pipeline sends through it
        three()
    assert counting.operations.count("StartStepRun") == 3
    assert counting.operations.count("FinishStepRun") == 3
    assert counting.operations == [
        "StartPipelineRun",
        *["StartStepRun", "FinishStepRun"] * 3,
        "FinishPipelineRun",
    ]


def test_a_step_whose_source_cannot_be_read_still_runs(store_env: dict[str, str]) -> None:
    namespace: dict[str, Any] = {"step": step}
    exec(  # noqa: S102 - as a REPL defines a function: no source file behind it
        "@step\ndef pair() -> tuple[int, int]:\n    return 1, 2\n", namespace
    )

    @pipeline
    def from_repl() -> None:
        namespace["pair"]()

    run = from_repl()
    assert set(run.steps["pair"].outputs) == {"output_0", "output_1"}


def test_a_step_defined_in_a_notebook_cell_runs(store_env: dict[str, str]) -> None:
    source = "@step\ndef cell() -> tuple[int, int]:\n    pair = (1, 2)\n    return pair\n"
    filename = "<ipython-input-7-0123456789ab>"
    # IPython registers each cell's source in linecache under a pseudo file name.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"step": step}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102

    @pipeline
    def notebook() -> None:
        namespace["cell"]()

    run = notebook()
    assert set(run.steps["cell"].outputs) == {"output"}
    assert run.steps["cell"].outputs["output"].load() == (1, 2)


def test_the_materializer_of_a_type_is_the_same_in_every_process_state(
    store_env: dict[str, str],
) -> None:
    code = textwrap.dedent(
        """
        import numpy as np, pandas as pd
        from sdk import save_artifact
        {setup}
        a = save_artifact(np.arange(3), name="arr")
        f = save_artifact(pd.DataFrame({{"x": [1]}}), name="frame")
        print(a.materializer, f.materializer)
        """
    )
    fresh = run_python(code.format(setup=""), store_env)
    after_run = run_python(
        code.format(
            setup=(
                "from sdk import pipeline, step\n"
                "@step\ndef s() -> int:\n    return 1\n"
                "@pipeline\ndef p() -> None:\n    s()\n"
                "p()"
            )
        ),
        store_env,
    )
    assert fresh == after_run
    assert "numpy" in fresh.split()[0].lower() and "pandas" in fresh.split()[1].lower()
    assert "pickle" not in fresh.lower()
    assert [v.version for v in Client().list_artifact_versions(name="arr")] == ["1", "2"]


def test_a_runs_steps_are_read_once_on_first_access(store_env: dict[str, str]) -> None:
    counting = CountingTransport(Client().transport)

    @step
    def make() -> int:
        return 3

    @pipeline(enable_cache=False)
    def lazily() -> None:
        make()

    with Client(counting):
        run = lazily()
        assert counting.operations[-1] == "FinishPipelineRun"
        sent = len(counting.operations)
        assert run.steps["make"].outputs["output"].load() == 3
        assert counting.operations[sent] == "GetPipelineRun"
        run.steps["make"]  # noqa: B018 - read again: no new request
        assert counting.operations.count("GetPipelineRun") == 1
    assert run.steps == Client().get_pipeline_run(run.id).steps
    assert run.status == "COMPLETED" and run.ended_at is not None
