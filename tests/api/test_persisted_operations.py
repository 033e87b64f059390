"""Automatic persisted operations (Apollo's protocol) on POST /graphql, and the SDK's use of them.

Pinned by behaviour: what the server answers to a known hash, an unknown one, a hash that is
not the text's; that a hash grants nothing its text would not (scope, limits, batches); that
the store of documents stays bounded; and what the SDK's HttpTransport sends (counted at the
server) against servers with and without the protocol."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import api
import api.app
from api.auth import hash_token
from api.persisted import PersistedDocuments
from sdk.client.transport import HttpTransport
from sdk.errors import GraphQLError, OutcomeUnknownError
from tests.conftest import ROOT
from tests.net import free_port

URL = "http://testserver/graphql"
COUNT = "query Count { artifacts { totalCount } }"
PAGE = "query Page($first: Int) { artifacts(first: $first) { totalCount } }"
START_RUN = """
mutation ($input: StartPipelineRunInput!) { startPipelineRun(input: $input) { id name } }
"""
RUNS = "{ pipelineRuns { totalCount } }"
READ_TOKEN = "lqt_reader-" + "r" * 30
WRITE_TOKEN = "lqt_writer-" + "w" * 30


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(text: str, *, version: Any = 1, digest: str | None = None) -> dict[str, Any]:
    entry = {"version": version, "sha256Hash": sha256(text) if digest is None else digest}
    return {"persistedQuery": entry}


class Recorder:
    """ASGI wrapper keeping the JSON body of every POST the app receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.bodies: list[Any] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        self.bodies.append(json.loads(body))
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class Server:
    """The app in this process (TestClient), what it received, and its persisted documents."""

    def __init__(self, client: TestClient, recorder: Recorder, app: Any) -> None:
        self.client = client
        self.recorder = recorder
        self.documents: PersistedDocuments = app.state.persisted

    def post(self, body: Any, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post("/graphql", json=body, headers=headers)

    def transport(self, token: str | None = None, **options: Any) -> HttpTransport:
        return HttpTransport(URL, token, client=self.client, **options)

    @property
    def bodies(self) -> list[Any]:
        return self.recorder.bodies


def settings_for(database_url: str, tmp_path: Path, **extra: Any) -> api.Settings:
    return api.Settings(
        home=tmp_path / "home",
        database_url=database_url,
        artifact_store=str(tmp_path / "store"),
        **extra,
    )


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: persisted operations are the same on any database."""
    path = tmp_path / "metadata.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def serving(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    clients: list[TestClient] = []

    def start(**extra: Any) -> Server:
        app = api.create_app(settings_for(database_url, tmp_path, **extra))
        recorder = Recorder(app)
        client = TestClient(recorder, base_url="http://testserver")
        client.__enter__()  # runs the lifespan: the database is opened
        clients.append(client)
        return Server(client, recorder, app)

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def server(serving: Callable[..., Server]) -> Server:
    return serving()


@pytest.fixture
def secured(serving: Callable[..., Server]) -> Server:
    tokens = (f"reader:read:{hash_token(READ_TOKEN)}", f"writer:write:{hash_token(WRITE_TOKEN)}")
    return serving(env_tokens=tokens)


def only_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert isinstance(error, dict)
    return error


# --- the server ------------------------------------------------------------------------------


def test_unknown_hash_without_text_is_persisted_query_not_found(server: Server) -> None:
    response = server.post({"extensions": persisted(COUNT)})
    assert response.status_code == 200  # as Apollo answers it: the client sends the text then
    error = only_error(response)
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


def test_text_with_its_hash_runs_and_is_remembered_then_the_hash_alone_runs(
    server: Server,
) -> None:
    first = server.post({"query": COUNT, "extensions": persisted(COUNT)})
    assert first.status_code == 200
    assert first.json() == {"data": {"artifacts": {"totalCount": 0}}}
    assert sha256(COUNT) in server.documents

    again = server.post({"extensions": persisted(COUNT), "operationName": "Count"})
    assert again.status_code == 200
    assert again.json() == {"data": {"artifacts": {"totalCount": 0}}}


def test_hash_in_capitals_names_the_same_document(server: Server) -> None:
    server.post({"query": COUNT, "extensions": persisted(COUNT)})
    upper = server.post({"extensions": persisted(COUNT, digest=sha256(COUNT).upper())})
    assert upper.json() == {"data": {"artifacts": {"totalCount": 0}}}


def test_variables_are_those_of_each_request(server: Server) -> None:
    server.post({"query": PAGE, "variables": {"first": 1}, "extensions": persisted(PAGE)})
    response = server.post({"variables": {"first": 2}, "extensions": persisted(PAGE)})
    assert response.json() == {"data": {"artifacts": {"totalCount": 0}}}


def test_a_hash_that_is_not_the_texts_is_refused_and_nothing_runs(server: Server) -> None:
    other = sha256(RUNS)
    response = server.post(
        {
            "query": START_RUN,
            "variables": {"input": {"pipelineName": "p"}},
            "extensions": persisted(START_RUN, digest=other),
        }
    )
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "does not match" in error["message"] and "sha256Hash" in error["message"]
    assert other not in server.documents
    assert server.post({"query": RUNS}).json()["data"]["pipelineRuns"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("extensions", "words"),
    [
        (persisted(COUNT, version=2), "Unsupported persisted query version 2"),
        (persisted(COUNT, version="1"), "Unsupported persisted query version"),
        (persisted(COUNT, digest="abc"), "64 hex digits"),
        ({"persistedQuery": "yes"}, "must be an object"),
    ],
)
def test_malformed_persisted_query_extensions_are_400(
    server: Server, extensions: dict[str, Any], words: str
) -> None:
    for body in ({"extensions": extensions}, {"query": COUNT, "extensions": extensions}):
        response = server.post(body)
        assert response.status_code == 400, response.text
        error = only_error(response)
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert words in error["message"]


def test_a_document_that_does_not_validate_is_not_remembered(server: Server) -> None:
    broken = "{ artifacts { noSuchField } }"
    response = server.post({"query": broken, "extensions": persisted(broken)})
    assert only_error(response)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert sha256(broken) not in server.documents
    response = server.post({"extensions": persisted(broken)})
    assert only_error(response)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_a_mutation_by_hash_needs_the_write_scope(secured: Server) -> None:
    variables = {"input": {"pipelineName": "p"}}
    by_hash = {"variables": variables, "extensions": persisted(START_RUN)}
    # Refused to a read token with its text: not remembered either.
    refused = secured.post({"query": START_RUN, **by_hash}, READ_TOKEN)
    assert refused.status_code == 403
    assert only_error(refused)["extensions"]["code"] == "FORBIDDEN"
    assert sha256(START_RUN) not in secured.documents
    # A write token registers it; the read token's hash-only request is refused all the same.
    written = secured.post({"query": START_RUN, **by_hash}, WRITE_TOKEN)
    assert written.status_code == 200 and written.json()["data"]["startPipelineRun"]["name"]
    refused = secured.post(by_hash, READ_TOKEN)
    assert refused.status_code == 403
    error = only_error(refused)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "'reader'" in error["message"] and "write" in error["message"]
    # No token at all: 401 before any document is looked at.
    assert secured.post(by_hash).status_code == 401
    runs = secured.post({"query": RUNS}, READ_TOKEN).json()["data"]["pipelineRuns"]
    assert runs["totalCount"] == 1  # only the write token's run


def test_document_limits_apply_to_a_remembered_document(server: Server) -> None:
    """Even a document in the store (say, remembered under laxer limits) is checked again."""
    deep = "{ " + "artifacts { " * 20 + "totalCount" + " }" * 21
    server.documents.put(sha256(deep), deep)
    response = server.post({"extensions": persisted(deep)})
    error = only_error(response)
    assert response.status_code == 400
    assert error["extensions"] == {
        "code": "LIMIT_EXCEEDED",
        "limit": "maxQueryDepth",
        "maximum": 15,
    }


def test_page_limits_apply_to_requests_by_hash(serving: Callable[..., Server]) -> None:
    server = serving(max_page_size=2)
    server.post({"query": PAGE, "variables": {"first": 1}, "extensions": persisted(PAGE)})
    response = server.post({"variables": {"first": 3}, "extensions": persisted(PAGE)})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert error["extensions"]["limit"] == "maxPageSize"


def test_batches_resolve_each_operation_and_keep_their_limit(
    serving: Callable[..., Server],
) -> None:
    server = serving(max_batch_operations=3)
    server.post({"query": COUNT, "extensions": persisted(COUNT)})
    response = server.post(
        [
            {"extensions": persisted(COUNT)},
            {"extensions": persisted(RUNS)},
            {"query": RUNS, "extensions": persisted(RUNS)},
        ]
    )
    assert response.status_code == 200
    known, unknown, text = response.json()
    assert known == {"data": {"artifacts": {"totalCount": 0}}}
    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert text == {"data": {"pipelineRuns": {"totalCount": 0}}}
    too_many = server.post([{"extensions": persisted(COUNT)}] * 4)
    assert too_many.status_code == 400
    assert only_error(too_many)["extensions"]["limit"] == "maxBatchOperations"


def test_the_body_limit_applies_to_requests_by_hash(serving: Callable[..., Server]) -> None:
    server = serving(max_body_bytes=300)
    response = server.post({"variables": {"pad": "x" * 400}, "extensions": persisted(COUNT)})
    assert response.status_code == 413
    assert only_error(response)["extensions"]["limit"] == "maxBodyBytes"


def test_the_store_is_bounded_by_count_and_by_bytes() -> None:
    documents = PersistedDocuments(max_documents=3, max_bytes=100)
    for name in "abc":
        documents.put(name, name * 10)
    assert documents.get("a") == "a" * 10  # used: now the most recent
    documents.put("d", "d" * 10)  # a fourth: "b", the least recently used, goes
    assert "b" not in documents and len(documents) == 3
    assert {name for name in "acd" if name in documents} == {"a", "c", "d"}
    documents.put("e", "e" * 85)  # 115 bytes in all: "c" then "a" go
    assert "c" not in documents and "a" not in documents
    assert "d" in documents and "e" in documents
    assert documents.total_bytes == 95
    documents.put("huge", "h" * 101)  # larger than the whole store: not kept, nothing evicted
    assert "huge" not in documents and len(documents) == 2
    documents.put("d", "d" * 10)  # again: counted once
    assert documents.total_bytes == 95
    assert documents.get("nothing") is None


def test_a_server_evicts_documents_beyond_its_bound(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server.documents, "max_documents", 2)
    texts = [f"query Q{i} {{ artifacts {{ totalCount }} }}" for i in range(3)]
    for text in texts:
        assert "errors" not in server.post({"query": text, "extensions": persisted(text)}).json()
    assert len(server.documents) == 2
    first = server.post({"extensions": persisted(texts[0])})
    assert only_error(first)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    last = server.post({"extensions": persisted(texts[2])})
    assert last.json() == {"data": {"artifacts": {"totalCount": 0}}}


# --- the SDK's transport ---------------------------------------------------------------------


def test_the_sdk_sends_the_hash_and_the_text_only_when_the_server_asks(server: Server) -> None:
    transport = server.transport()
    assert transport.execute(COUNT) == {"artifacts": {"totalCount": 0}}
    miss, fallback = server.bodies
    assert "query" not in miss and miss["extensions"] == persisted(COUNT)
    assert fallback["query"] == COUNT and fallback["extensions"] == persisted(COUNT)

    del server.bodies[:]
    assert transport.execute(COUNT) == {"artifacts": {"totalCount": 0}}
    [hit] = server.bodies
    assert "query" not in hit and hit["extensions"] == persisted(COUNT)
    assert len(json.dumps(hit)) < len(json.dumps(fallback))


def test_the_fallback_is_no_retry_and_a_mutation_runs_once(secured: Server) -> None:
    transport = secured.transport(WRITE_TOKEN, retries=0)
    variables = {"input": {"pipelineName": "p"}}  # no clientKey: never sent twice
    run = transport.execute(START_RUN, variables)["startPipelineRun"]
    assert run["name"]
    assert [("query" in body) for body in secured.bodies] == [False, True]
    runs = transport.execute(RUNS)["pipelineRuns"]
    assert runs["totalCount"] == 1


def test_the_sdk_reports_errors_of_a_document_sent_by_hash(secured: Server) -> None:
    writer = secured.transport(WRITE_TOKEN)
    writer.execute(START_RUN, {"input": {"pipelineName": "p"}})
    reader = secured.transport(READ_TOKEN, retries=0)
    with pytest.raises(GraphQLError) as caught:
        reader.execute(START_RUN, {"input": {"pipelineName": "p"}})
    assert caught.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert "query" not in secured.bodies[-1]  # refused by hash: no fallback to the text


def mock_client(
    handler: Callable[[dict[str, Any]], httpx.Response],
) -> tuple[httpx.Client, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def respond(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        return handler(body)

    return httpx.Client(transport=httpx.MockTransport(respond)), seen


DATA = {"data": {"artifacts": {"totalCount": 7}}}
NOT_FOUND = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}


@pytest.mark.parametrize(
    "refusal",
    [
        # Strawberry, or another server, ignoring the extension: no query.
        httpx.Response(400, text="No GraphQL query found in the request"),
        httpx.Response(
            400, json={"errors": [{"message": "No GraphQL query found in the request"}]}
        ),
        # Apollo Server with persisted queries turned off.
        httpx.Response(
            200,
            json={
                "errors": [
                    {
                        "message": "PersistedQueryNotSupported",
                        "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
                    }
                ]
            },
        ),
    ],
)
def test_a_server_without_the_protocol_gets_the_text_from_then_on(
    refusal: httpx.Response,
) -> None:
    def handler(body: dict[str, Any]) -> httpx.Response:
        if "query" not in body or "extensions" in body:
            return refusal
        return httpx.Response(200, json=DATA)

    client, seen = mock_client(handler)
    transport = HttpTransport(URL, client=client, retries=0)
    assert transport.execute(COUNT) == DATA["data"]
    assert [("query" in b, "extensions" in b) for b in seen] == [(False, True), (True, False)]
    assert transport.execute(COUNT) == DATA["data"]
    assert seen[-1] == {"query": COUNT, "variables": {}}  # text only, no second try by hash
    assert len(seen) == 3


def test_the_sdk_hashes_each_document_once(server: Server) -> None:
    from sdk.client import transport as module

    module._sha256.cache_clear()
    transport = server.transport()
    for _ in range(3):
        transport.execute(COUNT)
    info = module._sha256.cache_info()
    assert info.misses == 1 and info.hits >= 2


def test_a_mutation_lost_after_the_fallback_is_outcome_unknown() -> None:
    """Not found, then the text is sent and no answer comes: that request may have run."""

    def handler(body: dict[str, Any]) -> httpx.Response:
        if "query" not in body:
            return httpx.Response(200, json=NOT_FOUND)
        raise httpx.ReadTimeout("no answer")

    client, seen = mock_client(handler)
    transport = HttpTransport(URL, client=client, retries=3, backoff=0)
    with pytest.raises(OutcomeUnknownError, match="after 1 attempt "):
        transport.execute(START_RUN, {"input": {"pipelineName": "p"}})
    assert len(seen) == 2


def test_a_query_retried_after_a_miss_keeps_sending_its_text() -> None:
    answers = iter([None, 503, 200])

    def handler(body: dict[str, Any]) -> httpx.Response:
        status = next(answers)
        if status is None:
            return httpx.Response(200, json=NOT_FOUND)
        return httpx.Response(status, json=DATA)

    client, seen = mock_client(handler)
    transport = HttpTransport(URL, client=client, retries=1, backoff=0)
    assert transport.execute(COUNT) == DATA["data"]
    assert [("query" in b) for b in seen] == [False, True, True]
    assert transport.persisted  # a miss is no reason to stop sending hashes


# --- serve(): the settings built in code reach every worker ----------------------------------

SERVE = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path

    import api
    import api.app

    root = Path(sys.argv[1])
    settings = api.Settings(
        home=root / "home",
        database_url=sys.argv[2],
        artifact_store=str(root / "store"),
        max_page_size=2,
    )
    before = dict(os.environ)
    try:
        api.app.serve(settings, port=int(sys.argv[3]), workers=2)
    finally:
        changed = [k for k in {*before, *os.environ} if before.get(k) != os.environ.get(k)]
        (root / "environ-changed.json").write_text(json.dumps(sorted(changed)))
    """
)


