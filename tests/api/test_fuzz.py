"""Schemathesis, in GraphQL mode, against a real `lineageql serve` on 127.0.0.1 with tokens.

Every generated request must be answered without a 5xx, without INTERNAL_SERVER_ERROR, with
`extensions.code` on every error, and within 2 s. Two phases: every query and mutation of the
schema on its own (stateless), then chains of them (stateful: ids that mutations return are
fed to the operations that take them). `make test` runs a fixed seed and a small budget;
`make fuzz FUZZ_CASES=N` runs N cases per operation and prints what it found:
`python -m tests.api.test_fuzz --cases N`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

import api  # noqa: E402
from api.auth import add_token  # noqa: E402
from tests.conftest import LiveServer  # noqa: E402

SEED = 20261130
SLOW = 2.0  # seconds: any slower answer is a finding
CASES_PER_OPERATION = 12  # `make test`: 24 operations x 12 = 288 cases, plus the stateful phase
STATEFUL_SCENARIOS = 15


@dataclass
class Findings:
    cases: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def check(self, label: str, status: int, body: Any, elapsed: float, query: str) -> None:
        """Record one answer; a problem for a 5xx, a slow answer, an error without a code or
        an INTERNAL_SERVER_ERROR."""
        self.cases += 1
        where = f"{label}: {query[:300]!r}"
        if status >= 500:
            self.problems.append(f"HTTP {status} for {where}")
        if elapsed > SLOW:
            self.problems.append(f"{elapsed:.2f} s for {where}")
        responses = body if isinstance(body, list) else [body]
        for response in responses:
            if not isinstance(response, dict):
                self.problems.append(f"not a JSON object ({body!r:.200}) for {where}")
                continue
            for error in response.get("errors") or []:
                code = (error.get("extensions") or {}).get("code")
                self.codes[str(code)] += 1
                if code is None:
                    self.problems.append(f"error without a code ({error!r:.300}) for {where}")
                elif code == "INTERNAL_SERVER_ERROR":
                    self.problems.append(f"INTERNAL_SERVER_ERROR for {where}")


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _elapsed(response: Any, started: float) -> float:
    value = getattr(response, "elapsed", None)
    if isinstance(value, int | float):
        return float(value)
    total = getattr(value, "total_seconds", None)
    return float(total()) if total is not None else time.monotonic() - started


def run_stateless(url: str, token: str, cases: int, findings: Findings) -> None:
    schema = schemathesis.graphql.from_file(api.export_schema())
    base_url = url.rsplit("/graphql", 1)[0] + "/graphql"
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        fuzz_operation(result.ok(), base_url, headers, cases, findings)


def fuzz_operation(
    operation: Any, base_url: str, headers: dict[str, str], cases: int, findings: Findings
) -> None:
    @hypothesis.seed(SEED)
    @hypothesis_settings(
        max_examples=cases,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        started = time.monotonic()
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        elapsed = _elapsed(response, started)
        query = case.body if isinstance(case.body, str) else str(case.body)
        findings.check(operation.label, response.status_code, _json(response), elapsed, query)

    check()


def run_stateful(url: str, token: str, scenarios: int, findings: Findings) -> str:
    """Chains of operations; returns what ran (or why the phase could not)."""
    schema = schemathesis.graphql.from_file(api.export_schema())
    base_url = url.rsplit("/graphql", 1)[0] + "/graphql"
    try:
        machine = schema.as_state_machine()
    except Exception as exc:  # noqa: BLE001 (a schemathesis without GraphQL stateful testing)
        return f"stateful phase unavailable: {exc}"

    class Machine(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {
                "base_url": base_url,
                "headers": {"Authorization": f"Bearer {token}"},
                "timeout": 30,
            }

        def call(self, case: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            response = super().call(case, **kwargs)
            query = case.body if isinstance(case.body, str) else str(case.body)
            elapsed = _elapsed(response, started)
            findings.check("stateful", response.status_code, _json(response), elapsed, query)
            return response

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            return None  # checked in `call`, with the other phase's rules

    Machine.run(
        settings=hypothesis_settings(
            max_examples=scenarios,
            stateful_step_count=8,
            derandomize=True,  # a fixed sequence, as the seed fixes the stateless phase
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    return "stateful phase ran"


def start_server(root: Path, template: Path | None) -> tuple[LiveServer, str]:
    home = root / "home"
    database = root / "metadata.db"
    if template is not None:
        shutil.copyfile(template, database)
    else:
        from api.storage.migrate import upgrade

        upgrade(f"sqlite:///{database}")
    token, _ = add_token(home / "tokens.json", "write", "fuzz")
    env = {
        **os.environ,
        "LINEAGEQL_HOME": str(home),
        "LINEAGEQL_DATABASE_URL": f"sqlite:///{database}",
        "LINEAGEQL_ARTIFACT_STORE": str(root / "store"),
    }
    for key in ("LINEAGEQL_URL", "LINEAGEQL_TOKEN", "LINEAGEQL_TOKENS", "LINEAGEQL_TOKENS_FILE"):
        env.pop(key, None)
    return LiveServer(env, root / "server.log", args=["--host", "127.0.0.1"]), token


@pytest.fixture(scope="module")
def fuzz_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[LiveServer, str]]:
    live, token = start_server(tmp_path_factory.mktemp("fuzz"), sqlite_template)
    try:
        yield live, token
    finally:
        live.stop()


def test_fuzzing_finds_no_server_error(fuzz_server: tuple[LiveServer, str]) -> None:
    live, token = fuzz_server
    findings = Findings()
    started = time.monotonic()
    run_stateless(live.url, token, CASES_PER_OPERATION, findings)
    stateful = run_stateful(live.url, token, STATEFUL_SCENARIOS, findings)
    elapsed = time.monotonic() - started
    print(f"fuzz: {findings.cases} cases in {elapsed:.1f} s; {stateful}; {dict(findings.codes)}")
    assert findings.cases >= 200
    assert not findings.problems, "\n".join(findings.problems[:20])
    assert elapsed < 90
    assert "unexpected error" not in live.log_path.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100, help="cases per operation")
    parser.add_argument("--scenarios", type=int, default=100, help="stateful scenarios")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lineageql-fuzz-"))
    live, token = start_server(root, None)
    findings = Findings()
    started = time.monotonic()
    try:
        run_stateless(live.url, token, options.cases, findings)
        stateful = run_stateful(live.url, token, options.scenarios, findings)
    finally:
        live.stop()
    elapsed = time.monotonic() - started
    print(f"cases: {findings.cases}")
    print(f"time: {elapsed:.1f} s")
    print(stateful)
    print("errors by code: " + ", ".join(f"{c}={n}" for c, n in findings.codes.most_common()))
    print(f"INTERNAL_SERVER_ERROR: {findings.codes.get('INTERNAL_SERVER_ERROR', 0)}")
    print(f"problems: {len(findings.problems)}")
    for problem in findings.problems[:50]:
        print("  " + problem)
    shutil.rmtree(root, ignore_errors=True)
    return 1 if findings.problems else 0


if __name__ == "__main__":
    sys.exit(main())
