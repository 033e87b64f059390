"""`Client`: typed methods over GraphQL documents, answering with the SDK's views."""

from __future__ import annotations

import difflib
import os
import re
import threading
import uuid
import weakref
from collections.abc import Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sdk import metadata as run_metadata_syntax
from sdk.client import operations as ops
from sdk.client.lineage import LineageGraph
from sdk.client.records import (
    Alias,
    AliasMove,
    ArtifactSummary,
    ArtifactVersionRef,
    BatchResult,
    FinishedStep,
    StartedRun,
    StartedStep,
    StepOutput,
    StepStart,
    VersionDiff,
    VersionInput,
    outputs_of,
)
from sdk.client.transport import Transport, make_transport
from sdk.client.views import Artifact, ArtifactVersion, Pipeline, PipelineRun, StepRun
from sdk.errors import (
    AliasConflictError,
    ArtifactVersionExistsError,
    DatabaseBusyError,
    GraphQLError,
    InputError,
    LineageQLError,
    NotFoundError,
)
from sdk.settings import PREFIX, Settings, prefixed
from sdk.types import IdLike, JsonObject

MetadataFilters = Mapping[str, Any] | Sequence[tuple[str, Any]] | str | Sequence[str]

if TYPE_CHECKING:
    from sdk.artifacts.store import ArtifactStore
    from sdk.prune.execute import PruneResult
    from sdk.prune.plan import PrunePlan

PAGE = 200

# Tag mutations (kept here with the methods that send them; validated by the tag tests).

SIMILAR_NAMES_SCANNED = 1000  # artifact names searched for near misses of an unknown name
CANDIDATES_SHOWN = 10  # runs an ambiguous id prefix lists
_ID_PREFIX = re.compile(r"^[0-9A-Fa-f-]+$")
_VERSION_SEPARATOR = re.compile(r"(?<!:):(?!:)")  # name:version; `::` belongs to default names
LINEAGE_PAGE = 2000  # nodes per lineage request; lowered to the server's maximum if smaller
DIRECTIONS = ("UPSTREAM", "DOWNSTREAM", "BOTH")
NODE_KINDS = ("ARTIFACT_VERSION", "STEP_RUN")


def translate(error: GraphQLError) -> LineageQLError:
    """The SDK error for an API error code (the GraphQLError itself when none fits)."""
    first = error.errors[0] if error.errors else {}
    extensions = first.get("extensions") or {}
    message = str(first.get("message", error))
    if error.code == "NOT_FOUND":
        return NotFoundError(message)
    if error.code == "CONFLICT" and extensions.get("reason") == "ARTIFACT_VERSION_EXISTS":
        return ArtifactVersionExistsError(message)
    if error.code == "CONFLICT" and extensions.get("reason") in ("ALIAS_MOVED", "ALIAS_PROTECTED"):
        return AliasConflictError(message)
    if error.code == "BAD_USER_INPUT":
        return InputError(message)
    if error.code == "DATABASE_BUSY":
        return DatabaseBusyError(f"{message} (LINEAGEQL_HOME or LINEAGEQL_DATABASE_URL names it)")
    return error


def split_name_version(text: str) -> tuple[str, str | None]:
    """NAME or NAME:VERSION as (name, version); the `::` of `pipeline::step::output` stays in
    the name, so `pipeline::step::output:2` is version 2 of that artifact.

    Raises:
        InputError: a colon with nothing before or after it.
    """
    separators = [match.start() for match in _VERSION_SEPARATOR.finditer(text)]
    if not separators:
        return text, None
    name, version = text[: separators[-1]], text[separators[-1] + 1 :]
    if not name or not version:
        raise InputError(f"{text!r} is not NAME or NAME:VERSION (e.g. `model` or `model:3`)")
    return name, version


def _choice(argument: str, value: str, allowed: tuple[str, ...]) -> str:
    """`value` upper-cased when it is one of `allowed`, else InputError naming them."""
    if value.upper() not in allowed:
        raise InputError(f"{argument} must be one of {', '.join(allowed)} (got {value!r})")
    return value.upper()


def _timestamp(as_of: datetime | None) -> str | None:
    if as_of is None:
        return None
    if as_of.tzinfo is None:
        raise InputError(
            f"as_of must be timezone-aware (got naive {as_of.isoformat()}): pass e.g. "
            "datetime.now(UTC) or value.replace(tzinfo=UTC)"
        )
    return as_of.isoformat()


def _page_limit(error: GraphQLError) -> int | None:
    """The server's maximum lineage page size when `error` says the page asked was larger."""
    extensions = (error.errors[0].get("extensions") or {}) if error.errors else {}
    maximum = extensions.get("maximum")
    if error.code != "LIMIT_EXCEEDED" or extensions.get("limit") != "maxLineagePageSize":
        return None
    return maximum if isinstance(maximum, int) and maximum > 0 else None


def _one_of(
    given: IdLike | None,
    alias: IdLike | None,
    name: str = "name_or_id",
    alias_name: str = "name_id_or_prefix",
) -> IdLike:
    """The one of an argument and its alias that was given."""
    if (given is None) == (alias is None):
        which = "both" if given is not None else "neither"
        raise InputError(f"give one of {name} or {alias_name}, not {which}")
    chosen = given if given is not None else alias
    assert chosen is not None
    return chosen


