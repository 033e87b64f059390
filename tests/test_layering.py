"""Which way imports flow (STYLE.md): checked on every module of `api` and `sdk` with `ast`."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

API_SUBMODULES = {"app", "embedded", "errors", "graphql", "migrations", "settings", "storage"}
SDK_API_USERS = {"sdk.client.transport", "sdk.cli"}  # and every sdk.cli.* module
SHARED_RULES = "api.rules"  # the one api module any sdk module may import (stdlib only)
HEAVY = [
    "numpy",
    "pandas",
    "pyarrow",
    "sklearn",
    "strawberry",
    "sqlalchemy",
    "httpx",
    "api",
    "openlineage",  # the OpenLineage client: imported only when events are sent
]


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "api.storage.runs"
    target: str  # the imported module, e.g. "sqlalchemy.ext.asyncio"
    names: tuple[str, ...]  # for `from target import a, b`; empty for `import target`
    line: int

    def __str__(self) -> str:
        names = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.module}:{self.line} imports {self.target}{names}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports_of(path: Path) -> list[Import]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, target] if target else base)
            names = tuple(alias.name for alias in node.names)
            found.append(Import(module, target, names, node.lineno))
    return found


def _all_imports(package: str) -> list[Import]:
    paths = sorted((ROOT / package).rglob("*.py"))
    assert paths, f"no modules found under {package}/"
    return [imp for path in paths for imp in _imports_of(path)]


def _within(target: str, *prefixes: str) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def test_every_module_is_found() -> None:
    modules = {imp.module for imp in _all_imports("api") + _all_imports("sdk")}
    assert {
        "api.storage.runs",
        "api.graphql.types",
        "sdk.client.transport",
        "sdk.cli.lineage",
    } <= modules


def test_storage_knows_nothing_of_graphql_or_http() -> None:
    forbidden = ("api.graphql", "api.app", "api.embedded", "strawberry", "starlette", "graphql")
    bad = [
        str(imp)
        for imp in _all_imports("api")
        if _within(imp.module, "api.storage") and _within(imp.target, *forbidden)
    ]
    assert not bad


def test_graphql_layer_does_not_import_the_server() -> None:
    forbidden = ("api.app", "api.embedded", "starlette", "uvicorn")
    bad = [
        str(imp)
        for imp in _all_imports("api")
        if _within(imp.module, "api.graphql") and _within(imp.target, *forbidden)
    ]
    assert not bad


def test_graphql_layer_uses_sqlalchemy_only_for_session_typing() -> None:
    allowed = ("sqlalchemy.ext.asyncio", ("AsyncSession",))
    bad = [
        str(imp)
        for imp in _all_imports("api")
        if _within(imp.module, "api.graphql")
        and _within(imp.target, "sqlalchemy")
        and (imp.target, imp.names) != allowed
    ]
    assert not bad


def test_graphql_layer_imports_no_select() -> None:
    bad = [
        str(imp)
        for imp in _all_imports("api")
        if _within(imp.module, "api.graphql")
        and _within(imp.target, "sqlalchemy")
        and {"select", "insert", "update", "delete", "text"} & set(imp.names)
    ]
    assert not bad


def test_graphql_layer_calls_no_select() -> None:
    bad = []
    for path in sorted((ROOT / "api" / "graphql").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name == "select":
                    bad.append(f"{_module_name(path)}:{node.lineno}")
    assert not bad


def _imports_only_rules(imp: Import) -> bool:
    """`from api import rules`, `from api.rules import ...` or `import api.rules`."""
    return imp.target == SHARED_RULES or (imp.target == "api" and imp.names == ("rules",))


def test_sdk_imports_api_only_through_its_root() -> None:
    bad = []
    for imp in _all_imports("sdk"):
        if not _within(imp.target, "api") or _imports_only_rules(imp):
            continue
        submodule_names = set(imp.names) & API_SUBMODULES
        if imp.target != "api" or submodule_names:
            bad.append(str(imp))
    assert not bad


def test_only_transport_and_cli_import_api() -> None:
    users = {
        imp.module
        for imp in _all_imports("sdk")
        if _within(imp.target, "api") and not _imports_only_rules(imp)
    }
    assert {u for u in users if not _within(u, "sdk.cli")} <= SDK_API_USERS


def test_the_shared_rules_are_used_by_both_sides() -> None:
    sdk_users = {imp.module for imp in _all_imports("sdk") if _imports_only_rules(imp)}
    api_users = {imp.module for imp in _all_imports("api") if _imports_only_rules(imp)}
    assert {"sdk.artifacts.config", "sdk.pipeline.execution", "sdk.pipeline.signature"} <= sdk_users
    assert "api.storage.artifacts" in api_users


def test_the_shared_rules_import_only_the_standard_library() -> None:
    path = ROOT / "api" / "rules.py"
    roots = {imp.target.split(".")[0] for imp in _imports_of(path)}
    assert roots <= set(sys.stdlib_module_names) | {"__future__"}, sorted(roots)


def test_api_imports_nothing_from_sdk() -> None:
    bad = [str(imp) for imp in _all_imports("api") if _within(imp.target, "sdk")]
    assert not bad


def test_imports_are_absolute() -> None:
    bad = []
    for package in ("api", "sdk"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level:
                    bad.append(f"{_module_name(path)}:{node.lineno}")
    assert not bad


@pytest.fixture(scope="module")
def modules_after_import_sdk() -> set[str]:
    code = "import json, sys; import sdk; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("heavy", HEAVY)
def test_importing_sdk_stays_light(heavy: str, modules_after_import_sdk: set[str]) -> None:
    allowed = {"api", SHARED_RULES}  # the package's lazy root and the stdlib-only rules
    loaded = sorted(m for m in modules_after_import_sdk if _within(m, heavy) and m not in allowed)
    assert not loaded, f"`import sdk` loads {loaded}"


SDK_PACKAGES = {"sdk.client", "sdk.pipeline", "sdk.artifacts", "sdk.prune", "sdk.cli"}
SDK_TOP_MODULES = {
    "sdk",
    "sdk.errors",
    "sdk.settings",
    "sdk.types",
    "sdk.materializers",
    "sdk.metadata",  # log_metadata and the typed values Uri, Path, DType, StorageSize
}


def _module_level_imports(path: Path, modules: set[str]) -> list[str]:
    """Modules of `modules` that `path` names in its imports when it is imported: top-level
    statements only (not inside functions, not under `if TYPE_CHECKING:`). The parent packages
    Python runs first are not counted: the root's facade importing every concern is how a
    package exposes its API; a submodule importing the facade back (`from sdk import Client`)
    is counted. `from package import submodule` counts the submodule only."""
    module = _module_name(path)
    targets: set[str] = set()
    body = list(ast.parse(path.read_text(), str(path)).body)
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Try):
            body.extend(node.body)
        elif isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            targets |= submodules
            if len(submodules) < len(node.names):
                targets.add(node.module)
    return sorted((targets & modules) - {module})


def test_sdk_has_no_import_cycle_at_module_level() -> None:
    paths = {_module_name(p): p for p in sorted((ROOT / "sdk").rglob("*.py"))}
    graph = {m: _module_level_imports(p, set(paths)) for m, p in paths.items()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in graph[module]:
            if state.get(target) == 1:
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module)
    assert not cycles, cycles


def test_sdk_is_laid_out_by_concern() -> None:
    top = {
        _module_name(p)
        for p in (ROOT / "sdk").iterdir()
        if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert top == {*SDK_PACKAGES, *SDK_TOP_MODULES}, sorted(top)


def test_only_the_client_package_sends_documents() -> None:
    """Every GraphQL document lives in sdk.client.operations, where a test validates it."""
    document = re.compile(r"^\s*(query|mutation|subscription|fragment)\b[^\n]*\{", re.M)
    bad = []
    for path in sorted((ROOT / "sdk").rglob("*.py")):
        if _module_name(path) == "sdk.client.operations":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in docstrings and document.search(node.value):
                    bad.append(f"{_module_name(path)}:{node.lineno}")
            elif isinstance(node, ast.JoinedStr) and document.search(ast.unparse(node)):
                bad.append(f"{_module_name(path)}:{node.lineno}")
    assert not bad
