"""The benchmark pipelines written for ZenML, and how to run them in the ZenML peer virtualenv.

Project side only (standard library): the functions here write self-contained ZenML scripts
and run them with the Python of `bench/.peers/zenml/` (see `zenml_env.py`) in an environment
whose whole ZenML state (global config, local SQLite store, local artifact store) lives under
a directory the caller chooses. A script run as `__main__` is what a ZenML user runs: ZenML
resolves its steps' sources from it, with the script's folder as the source root.

- `linear_source(steps, changed=...)`: a linear pipeline of `steps` steps (ints in and out:
  step 1 takes the parameter 0, step i takes step i-1's output and returns it + 1), caching on
  (ZenML's default). `changed=k` writes step k as `return x + 2 - 1` instead of
  `return x + 1 + 0 * 1`: another logic (a changed step code hash for ZenML), the same output.
- `trivial_source(enable_cache)`: the trivial 3-step pipeline (`one() -> 1`,
  `add(x, y=1)`, `double(x)`), ints in and out.
- `in_process_source(steps, runs)`: the same pipeline plus a harness that runs it once, then
  `runs` fully cached reruns and `runs` reruns with `enable_cache=False`, timing each call in
  the process, and prints the timings as one JSON line.
- `run_script(script, home)`: one whole-process run, timed from the caller's side, with the
  steps that executed and that were cached, parsed from ZenML's log.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peers.zenml_env import ensure_zenml_venv, zenml_environ

PIPELINE_NAME = "linear"
_EXECUTED = re.compile(r"Step `?(\w+)`? has started")
_CACHED = re.compile(r"Using cached version of step `?(\w+)`?")


def step_name(index: int) -> str:
    return f"step_{index:02d}"


def linear_source(steps: int, changed: int | None = None, enable_cache: bool = True) -> str:
    """A ZenML script defining and running the linear pipeline (see the module docstring)."""
    lines = ["from zenml import pipeline, step", ""]
    for i in range(1, steps + 1):
        body = "x + 2 - 1" if i == changed else "x + 1 + 0 * 1"
        lines += ["", "@step", f"def {step_name(i)}(x: int) -> int:", f"    return {body}", ""]
    lines += ["", f'@pipeline(name="{PIPELINE_NAME}", enable_cache={enable_cache})']
    lines += [f"def {PIPELINE_NAME}() -> None:", f"    x = {step_name(1)}(0)"]
    lines += [f"    x = {step_name(i)}(x)" for i in range(2, steps + 1)]
    return "\n".join(lines) + "\n"


def linear_script(steps: int, changed: int | None = None, enable_cache: bool = True) -> str:
    return linear_source(steps, changed, enable_cache) + _main(PIPELINE_NAME)


TRIVIAL_NAME = "trivial"


def trivial_source(enable_cache: bool = True) -> str:
    """The trivial 3-step pipeline, ints in and out; `double` returns 4."""
    return f"""from zenml import pipeline, step


@step
def one() -> int:
    return 1


@step
def add(x: int, y: int = 1) -> int:
    return x + y


@step
def double(x: int) -> int:
    return 2 * x


@pipeline(name="{TRIVIAL_NAME}", enable_cache={enable_cache})
def {TRIVIAL_NAME}() -> None:
    double(add(one()))
"""


def trivial_script(enable_cache: bool = True) -> str:
    return trivial_source(enable_cache) + _main(TRIVIAL_NAME)


def _main(name: str) -> str:
    return f'\n\nif __name__ == "__main__":\n    {name}()\n'


_HARNESS = """

if __name__ == "__main__":
    import json
    import time

    def timed(pipe):
        start = time.perf_counter()
        pipe()
        return time.perf_counter() - start

    first = timed({name})
    cached = [timed({name}) for _ in range({runs})]
    uncached_pipeline = {name}.with_options(enable_cache=False)
    uncached = [timed(uncached_pipeline) for _ in range({runs})]
    print("RESULT " + json.dumps({{"first": first, "cached": cached, "uncached": uncached}}))
"""


def in_process_source(steps: int, runs: int) -> str:
    return linear_source(steps) + _HARNESS.format(name=PIPELINE_NAME, runs=runs)


@dataclass(frozen=True)
class ScriptRun:
    seconds: float
    executed: list[str]
    cached: list[str]
    output: str


def run_script(script: Path, home: Path, timeout: float = 900) -> ScriptRun:
    """Run `script` with the ZenML peer's Python, its state under `home`; whole-process time."""
    python = ensure_zenml_venv()
    env = zenml_environ(home)
    env["ZENML_LOGGING_COLORS_DISABLED"] = "true"
    start = time.perf_counter()
    done = subprocess.run(
        [str(python), script.name],
        cwd=script.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"ZenML script {script.name} failed:\n{done.stdout[-4000:]}")
    return ScriptRun(
        seconds, _EXECUTED.findall(done.stdout), _CACHED.findall(done.stdout), done.stdout
    )


def run_in_process(script: Path, home: Path, timeout: float = 1800) -> dict[str, Any]:
    """Run an `in_process_source` script; its timings in seconds (first, cached, uncached)."""
    result = run_script(script, home, timeout)
    for line in result.output.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return parsed
    raise RuntimeError(f"no RESULT line from {script.name}:\n{result.output[-4000:]}")


WORKER = Path(__file__).resolve().parent / "zenml_worker.py"


def run_worker(case: str, params: dict[str, Any], home: Path, timeout: float = 1800) -> Any:
    """Run one in-process case of `zenml_worker.py` in the peer's Python, its state under `home`;
    the worker's result (a JSON value)."""
    python = ensure_zenml_venv()
    env = zenml_environ(home)
    env["ZENML_LOGGING_VERBOSITY"] = "WARN"
    done = subprocess.run(
        [str(python), WORKER.name, case, json.dumps(params)],
        cwd=WORKER.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    return parse_result(done, f"zenml_worker.py {case}")


def parse_result(done: subprocess.CompletedProcess[str], label: str) -> Any:
    """The JSON after the last `RESULT ` line of a finished worker; its log tail on failure."""
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{label} failed ({done.returncode}):\n{done.stdout[-4000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))
