"""Fixtures of the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import api
from tests.api.client import Api


@pytest.fixture
def gql(database_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = api.Settings(
        home=tmp_path / "home", database_url=database_url, artifact_store=str(tmp_path / "store")
    )
    executor = api.LocalExecutor(settings)
    try:
        yield Api(executor)
    finally:
        executor.close()
