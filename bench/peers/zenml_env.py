"""ZenML as a benchmark peer: its own virtualenv and an environment that keeps it to itself.

`ensure_zenml_venv()` makes (on first use) or reuses `bench/.peers/zenml/`, a virtualenv with
`zenml[local]==0.98.0` (the `local` extra brings what the default local stack's SQLite store
needs: SQLAlchemy, SQLModel, Alembic, ...) plus NumPy, pandas, pyarrow and scikit-learn, and
returns the path to its Python. `zenml_environ(home)` is the environment to run ZenML with:
analytics off, its global config, local SQLite store and local artifact store all under
`home`, so nothing touches the user's home directory.

Standard library only: the benchmark scripts import this from the project's virtualenv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ZENML_VERSION = "0.98.0"
REQUIREMENTS = (f"zenml[local]=={ZENML_VERSION}", "numpy", "pandas", "pyarrow", "scikit-learn")
PEERS = Path(__file__).resolve().parent.parent / ".peers"
VENV = PEERS / "zenml"
HOME = PEERS / "zenml-home"


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _has_zenml(python: Path) -> bool:
    if not python.exists():
        return False
    check = (
        "import importlib.metadata as m, sys; "
        "import numpy, pandas, pyarrow, sklearn, sqlmodel; "
        f"sys.exit(m.version('zenml') != {ZENML_VERSION!r})"
    )
    return subprocess.run([str(python), "-c", check], capture_output=True).returncode == 0


def ensure_zenml_venv() -> Path:
    """The peer's Python, installing ZenML into `bench/.peers/zenml/` on first use (re-made
    when ZenML is missing or another version)."""
    python = _venv_python()
    if _has_zenml(python):
        return python
    base = shutil.which("python3.11") or sys.executable
    print(f"creating the ZenML peer virtualenv: {', '.join(REQUIREMENTS)}", file=sys.stderr)
    start = time.perf_counter()
    subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    if not _has_zenml(python):
        raise RuntimeError(f"zenml {ZENML_VERSION} did not install into {VENV}")
    print(f"ZenML peer virtualenv ready in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return python


def zenml_environ(home: Path = HOME) -> dict[str, str]:
    """The environment for a ZenML process whose whole state lives under `home`.

    ZENML_CONFIG_PATH is the global config directory; with no store configured, ZenML puts
    its default local SQLite store (`local_stores/default_zen_store/zenml.db`) and the default
    local artifact store (`local_stores/<id>/`) inside it. A `ZENML_STORE_*` variable from the
    caller's environment would point ZenML elsewhere, so those are dropped.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ZENML_", "LINEAGEQL_", "VIRTUAL_ENV"))
    }
    env.update(
        {
            "ZENML_CONFIG_PATH": str(home / "config"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_LOGGING_VERBOSITY": "INFO",
            "ZENML_ENABLE_RICH_TRACEBACK": "false",
            "AUTO_OPEN_DASHBOARD": "false",
            "HOME": str(home / "user"),
        }
    )
    return env


if __name__ == "__main__":
    print(ensure_zenml_venv())