def _metadata_conditions(*filters: MetadataFilters | None) -> list[JsonObject] | None:
    """The `MetadataCondition`s of `metadata=` and `run_metadata=` (ZenML's name) together."""
    found = [c for given in filters for c in run_metadata_syntax.conditions(given) or []]
    return found or None


def _tag_lists(add: Sequence[str] | None, remove: Sequence[str] | None) -> dict[str, list[str]]:
    """`addTags`/`removeTags` variables; one string instead of a list is refused."""
    lists: dict[str, list[str]] = {}
    for key, argument, tags in (
        ("addTags", "add_tags", add),
        ("removeTags", "remove_tags", remove),
    ):
        if isinstance(tags, str | bytes):
            raise InputError(
                f"{argument} takes a list of tags, not one string: write {argument}=[{tags!r}]"
            )
        lists[key] = list(tags or [])
    return lists


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def id_text(value: object, what: str = "id") -> str:
    """An id given as a `uuid.UUID` or its string, as the text GraphQL takes."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return value
    raise InputError(
        f"{what} must be a uuid.UUID or a string, got {type(value).__name__} {value!r}"
    )


@dataclass(frozen=True)
class StackArtifactStore:
    """The artifact store as ZenML's `Client().active_stack.artifact_store` shows it: `path`
    is the store's root URI (a plain absolute path for a local store), to build locations
    for `register_artifact` with `os.path.join`."""

    path: str


@dataclass(frozen=True)
class ActiveStack:
    """What `Client().active_stack` offers: the one artifact store this SDK writes to."""

    artifact_store: StackArtifactStore


@dataclass
class _ServerInfo:
    artifact_store: str
    store_id: str | None
    claimed: set[str] = field(default_factory=set)  # identities written (or found) at the root


_reported_stores: weakref.WeakKeyDictionary[Transport, _ServerInfo] = weakref.WeakKeyDictionary()


class Client:
    """The SDK's one way to talk to the API: typed verbs over GraphQL documents, answering
    with the SDK's views.

    `Client()` is the active client (`with client:` or `client.activate()` chose one in this
    context), else the default one for the LINEAGEQL_* environment: LINEAGEQL_URL (a server)
    when set, else the embedded store under LINEAGEQL_HOME (default `./.lineageql`). Pass a
    `transport` (e.g. `HttpTransport(url, client=httpx_client)`) or `settings` to build another.
    """

    def __init__(
        self, transport: Transport | None = None, *, settings: Settings | None = None
    ) -> None:
        self.settings: Settings
        self.transport: Transport
        if transport is None and settings is None:
            base = current_client()
            self.settings, self.transport = base.settings, base.transport
        else:
            self.settings = settings or Settings.from_env()
            self.transport = transport or make_transport(self.settings)
        self._store: ArtifactStore | None = None
        self._tokens: list[Token[Client | None]] = []

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Client:
        """A new client (with its own transport) for the LINEAGEQL_* variables of `env`
        (default `os.environ`)."""
        return cls(settings=Settings.from_env(env))

    def activate(self) -> Client:
        """Make this the client that `Client()`, the facade functions and pipeline runs use in
        the current context (thread or task) from now on."""
        _active.set(self)
        return self

    def __enter__(self) -> Client:
        self._tokens.append(_active.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _active.reset(self._tokens.pop())

    def close(self) -> None:
        """Release the transport (an embedded database, or HTTP connections). Closing the
        default client (or a `Client()` sharing its transport) lets the next `Client()` build
        a new one."""
        with _default_lock:
            if _default and _default[0].transport is self.transport:
                _default.clear()
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> JsonObject:
        """Run any GraphQL document; returns `data`, raises GraphQLError on errors."""
        return self.transport.execute(query, variables)

    def request_key(self, chosen: str | None = None) -> str | None:
        """The idempotency key (`clientKey`) for one request that creates something: `chosen`
        or a new UUID, fixed before the first attempt, so that a transport that sends the
        request again after a lost answer gets what the first attempt created. None where no
        answer can be lost (the embedded store runs in this process) and keys would only cost
        two statements per request."""
        if not getattr(self.transport, "repeats_requests", False):
            return None
        return chosen or uuid.uuid4().hex

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> JsonObject:
        """Like `graphql`, with API errors turned into the SDK's own error types."""
        try:
            return self.transport.execute(document, variables)
        except GraphQLError as exc:
            translated = translate(exc)
            if translated is exc:
                raise  # keeps its cause: the exception behind an embedded store's error
            raise translated from None

    @property
    def store(self) -> ArtifactStore:
        """The artifact store: LINEAGEQL_ARTIFACT_STORE, else the one the API reports. Its
        identity (`.lineageql/store.json` at its root) is written on first use."""
        if self._store is None:
            from sdk.artifacts.store import ArtifactStore

            configured = self.settings.artifact_store
            if configured:  # no round trip; prune writes the identity after its checks
                self._store = ArtifactStore(configured)
                return self._store
            info = self._server_info()
            store = ArtifactStore(info.artifact_store)
            if info.store_id is not None and info.store_id not in info.claimed:
                store.claim(info.store_id)
                info.claimed.add(info.store_id)
            self._store = store
        return self._store

    @property
    def active_stack(self) -> ActiveStack:
        """ZenML's spelling of the store: `Client().active_stack.artifact_store.path` is the
        root URI of `Client().store`. A local store's folder is created if missing, so that
        paths built from it can be written at once."""
        store = self.store
        if store.local:
            os.makedirs(store.root, exist_ok=True)
        return ActiveStack(StackArtifactStore(store.uri))

    @property
    def store_id(self) -> str | None:
        """The identity of the store the database describes (None from an older server)."""
        return self._server_info().store_id

    def _server_info(self) -> _ServerInfo:
        """What the API reports of its store, asked once per transport (a `Client()` is made
        per `save_artifact` call; the answer never changes while the process runs)."""
        known = _reported_stores.get(self.transport)
        if known is None:
            data = self.execute(ops.SERVER_INFO)["serverInfo"]
            known = _ServerInfo(str(data["artifactStore"]), data.get("storeId"))
            _reported_stores[self.transport] = known
        return known

    def _pages(
        self, document: str, path: tuple[str, ...], variables: JsonObject, limit: int | None
    ) -> list[JsonObject]:
        nodes: list[JsonObject] = []
        after: str | None = None
        while limit is None or len(nodes) < limit:
            first = PAGE if limit is None else min(PAGE, limit - len(nodes))
            data: Any = self.execute(document, {**variables, "first": first, "after": after})
            for key in path:
                data = data[key] if data is not None else None
            if data is None:
                break
            nodes.extend(edge["node"] for edge in data["edges"])
            if not data["pageInfo"]["hasNextPage"]:
                break
            after = data["pageInfo"]["endCursor"]
        return nodes

    # Recording: the verbs a pipeline run and save/register send.

    def start_pipeline_run(
        self, pipeline: str, *, run_name: str | None, heartbeat_interval: float | None
    ) -> StartedRun:
        start = {
            "pipelineName": pipeline,
            "runName": run_name,
            "clientKey": self.request_key(),
            "heartbeatInterval": heartbeat_interval,
        }
        data = self.execute(ops.START_PIPELINE_RUN, {"input": start})["startPipelineRun"]
        return StartedRun(id=data["id"], name=data["name"])

    def record_heartbeat(self, run_id: str) -> None:
        self.execute(ops.RECORD_HEARTBEAT, {"runId": run_id})

    def finish_pipeline_run(self, run_id: str, status: str, error: str | None) -> PipelineRun:
        """Close the run; the answer holds the whole run, steps and versions included."""
        finish = {
            "runId": run_id,
            "status": status,
            "error": error,
            "clientKey": self.request_key(),
        }
        data = self.execute(ops.FINISH_PIPELINE_RUN, {"input": finish})["finishPipelineRun"]
        return PipelineRun.from_graphql(data, self)

    def start_step(self, start: StepStart) -> StartedStep:
        """Start a step run: also the cache check (a CACHED answer carries its outputs)."""
        variables = {"input": start.variables(self.request_key())}
        return StartedStep.from_answer(
            self.execute(ops.START_STEP_RUN, variables)["startStepRun"], self
        )

    def finish_step(self, step_run_id: str, outputs: Sequence[StepOutput]) -> FinishedStep:
        """Complete a step run, registering all its outputs in one transaction."""
        finish = {
            "stepRunId": step_run_id,
            "status": "COMPLETED",
            "outputs": [
                {"outputName": o.output_name, "artifact": o.version.variables()} for o in outputs
            ],
            "clientKey": self.request_key(),
        }
        data = self.execute(ops.FINISH_STEP_RUN, {"input": finish})["finishStepRun"]
        return FinishedStep(id=data["id"], status=data["status"], outputs=outputs_of(data, self))

    def fail_step(self, step_run_id: str, error: str) -> None:
        failed = {
            "stepRunId": step_run_id,
            "status": "FAILED",
            "error": error,
            "clientKey": self.request_key(),
        }
        self.execute(ops.FINISH_STEP_RUN, {"input": failed})

    def create_version(
        self, version: VersionInput, *, source: str, client_key: str | None = None
    ) -> ArtifactVersion:
        """Register a version whose data is already in the store (source SAVED, EXTERNAL or
        REGISTERED); `client_key` (when requests can be repeated) makes a retry idempotent."""
        variables = {
            "input": version.variables(),
            "source": source,
            "clientKey": self.request_key(client_key),
        }
        data = self.execute(ops.CREATE_ARTIFACT_VERSION, variables)["createArtifactVersion"]
        return ArtifactVersion.from_graphql(data, self)

    # Deleting: the verbs prune sends (sdk.prune plans and executes with them).

    def version_refs(self, *, unused: bool = False) -> list[ArtifactVersionRef]:
        """Every version (or only those no step run produced or consumed), in the few fields
        prune works from."""
        document = ops.UNUSED_VERSIONS if unused else ops.VERSION_URIS
        nodes = self._pages(document, ("artifactVersions",), {}, None)
        return [ArtifactVersionRef.from_answer(node) for node in nodes]

    def mark_data_deleted(self, ids: Sequence[str]) -> BatchResult:
        """Mark versions data-deleted (the API skips those a run uses)."""
        data = self.execute(ops.MARK_DATA_DELETED, {"ids": list(ids)})
        return BatchResult.from_answer(data["markArtifactVersionsDataDeleted"])

    def delete_versions(self, ids: Sequence[str]) -> BatchResult:
        """Delete versions' metadata (the API skips those a run uses)."""
        data = self.execute(ops.DELETE_VERSIONS, {"ids": list(ids)})
        return BatchResult.from_answer(data["deleteArtifactVersions"])

    def delete_version_metadata(self, version_id: str) -> bool:
        """Delete one version's metadata; True when its artifact went with it. A version a
        run uses is refused (CONFLICT naming the runs)."""
        data = self.execute(ops.DELETE_VERSION, {"id": version_id})["deleteArtifactVersion"]
        return bool(data["artifactRemoved"])

    def delete_artifact_version(
        self, version: ArtifactVersion, *, delete_data: bool = True
    ) -> bool:
        """Delete one version no run uses: its data (never registered data, nor files another
        version shares) and its metadata; True when its artifact went with it."""
        from sdk.prune.execute import delete_artifact_version

        return delete_artifact_version(self, version, delete_data=delete_data)

    def prune(
        self,
        *,
        only_artifact: bool = False,
        only_metadata: bool = False,
        ignore_errors: bool = False,
        include_registered: bool = False,
        orphans: bool = False,
        orphan_grace: timedelta | None = None,
        dry_run: bool = False,
    ) -> PruneResult | PrunePlan:
        """Delete the versions no step run produced or consumed, as `lineageql artifacts
        prune` does (without asking); with `dry_run`, the plan instead."""
        from sdk.prune.execute import prune_artifacts
        from sdk.prune.plan import DEFAULT_ORPHAN_GRACE

        return prune_artifacts(
            self,
            only_artifact=only_artifact,
            only_metadata=only_metadata,
            ignore_errors=ignore_errors,
            include_registered=include_registered,
            orphans=orphans,
            orphan_grace=DEFAULT_ORPHAN_GRACE if orphan_grace is None else orphan_grace,
            dry_run=dry_run,
        )

    def reap_abandoned_runs(self) -> list[PipelineRun]:
        """Record the runs whose heartbeats stopped as ABANDONED (with their open steps)."""
        runs = self.execute(ops.REAP_ABANDONED_RUNS)["reapAbandonedRuns"]
        return [PipelineRun.from_graphql(run, self) for run in runs]

    def get_artifact(self, name: str) -> Artifact:
        data = self.execute(ops.GET_ARTIFACT, {"name": name})["artifact"]
        if data is None:
            raise self.unknown_artifact(name)
        return self._artifact(data)

    def _artifact(self, data: JsonObject) -> Artifact:
        latest = data.get("latestVersion")
        return Artifact(
            id=data["id"],
            name=data["name"],
            tags=tuple(data["tags"]),
            version_count=data["versionCount"],
            latest_version=ArtifactVersion.from_graphql(latest, self) if latest else None,
            client=self,
        )

    def get_artifact_version(
        self,
        name_or_id: IdLike | None = None,
        version: str | int | None = None,
        *,
        name_id_or_prefix: IdLike | None = None,
    ) -> ArtifactVersion:
        """By id (a `uuid.UUID` or its string), or by name and version (the latest when
        `version` is None). `name_id_or_prefix=` is ZenML's name for the first argument.

        Raises:
            NotFoundError: no such version, artifact or id.
            InputError: both or neither of `name_or_id` and `name_id_or_prefix`, or a
                `uuid.UUID` with a `version`.
        """
        return self._version(_one_of(name_or_id, name_id_or_prefix), version, ops.GET_VERSION)

    def version_to_load(
        self, name_or_id: IdLike, version: str | int | None = None
    ) -> ArtifactVersion:
        """`get_artifact_version` for `load_artifact`: the same lookup and errors, answered by
        the lean LOAD_VERSION document, so the view has no tags, visualizations, producer or
        OpenLineage dataset. For loading its data only; not handed to the caller."""
        return self._version(name_or_id, version, ops.LOAD_VERSION)

    def _version(
        self, name_or_id: IdLike, version: str | int | None, document: str
    ) -> ArtifactVersion:
        if isinstance(name_or_id, uuid.UUID):
            if version is not None:
                raise InputError(
                    f"version={version!r} picks a version of an artifact by name; an id "
                    f"({name_or_id}) names one version already"
                )
            found = self._find_version(document, id=str(name_or_id))
            if found is None:
                raise NotFoundError(f"no artifact version has id {str(name_or_id)!r}")
            return found
        name_or_id = id_text(name_or_id, "name_or_id")
        if version is None and _is_uuid(name_or_id):
            found = self._find_version(document, id=name_or_id)
            if found is not None:
                return found
        wanted = None if version is None else str(version)
        found = self._find_version(document, name=name_or_id, version=wanted)
        if found is None and version is None and "@" in name_or_id:
            name, alias = name_or_id.rsplit("@", 1)
            return self.get_aliased_version(name, alias)
        if found is None:
            raise self._missing_version(name_or_id, wanted)
        return found

    def diff(self, a: IdLike | ArtifactVersion, b: IdLike | ArtifactVersion) -> VersionDiff:
        """What differs from version `a` to version `b`: content (hash and size), data type
        and materializer, metadata keys added/removed/changed, a DataFrame's schema and row
        count or an array's shape and dtype, and the inputs and parameters of the step runs
        that produced them. Versions of different artifacts may be compared.

        Each side is an `ArtifactVersion`, an id (a `uuid.UUID` or its string), or a string
        `name:version`, `name@alias` or `name` (its latest version), found as by
        `get_artifact_version`.

        Raises:
            NotFoundError: no such version, artifact, alias or id.
        """

        def version_id(side: IdLike | ArtifactVersion) -> str:
            if isinstance(side, ArtifactVersion):
                return side.id
            text = id_text(side, "a version to compare")
            if isinstance(side, uuid.UUID) or _is_uuid(text):
                return str(uuid.UUID(text))  # an unknown id: NOT_FOUND naming it, from the API
            try:
                name, version = split_name_version(text)
            except InputError:  # a colon at an end: an artifact name, if one is so named
                name, version = text, None
            if version is not None:
                found = self.find_artifact_version(name=name, version=version)
                if found is not None:
                    return found.id
                if self.find_artifact_version(name=text) is None:  # nor a name with a colon
                    return self.get_artifact_version(name, version).id  # its NotFoundError
            return self.get_artifact_version(text).id

        variables = {"a": version_id(a), "b": version_id(b)}
        data = self.execute(ops.COMPARE_VERSIONS, variables)["compareArtifactVersions"]
        return VersionDiff.from_answer(data, self)

    def find_artifact_version(
        self, *, id: str | None = None, name: str | None = None, version: str | None = None
    ) -> ArtifactVersion | None:
        """The version with this id, or this name and version (the latest when None); None
        when there is none."""
        return self._find_version(ops.GET_VERSION, id=id, name=name, version=version)

    def _find_version(
        self,
        document: str,
        *,
        id: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> ArtifactVersion | None:
        variables = {"id": id} if id is not None else {"name": name, "version": version}
        data = self.execute(document, variables)["artifactVersion"]
        return None if data is None else ArtifactVersion.from_graphql(data, self)

    def get_aliased_version(self, name: str, alias: str) -> ArtifactVersion:
        """The version `name@alias` points at (`latest`: the newest one).

        Raises:
            NotFoundError: no such artifact, or no such alias of it (the message lists its
                aliases)."""
        data = self.execute(ops.GET_VERSION_BY_ALIAS, {"name": name, "alias": alias})
        if data["artifactVersion"] is not None:
            return ArtifactVersion.from_graphql(data["artifactVersion"], self)
        known = [entry.name for entry in self.list_aliases(name)]
        listed = ", ".join(repr(a) for a in ["latest", *known])
        raise NotFoundError(f"artifact {name!r} has no alias {alias!r}; its aliases: {listed}")

    def list_aliases(self, name: str) -> list[Alias]:
        """The aliases of artifact `name`."""
        artifact = self.execute(ops.ARTIFACT_ALIASES, {"name": name})["artifact"]
        if artifact is None:
            raise self.unknown_artifact(name)
        return [Alias.from_answer(entry) for entry in artifact["aliases"]]

    def set_alias(
        self,
        name: str,
        alias: str,
        version: str | int | None = None,
        *,
        protected: bool | None = None,
        force: bool = False,
    ) -> Alias:
        """Point `name@alias` at `version` (the latest when None), creating or moving it.

        It says which version it saw the alias at, so when another client moved it in between
        (two promotions at once) this one fails instead of silently winning.

        Raises:
            AliasConflictError: moved meanwhile (the message names where it points now), or
                protected and `force` not given.
            NotFoundError: no such artifact or version.
        """
        seen = {entry.name: entry.version for entry in self.list_aliases(name)}
        variables = {
            "name": name,
            "alias": alias,
            "version": None if version is None else str(version),
            "protected": protected,
            "force": force,
            "expectedVersion": seen.get(alias, ""),
        }
        data = self.execute(ops.SET_ARTIFACT_ALIAS, variables)["setArtifactAlias"]
        return Alias.from_answer(data)

    def remove_alias(self, name: str, alias: str, *, force: bool = False) -> None:
        """Remove `name@alias` (the version stays); a protected one needs `force`."""
        variables = {"name": name, "alias": alias, "force": force, "expectedVersion": None}
        self.execute(ops.REMOVE_ARTIFACT_ALIAS, variables)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of the artifact's aliases (of `alias` when given), oldest first."""
        artifact = self.execute(ops.ALIAS_HISTORY, {"name": name, "alias": alias})["artifact"]
        if artifact is None:
            raise self.unknown_artifact(name)
        return [AliasMove.from_answer(move) for move in artifact["aliasHistory"]]

    def unknown_artifact(self, name: str, detail: str = "") -> NotFoundError:
        """`no artifact is named 'x'`, with the names of existing artifacts close to it."""
        names = [artifact.name for artifact in self.list_artifacts(limit=SIMILAR_NAMES_SCANNED)]
        close = difflib.get_close_matches(name, [n for n in names if n != name], n=3)
        quoted = [repr(n) for n in close]
        choices = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
        hint = f" (did you mean {choices}?)" if close else ""
        return NotFoundError(f"no artifact is named {name!r}{detail}{hint}")

    def _missing_version(self, name: str, version: str | None) -> NotFoundError:
        artifact = self.execute(ops.LATEST_VERSION_NAMES, {"name": name})["artifact"]
        if artifact is None:
            return self.unknown_artifact(name, " (and no artifact version has that id)")
        existing = [edge["node"]["version"] for edge in artifact["versions"]["edges"]]
        if version is None:
            return NotFoundError(f"artifact {name!r} has no versions yet")
        return NotFoundError(
            f"artifact {name!r} has no version {version!r}; latest versions: "
            + ", ".join(repr(v) for v in existing)
        )

    def update_artifact(
        self,
        name: str,
        add_tags: Sequence[str] | None = None,
        remove_tags: Sequence[str] | None = None,
    ) -> Artifact:
        """Add and remove tags of the artifact `name`, in one transaction; returns it updated.

        Adding a tag it has, or removing one it has not, changes nothing.

        Raises:
            NotFoundError: no artifact is named `name`.
            InputError: a refused tag (nothing is changed then).
        """
        variables = {"name": name, **_tag_lists(add_tags, remove_tags)}
        return self._artifact(self.execute(ops.UPDATE_ARTIFACT, variables)["updateArtifact"])

    def update_artifact_version(
        self,
        name_or_id: IdLike,
        version: str | int | None = None,
        add_tags: Sequence[str] | None = None,
        remove_tags: Sequence[str] | None = None,
    ) -> ArtifactVersion:
        """Add and remove tags of one version, in one transaction; returns it updated.

        The version is found as by `get_artifact_version`: by id, or by name and version (the
        latest when `version` is None).

        Raises:
            NotFoundError: no such artifact, version or id.
            InputError: a refused tag (nothing is changed then).
        """
        tags = _tag_lists(add_tags, remove_tags)
        name_or_id = id_text(name_or_id, "name_or_id")
        if version is None and _is_uuid(name_or_id):
            where: JsonObject = {"id": name_or_id}
        else:
            where = {"name": name_or_id, "version": None if version is None else str(version)}
        data = self.execute(ops.UPDATE_ARTIFACT_VERSION, {**where, **tags})
        return ArtifactVersion.from_graphql(data["updateArtifactVersion"], self)

    def get_pipeline(self, name: str) -> Pipeline:
        data = self.execute(ops.GET_PIPELINE, {"name": name})["pipeline"]
        if data is None:
            raise NotFoundError(f"no pipeline is named {name!r}; it exists after its first run")
        return Pipeline(id=data["id"], name=data["name"], client=self)

    def get_pipeline_run(
        self, name_id_or_prefix: IdLike | None = None, *, id: IdLike | None = None
    ) -> PipelineRun:
        """A run by its id (a `uuid.UUID` or its string), its name, or a prefix of its id
        that only it has, as ZenML's `name_id_or_prefix`.

        Raises:
            NotFoundError: no run has that id, name or id prefix.
            InputError: several runs have ids with that prefix (the error lists them).
        """
        wanted = _one_of(name_id_or_prefix, id, "name_id_or_prefix", "id")
        text = id_text(wanted, "a run's id, name or id prefix").strip()
        if _is_uuid(text):  # an id first, in one round trip (then a name, then a prefix)
            data = self.execute(ops.GET_PIPELINE_RUN, {"id": str(uuid.UUID(text))})["pipelineRun"]
            if data is not None:
                return PipelineRun.from_graphql(data, self)
        run_id = self.resolve_run_id(wanted)
        data = self.execute(ops.GET_PIPELINE_RUN, {"id": run_id})["pipelineRun"]
        if data is None:
            raise NotFoundError(f"no pipeline run has id {run_id!r}")
        return PipelineRun.from_graphql(data, self)

    def resolve_run_id(self, name_id_or_prefix: IdLike) -> str:
        """The id of the run named by its id, its name, or a unique prefix of its id (tried
        in that order).

        Raises:
            NotFoundError: no run has that id, name or id prefix.
            InputError: several runs have ids with that prefix (the error lists them).
        """
        text = id_text(name_id_or_prefix, "a run's id, name or id prefix").strip()
        if _is_uuid(text):
            found = self.execute(ops.RUN_ID, {"id": str(uuid.UUID(text))})["pipelineRun"]
            if found is not None:
                return str(found["id"])
            if isinstance(name_id_or_prefix, uuid.UUID):
                raise NotFoundError(f"no pipeline run has id {text!r}")
        named, _ = self._run_candidates({"name": text}, 1)
        if named:
            return str(named[0]["id"])
        if text and _ID_PREFIX.match(text):
            candidates, total = self._run_candidates({"idPrefix": text}, CANDIDATES_SHOWN)
            if total == 1:
                return str(candidates[0]["id"])
            if total > 1:
                listed = "; ".join(
                    f"{c['id']} ({c['name']}, pipeline {c['pipeline']['name']})" for c in candidates
                )
                more = f"; and {total - len(candidates)} more" if total > len(candidates) else ""
                raise InputError(
                    f"{total} pipeline runs have ids starting with {text!r}: {listed}{more}. "
                    "Give more of the id, or the run's name."
                )
        raise NotFoundError(
            f"no pipeline run has the id, name or id prefix {text!r}; "
            "`lineageql runs list` shows the runs"
        )

    def _run_candidates(self, flt: JsonObject, first: int) -> tuple[list[JsonObject], int]:
        data = self.execute(ops.RUN_CANDIDATES, {"filter": flt, "first": first})["pipelineRuns"]
        return [edge["node"] for edge in data["edges"]], int(data["totalCount"])

    def get_step_run(self, id: IdLike) -> StepRun:
        id = id_text(id)
        data = self.execute(ops.GET_STEP_RUN, {"id": id})["stepRun"]
        if data is None:
            raise NotFoundError(f"no step run has id {id!r}")
        return StepRun.from_graphql(data, self)

    def list_artifacts(
        self,
        *,
        name_contains: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
        has_custom_name: bool | None = None,
    ) -> list[Artifact]:
        """Artifacts by name; `has_custom_name=True` leaves out default names
        (`pipeline::step::output`), False keeps only those."""
        flt = {"nameContains": name_contains, "tag": tag, "hasCustomName": has_custom_name}
        nodes = self._pages(ops.LIST_ARTIFACTS, ("artifacts",), {"filter": flt}, limit)
        return [self._artifact(node) for node in nodes]

    def artifact_summaries(
        self,
        *,
        tag: str | None = None,
        has_custom_name: bool | None = None,
        limit: int | None = None,
    ) -> list[ArtifactSummary]:
        """Artifacts by name as a listing shows them; with `tag`, those tagged so themselves
        or through a version (`tagged_version_count` says how many of their versions)."""
        flt = {"tag": tag, "hasCustomName": has_custom_name}
        if tag is None:
            nodes = self._pages(ops.ARTIFACT_SUMMARIES, ("artifacts",), {"filter": flt}, limit)
        else:
            variables = {"filter": flt, "tag": tag}
            nodes = self._pages(ops.TAGGED_ARTIFACT_SUMMARIES, ("artifacts",), variables, limit)
        return [ArtifactSummary.from_answer(node) for node in nodes]

    def count_artifacts(
        self, *, tag: str | None = None, has_custom_name: bool | None = None
    ) -> int:
        flt = {"tag": tag, "hasCustomName": has_custom_name}
        return int(self.execute(ops.ARTIFACT_COUNT, {"filter": flt})["artifacts"]["totalCount"])

    def list_artifact_versions(
        self,
        *,
        name: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
        metadata: MetadataFilters | None = None,
        run_metadata: MetadataFilters | None = None,
        sort_by: str | None = None,
    ) -> list[ArtifactVersion]:
        """Versions in creation order (of one artifact when `name` is given).

        `metadata` (or `run_metadata`, ZenML's name) filters by logged metadata in ZenML's
        syntax: `{"accuracy": "gt:0.9", "stage": "prod"}`, or as ZenML 0.98 spells it,
        `"accuracy:gt:0.9"` or a list of such strings; `sort_by="desc:metadata:accuracy"`
        orders by a key's value (only versions that have it)."""
        conditions = _metadata_conditions(metadata, run_metadata)
        order = run_metadata_syntax.order(sort_by)
        if name is not None and tag is None and not conditions and order is None:
            nodes = self._pages(
                ops.ARTIFACT_VERSIONS, ("artifact", "versions"), {"name": name}, limit
            )
        else:
            flt = {"artifactName": name, "tag": tag, "metadata": conditions}
            variables = {"filter": flt, "orderBy": order}
            nodes = self._pages(ops.LIST_VERSIONS, ("artifactVersions",), variables, limit)
        return [ArtifactVersion.from_graphql(node, self) for node in nodes]

    def list_step_runs(
        self,
        *,
        pipeline_run_id: IdLike | None = None,
        name: str | None = None,
        status: str | None = None,
        pipeline_name: str | None = None,
        metadata: MetadataFilters | None = None,
        run_metadata: MetadataFilters | None = None,
        sort_by: str | None = None,
        limit: int | None = None,
    ) -> list[StepRun]:
        """Step runs of every run (or of one), newest first; `metadata` and `sort_by` as in
        `list_artifact_versions`."""
        flt = {
            "runId": None if pipeline_run_id is None else id_text(pipeline_run_id),
            "name": name,
            "status": None if status is None else status.upper(),
            "pipelineName": pipeline_name,
            "metadata": _metadata_conditions(metadata, run_metadata),
        }
        variables = {"filter": flt, "orderBy": run_metadata_syntax.order(sort_by)}
        nodes = self._pages(ops.LIST_STEP_RUNS, ("stepRuns",), variables, limit)
        return [StepRun.from_graphql(node, self) for node in nodes]

    def log_metadata_on(self, target: JsonObject, values: list[JsonObject]) -> dict[str, Any]:
        """Log `values` (`MetadataEntryInput`s, see sdk.metadata) on the one owner `target`
        names; answers the owner's run metadata now."""
        data = self.execute(ops.LOG_METADATA, {"input": {**target, "values": values}})
        return run_metadata_syntax.decoded(data["logMetadata"]["runMetadata"])

    def run_metadata_of(self, owner: str, id: str) -> dict[str, Any]:
        """The logged metadata of an ARTIFACT_VERSION, STEP_RUN or PIPELINE_RUN, by key."""
        document, field = {
            "ARTIFACT_VERSION": (ops.VERSION_RUN_METADATA, "artifactVersion"),
            "STEP_RUN": (ops.STEP_RUN_METADATA, "stepRun"),
            "PIPELINE_RUN": (ops.PIPELINE_RUN_METADATA, "pipelineRun"),
        }[owner]
        found = self.execute(document, {"id": id})[field]
        if found is None:
            raise NotFoundError(f"no {owner.lower().replace('_', ' ')} has id {id!r}")
        return run_metadata_syntax.decoded(found["runMetadata"])

    def list_pipeline_runs(
        self,
        *,
        pipeline_name: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        with_steps: bool = True,
        metadata: MetadataFilters | None = None,
        run_metadata: MetadataFilters | None = None,
        sort_by: str | None = None,
    ) -> list[PipelineRun]:
        """Runs, newest first; without `with_steps`, each run's steps are read when first
        asked for (a listing that shows only the runs reads less). `metadata` and `sort_by`
        as in `list_artifact_versions`."""
        flt = {
            "pipelineName": pipeline_name,
            "status": status,
            "metadata": _metadata_conditions(metadata, run_metadata),
        }
        document = ops.PIPELINE_RUNS if with_steps else ops.RUN_SUMMARIES
        variables = {"filter": flt, "orderBy": run_metadata_syntax.order(sort_by)}
        nodes = self._pages(document, ("pipelineRuns",), variables, limit)
        return [PipelineRun.from_graphql(node, self) for node in nodes]

    def list_pipelines(self, *, limit: int | None = None) -> list[Pipeline]:
        nodes = self._pages(ops.LIST_PIPELINES, ("pipelines",), {}, limit)
        return [Pipeline(id=n["id"], name=n["name"], client=self) for n in nodes]

    def get_lineage(
        self,
        id: IdLike,
        direction: str = "BOTH",
        depth: int = 3,
        *,
        artifact_name: str | None = None,
        tag: str | None = None,
        node_kind: str | None = None,
        latest_only: bool = False,
        as_of: datetime | None = None,
    ) -> LineageGraph:
        """The lineage around an artifact version or step run, every page fetched.

        Args:
            id: an artifact version's or step run's id.
            direction: "UPSTREAM" (how it was made), "DOWNSTREAM" (what was built from it)
                or "BOTH"; any case.
            depth: artifact-to-artifact hops to walk (the server caps it: LIMIT_EXCEEDED
                beyond); the graph's `truncated` says whether depth cut the answer.
            artifact_name, tag: keep only versions of that artifact / with that tag (then no
                step runs are kept), and the edges between kept nodes.
            node_kind: "ARTIFACT_VERSION" or "STEP_RUN": keep only that kind of node.
            latest_only: keep only the newest version of each artifact (as of `as_of`).
            as_of: a timezone-aware moment: answer as the store stood then.

        Raises:
            NotFoundError: no version or step run has that id (at `as_of`).
            InputError: a malformed id or a refused argument.
        """
        kind = None if node_kind is None else _choice("node_kind", node_kind, NODE_KINDS)
        variables = {
            "id": id_text(id),
            "direction": _choice("direction", direction, DIRECTIONS),
            "depth": depth,
            "filter": {
                "artifactName": artifact_name,
                "tag": tag,
                "nodeKind": kind,
                "latestOnly": latest_only,
            },
            "asOf": _timestamp(as_of),
        }
        return LineageGraph.from_pages(self._lineage_pages(variables), self)

    def _lineage_pages(self, variables: JsonObject) -> list[JsonObject]:
        """Every page of a `lineage` answer, following `endCursor` until the last."""
        pages: list[JsonObject] = []
        after: str | None = None
        size = LINEAGE_PAGE
        while True:
            try:
                data = self.execute(ops.LINEAGE, {**variables, "first": size, "after": after})
            except GraphQLError as exc:
                smaller = _page_limit(exc)
                if smaller is None or smaller >= size:
                    raise
                size = smaller
                continue
            pages.append(data["lineage"])
            page_info = data["lineage"]["pageInfo"]
            if not page_info["hasNextPage"] or page_info["endCursor"] is None:
                return pages
            after = page_info["endCursor"]

    def get_lineage_path(
        self, from_id: IdLike, to_id: IdLike, *, as_of: datetime | None = None
    ) -> LineageGraph:
        """Every chain of step runs and versions by which `to_id` was derived from `from_id`
        (an empty graph when it was not), as the store stood at `as_of` when given."""
        variables = {
            "from": id_text(from_id, "from_id"),
            "to": id_text(to_id, "to_id"),
            "asOf": _timestamp(as_of),
        }
        data = self.execute(ops.LINEAGE_PATH, variables)["lineagePath"]
        return LineageGraph.from_pages([data], self)


_active: ContextVar[Client | None] = ContextVar("lineageql_client", default=None)
_default: list[Client] = []  # the default client of the latest environment seen (one slot)
_default_lock = threading.Lock()


def current_client() -> Client:
    """The active client of this context, else the default client for the environment: built
    on first use and again whenever the LINEAGEQL_* variables change."""
    active = _active.get()
    if active is not None:
        return active
    # The settings are a function of these variables alone: the same ones, the same client.
    seen = prefixed(PREFIX)
    with _default_lock:
        if not _default or _default[0].settings.environment != seen:
            _default[:] = [Client(settings=Settings.from_env(dict(seen)))]
        return _default[0]


def resolve(client: Client | None) -> Client:
    """`client` when given, else the current one."""
    return client if client is not None else current_client()