def test_serve_hands_settings_built_in_code_to_its_workers(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGEQL_")}
    env["LINEAGEQL_STORE_SECRET"] = os.environ.get("LINEAGEQL_STORE_SECRET", "x" * 40)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(tmp_path), database_url, str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("Application startup complete") < 2:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/graphql"
        body = {"query": PAGE, "variables": {"first": 3}}
        for _ in range(6):  # several connections: both workers answer in turn
            with httpx.Client(timeout=30) as client:
                error = client.post(url, json=body).json()["errors"][0]
            assert error["extensions"] == {
                "code": "LIMIT_EXCEEDED",
                "limit": "maxPageSize",
                "maximum": 2,
            }
        # The address bound reached the workers too: loopback, so Host names are checked.
        with httpx.Client(timeout=30) as client:
            refused = client.post(url, json={"query": COUNT}, headers={"Host": "evil.example"})
        assert refused.status_code == 400
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert json.loads((tmp_path / "environ-changed.json").read_text()) == []


def test_serve_leaves_the_environment_alone(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    configs: list[Any] = []

    def run(self: uvicorn.Server, sockets: Any = None) -> None:
        configs.append(self)
        self.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    before = dict(os.environ)
    settings = settings_for(database_url, tmp_path, max_page_size=7)
    api.app.serve(settings, port=free_port(), allowed_hosts=("api.example",))
    assert dict(os.environ) == before
    [server] = configs
    factory = server.config.app
    served = factory.args[0]
    assert served.max_page_size == 7
    assert served.bind_host == "127.0.0.1"
    assert served.allowed_hosts == ("api.example",)
    assert served.insecure_no_auth is False
