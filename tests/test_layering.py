"""Which way imports flow (STYLE.md): checked on every module of `api` and `sdk` with `ast`."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

API_SUBMODULES = {"app", "embedded", "errors", "graphql", "migrations", "settings", "storage"}
SDK_API_USERS = {"sdk.transport", "sdk.cli"}  # and every sdk.cli.* module
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
    assert {"api.storage.runs", "api.graphql.types", "sdk.transport", "sdk.cli.lineage"} <= modules


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
