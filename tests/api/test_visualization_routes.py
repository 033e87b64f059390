"""`GET /artifact-versions/{id}/visualizations/{index}`: content types, the sandboxing
Content-Security-Policy, 404s, and refusal of files outside the version or the store."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import numpy as np
import pandas as pd
import pytest
from starlette.applications import Starlette

import api
from sdk.artifacts.store import ArtifactStore
from sdk.client.records import VersionInput
from sdk.materializers import save_data

CREATE = """
mutation ($input: ArtifactVersionInput!) {
  createArtifactVersion(input: $input) { id visualizations { type uri url } }
}
"""


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "store"))


class AppClient:
    """The app in this process, its lifespan entered, on one event loop in a helper thread
    (what Starlette's TestClient does, over httpx's ASGI transport)."""

    def __init__(self, app: Starlette, portal: anyio.from_thread.BlockingPortal) -> None:
        self.app = app
        self.portal = portal

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
                return await c.request(method, path, **kwargs)

        return self.portal.call(send)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


def running(settings: api.Settings) -> contextlib.AbstractContextManager[AppClient]:
    @contextlib.contextmanager
    def run() -> Iterator[AppClient]:
        app = api.create_app(settings)
        with (
            anyio.from_thread.start_blocking_portal() as portal,
            portal.wrap_async_context_manager(app.router.lifespan_context(app)),
        ):
            yield AppClient(app, portal)

    return run()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, store: ArtifactStore) -> api.Settings:
    return api.Settings(home=tmp_path / "home", database_url=database_url, artifact_store=store.uri)


@pytest.fixture
def client(settings: api.Settings) -> Iterator[AppClient]:
    with running(settings) as app_client:
        yield app_client


def graphql(client: AppClient, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def register(client: AppClient, input: dict[str, Any]) -> dict[str, Any]:
    body = graphql(client, CREATE, input=input)
    assert "errors" not in body, body["errors"]
    created: dict[str, Any] = body["data"]["createArtifactVersion"]
    return created


def saved_version(client: AppClient, store: ArtifactStore, value: Any) -> dict[str, Any]:
    saved = save_data(value, store.new_version_uri("step", "out"), store)
    version = VersionInput.from_saved(saved, "thing", version=None, tags=[], store=store)
    return register(client, version.variables())


@pytest.mark.parametrize(
    ("value", "kind", "content_type", "starts"),
    [
        (pd.DataFrame({"x": [1]}), "HTML", "text/html; charset=utf-8", b"<!DOCTYPE html>"),
        ("# notes", "MARKDOWN", "text/markdown; charset=utf-8", b"# notes"),
        (np.zeros((16, 16), dtype=np.uint8), "IMAGE", "image/png", b"\x89PNG"),
        ({"a": 1}, "JSON", "application/json", b"{"),
    ],
    ids=["html", "markdown", "image", "json"],
)
def test_each_kind_is_served_with_its_content_type(
    client: AppClient,
    store: ArtifactStore,
    value: Any,
    kind: str,
    content_type: str,
    starts: bytes,
) -> None:
    version = saved_version(client, store, value)
    entry = next(v for v in version["visualizations"] if v["type"] == kind)
    response = client.get(entry["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy
    assert "script-src" not in policy and "allow-scripts" not in policy
    assert response.content.startswith(starts)
    assert response.content == store.fs.cat_file(store.path(entry["uri"]))


def test_html_is_sandboxed_and_script_free(client: AppClient, store: ArtifactStore) -> None:
    frame = pd.DataFrame({"cell": ["<script>alert(document.cookie)</script>"]})
    version = saved_version(client, store, frame)
    response = client.get(version["visualizations"][0]["url"])
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2]
        for part in response.headers["content-security-policy"].split(";")
    )
    assert directives == {
        "sandbox": "",
        "default-src": "'none'",
        "style-src": "'unsafe-inline'",
        "img-src": "data:",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'self'",
    }
    assert b"<script" not in response.content and b"&lt;script&gt;" in response.content


def test_csv_from_a_custom_visualization(client: AppClient, store: ArtifactStore) -> None:
    uri = store.new_version_uri("step", "out")
    store.fs.pipe_file(store.path(uri + "data.bin"), b"x")
    store.fs.makedirs(store.path(uri + "visualizations"))
    store.fs.pipe_file(store.path(uri + "visualizations/t.csv"), b"a,b\n1,2\n")
    input = {
        "name": "csv",
        "uri": uri,
        "dataType": "builtins:bytes",
        "materializer": "sdk.materializers.builtin:BytesMaterializer",
        "visualizations": [{"type": "CSV", "uri": uri + "visualizations/t.csv"}],
    }
    response = client.get(register(client, input)["visualizations"][0]["url"])
    assert response.status_code == 200 and response.content == b"a,b\n1,2\n"
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


def test_unknown_versions_and_indexes_are_404(client: AppClient, store: ArtifactStore) -> None:
    version = saved_version(client, store, "text")
    assert client.get(f"/artifact-versions/{version['id']}/visualizations/0").status_code == 200
    for path in (
        f"/artifact-versions/{version['id']}/visualizations/1",
        f"/artifact-versions/{version['id']}/visualizations/-1",
        f"/artifact-versions/{uuid.uuid4()}/visualizations/0",
        "/artifact-versions/not-a-uuid/visualizations/0",
        f"/artifact-versions/{version['id']}/visualizations/..%2F..%2Fdata.json",
    ):
        assert client.get(path).status_code == 404, path
    without = saved_version(client, store, 42)
    assert without["visualizations"] == []
    assert client.get(f"/artifact-versions/{without['id']}/visualizations/0").status_code == 404


def test_a_deleted_file_is_404(client: AppClient, store: ArtifactStore) -> None:
    version = saved_version(client, store, "text")
    store.fs.rm(store.path(version["visualizations"][0]["uri"]))
    assert client.get(version["visualizations"][0]["url"]).status_code == 404


def test_registration_refuses_files_outside_the_version(
    client: AppClient, store: ArtifactStore
) -> None:
    uri = store.new_version_uri("step", "out")
    for outside in ("/etc/passwd", uri + "../other/x.html", store.uri + "/x.html"):
        input = {
            "name": "sneaky",
            "uri": uri,
            "dataType": "builtins:bytes",
            "materializer": "sdk.materializers.builtin:BytesMaterializer",
            "visualizations": [{"type": "HTML", "uri": outside}],
        }
        body = graphql(client, CREATE, input=input)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", outside


def test_files_outside_the_store_are_never_served(
    client: AppClient, store: ArtifactStore, tmp_path: Path
) -> None:
    secret = tmp_path / "elsewhere" / "visualizations" / "secret.html"
    secret.parent.mkdir(parents=True)
    secret.write_text("secret")
    input = {
        "name": "elsewhere",
        "uri": str(tmp_path / "elsewhere"),  # a version claimed outside the store: refused
        "dataType": "builtins:bytes",
        "materializer": "sdk.materializers.builtin:BytesMaterializer",
        "visualizations": [{"type": "HTML", "uri": str(secret)}],
    }
    body = graphql(client, CREATE, input=input)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "outside the store" in body["errors"][0]["message"]

    uri = store.new_version_uri("step", "out")  # inside the store, but a symlink leads out
    link = Path(store.path(uri)) / "visualizations" / "link.html"
    link.parent.mkdir()
    os.symlink(secret, link)
    input = {
        **input,
        "name": "linked",
        "uri": uri,
        "visualizations": [{"type": "HTML", "uri": str(link)}],
    }
    assert client.get(register(client, input)["visualizations"][0]["url"]).status_code == 404


def test_the_route_asks_for_a_read_token_when_the_server_has_tokens(
    settings: api.Settings, store: ArtifactStore
) -> None:
    from api.auth import hash_token

    read, write = "lqt_read-token", "lqt_write-token"
    with running(settings) as open_client:  # no tokens: open access
        url = saved_version(open_client, store, "text")["visualizations"][0]["url"]
    tokens = (f"read:{hash_token(read)}", f"write:{hash_token(write)}")
    with running(dataclasses.replace(settings, env_tokens=tokens)) as client:
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        for token in (read, write):
            response = client.get(url, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200 and response.content == b"text"
