"""A throwaway S3-compatible server for the test session: moto's server mode on loopback.

The server runs as a subprocess (``python -m moto.server``) on a free port of 127.0.0.1; the
fixtures point the standard AWS variables at it (``AWS_ENDPOINT_URL`` and dummy credentials),
which is all s3fs (through botocore) needs, and give each test a bucket of its own.

When moto or s3fs is missing, or the server does not start, the S3 tests are skipped, unless
``LINEAGEQL_REQUIRE_S3=1`` or ``LINEAGEQL_REQUIRE_POSTGRES=1`` (set by CI) asks for every real
server: then they fail.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.net import free_port

REGION = "us-east-1"
# Variables that would make botocore look elsewhere for credentials or endpoints.
_FOREIGN_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def s3_required() -> bool:
    return "1" in (
        os.environ.get("LINEAGEQL_REQUIRE_S3"),
        os.environ.get("LINEAGEQL_REQUIRE_POSTGRES"),
    )


@contextlib.contextmanager
def s3_server(log_path: Path, timeout: float = 60) -> Iterator[str]:
    """Start `python -m moto.server` on a free loopback port; yield its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            _wait_ready(process, endpoint, log_path, timeout)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(
    process: subprocess.Popen[bytes], endpoint: str, log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited: {log_path.read_text()[-2000:]}")
        try:
            # moto's dashboard answers once the server accepts requests
            if httpx.get(f"{endpoint}/moto-api/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not start in {timeout:.0f}s: {log_path.read_text()}")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint URL of an S3-compatible server for the session."""
    missing = [name for name in ("moto", "s3fs") if importlib.util.find_spec(name) is None]
    if missing:
        reason = f"{' and '.join(missing)} not installed (pip install -e '.[dev]')"
        if s3_required():
            pytest.fail(f"S3 tests are required but {reason}")
        pytest.skip(reason)
    log_path = Path(tempfile.mkdtemp(prefix="lineageql-s3-")) / "moto.log"
    try:
        server = s3_server(log_path)
        endpoint = server.__enter__()
    except RuntimeError as error:
        if s3_required():
            pytest.fail(f"S3 tests are required but the S3 server did not start: {error}")
        pytest.skip(f"the S3 server did not start: {error}")
    try:
        yield endpoint
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The AWS variables a user sets for an S3-compatible store, pointed at the test server."""
    env = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "lineageql-test",
        "AWS_SECRET_ACCESS_KEY": "lineageql-test-secret",
        "AWS_DEFAULT_REGION": REGION,
    }
    for name in _FOREIGN_AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def s3_store_uri(s3_env: dict[str, str]) -> str:
    """`s3://bucket/prefix` in a new, empty bucket of the test server."""
    import s3fs

    bucket = f"lineageql-{uuid.uuid4().hex[:20]}"
    s3fs.S3FileSystem().mkdir(bucket)
    return f"s3://{bucket}/artifacts"
