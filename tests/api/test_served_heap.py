"""A served process freezes its heap once started (api.app.create_app's `freeze_heap`): the
objects alive then are out of the garbage collector's full collections."""

from __future__ import annotations

import gc
from pathlib import Path

from starlette.testclient import TestClient

import api
from api.app import app_factory, create_app


def test_the_served_app_freezes_the_heap_once_started(tmp_path: Path) -> None:
    settings = api.Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path}/m.db", artifact_store=str(tmp_path)
    )
    assert app_factory(settings, "127.0.0.1").keywords == {"freeze_heap": True}
    gc.unfreeze()
    try:
        with TestClient(create_app(settings)) as client:  # not frozen unless asked
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() == 0
        with TestClient(create_app(settings, freeze_heap=True)) as client:
            assert gc.get_freeze_count() > 10_000  # modules, schema, metadata
            assert client.get("/healthz").status_code == 200
            garbage: list[object] = []
            garbage.append(garbage)  # a cycle made after the freeze is still collected
            del garbage
            assert gc.collect() >= 1
    finally:
        gc.unfreeze()
