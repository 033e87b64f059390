"""Read-only views the SDK hands back, built from GraphQL answers (snake_case attributes)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, SupportsIndex, overload

from sdk.client.openlineage import OpenLineageDataset, OpenLineageRun
from sdk.errors import ArtifactDataDeletedError
from sdk.types import JsonObject, VisualizationType

if TYPE_CHECKING:
    from sdk.client.client import Client
    from sdk.client.lineage import LineageGraph


def parse_time(value: str | None) -> datetime | None:
    """A GraphQL `DateTime` (ISO 8601) as a datetime; None stays None."""
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Visualization:
    """A view of a version's data saved next to it."""

    type: VisualizationType  # html, markdown, image, csv or json (GraphQL's HTML, … converted)
    uri: str  # the file in the artifact store
    url: str  # where a server serves it: a path on the server, such as /artifact-versions/...


@dataclass(frozen=True)
class ArtifactVersion:
    id: str
    name: str
    version: str
    is_custom_version: bool
    uri: str
    data_type: str
    materializer: str
    content_hash: str | None
    size_bytes: int | None
    metadata: JsonObject
    tags: tuple[str, ...]
    created_at: datetime
    source: str
    producer_id: str | None
    client: Client = field(repr=False, compare=False)
    data_deleted_at: datetime | None = None  # set when prune deleted the data
    visualizations: tuple[Visualization, ...] = field(default=(), compare=False)
    # Where the data lies relative to the artifact store's root (None for a location recorded
    # outside the store): what stays true when the store is moved.
    store_path: str | None = None
    artifact_type: str = "DATA"  # DATA, MODEL, ... (ZenML's artifact types, by name)
    # The OpenLineage dataset it stands for, when another tool's events made it.
    openlineage: OpenLineageDataset | None = field(default=None, compare=False)
    # The aliases pointing at it (`production`, ...), where the answer asked for them (lineage
    # nodes do); None where it did not.
    aliases: tuple[str, ...] | None = field(default=None, compare=False)

    @classmethod
    def from_graphql(cls, data: JsonObject, client: Client) -> ArtifactVersion:
        created = parse_time(data["createdAt"])
        assert created is not None
        return cls(
            id=data["id"],
            name=data["name"],
            version=data["version"],
            is_custom_version=data["isCustomVersion"],
            uri=data["uri"],
            store_path=data.get("storePath"),
            artifact_type=data.get("artifactType") or "DATA",
            data_type=data["dataType"],
            materializer=data["materializer"],
            content_hash=data["contentHash"],
            size_bytes=data["sizeBytes"],
            metadata=data["metadata"] or {},
            tags=tuple(data.get("tags") or ()),  # not asked by LOAD_VERSION
            created_at=created,
            source=data["source"],
            producer_id=(data.get("producer") or {}).get("id"),
            client=client,
            data_deleted_at=parse_time(data.get("dataDeletedAt")),
            visualizations=tuple(
                Visualization(type=VisualizationType(v["type"]), uri=v["uri"], url=v["url"])
                for v in data.get("visualizations") or ()
            ),
            openlineage=OpenLineageDataset.from_answer(data.get("openlineage")),
            aliases=None if data.get("aliases") is None else tuple(data["aliases"]),
        )

    def visualize(self) -> None:
        """Show the visualizations saved with this version: inline in a Jupyter notebook,
        otherwise print where each file is (and its URL when the SDK talks to a server)."""
        from urllib.parse import urljoin

        from sdk.materializers import visuals

        server = getattr(self.client.transport, "url", None)
        notebook = visuals.in_notebook()
        items = [
            (
                v.type,
                v.uri,
                urljoin(server, v.url) if isinstance(server, str) else None,
                self.client.store.fs.cat_file(self.client.store.path(v.uri)) if notebook else None,
            )
            for v in self.visualizations
        ]
        visuals.show(items, f"{self.name}:{self.version}")

    def load(self, *, allow_untrusted: bool = False, verify: str | bool | None = None) -> Any:
        """The stored Python object, read back by the materializer that wrote it.

        First the data is checked against what was recorded when it was saved, at the level
        `verify` asks for: "full" (or True) recomputes the content hash, "size" checks that it
        exists with the recorded size, "off" (or False) checks nothing; unset, the
        environment variable LINEAGEQL_VERIFY decides, and without it "size" (see
        sdk.artifacts.verify).

        A pickled value is verified first (its signature by the store secret, and the Python
        version); `allow_untrusted=True` skips that: only for data whose origin you trust.

        Raises:
            ArtifactDataDeletedError: prune deleted this version's data (a NotFoundError).
            ArtifactDataMissingError: the data is not where it was saved (a FileNotFoundError).
            ArtifactDataChangedError: the data no longer matches its recorded hash or size.
        """
        from sdk.materializers import load_data

        if self.data_deleted_at is not None:
            raise _data_deleted_error(self)
        from sdk.artifacts.verify import data_uri, missing_file_error, verify_version
        from sdk.errors import ArtifactDataMissingError
        from sdk.materializers.base import allowing_untrusted

        verify_version(self, verify)
        try:
            with allowing_untrusted(allow_untrusted):
                uri, store = data_uri(self), self.client.store
                return load_data(uri, self.materializer, self.data_type, store)
        except ArtifactDataMissingError:
            raise
        except FileNotFoundError as exc:
            raise missing_file_error(self, exc) from exc

    def read(self) -> Any:
        """The legacy name of `load()` (ZenML's post-execution `output.read()`)."""
        return self.load()

    @cached_property
    def data(self) -> Any:
        """The loaded value, as `load()` returns it; loaded once per object, on first use
        (`best_model.data.score(...)`)."""
        return self.load()

    @property
    def producer(self) -> StepRun | None:
        """The step run that created this version, or None for a saved one."""
        return self.client.get_step_run(self.producer_id) if self.producer_id else None

    @property
    def run_metadata(self) -> dict[str, Any]:
        """Metadata logged on this version (`log_metadata`, `ArtifactConfig(run_metadata=...)`,
        `save_artifact(user_metadata=...)`), by key, read now; `metadata` is what the
        materializer extracted."""
        return self.client.run_metadata_of("ARTIFACT_VERSION", self.id)

    def upstream(self, depth: int = 3) -> LineageGraph:
        """How this version was made: its producer, the producer's inputs, their producers…

        Args:
            depth: artifact-to-artifact hops to walk; `truncated` tells whether it cut.
        """
        return self.client.get_lineage(self.id, direction="UPSTREAM", depth=depth)

    def downstream(self, depth: int = 3) -> LineageGraph:
        """What was built from this version, across pipelines: consumers, their outputs…

        Args:
            depth: artifact-to-artifact hops to walk; `truncated` tells whether it cut.
        """
        return self.client.get_lineage(self.id, direction="DOWNSTREAM", depth=depth)


class StepArtifacts(dict[str, ArtifactVersion]):
    """A step run's inputs or outputs, by output key (`output`, `output_0`, the Annotated name
    or its template such as `{split}_data`) and also by the artifact name it resolved to
    (`train_data`), when only one of them has that name."""

    def __missing__(self, key: str) -> ArtifactVersion:
        named = [v for v in self.values() if v.name == key]
        if len(named) == 1:
            return named[0]
        from sdk.errors import NotFoundError

        raise NotFoundError(
            f"no input or output is named {key!r}; names: {', '.join(map(repr, self)) or 'none'}"
            f" (artifact names: {', '.join(repr(v.name) for v in self.values()) or 'none'})"
        )

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        return sum(1 for v in self.values() if v.name == key) == 1

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except LookupError:
            return default


@dataclass(frozen=True)
class StepRun:
    id: str
    name: str
    status: str
    parameters: JsonObject
    inputs: dict[str, ArtifactVersion]
    outputs: dict[str, ArtifactVersion]
    cache_key: str | None
    code_hash: str | None
    error: str | None
    started_at: datetime | None
    ended_at: datetime | None
    original_step_run_id: str | None
    client: Client = field(repr=False, compare=False)
    cache_reason: str | None = None  # why it was cached, or why not
    original_run_id: str | None = None  # for a CACHED step: the pipeline run that executed it
    original_run_name: str | None = None
    # The OpenLineage run it stands for, when another tool's events made it.
    openlineage: OpenLineageRun | None = field(default=None, compare=False)

    @classmethod
    def from_graphql(cls, data: JsonObject, client: Client) -> StepRun:
        def edges(key: str) -> dict[str, ArtifactVersion]:
            return StepArtifacts(
                (e["name"], ArtifactVersion.from_graphql(e["artifactVersion"], client))
                for e in data[key]
            )

        original = data.get("originalStepRun") or {}
        return cls(
            id=data["id"],
            name=data["name"],
            status=data["status"],
            parameters=data["parameters"] or {},
            inputs=edges("inputs"),
            outputs=edges("outputs"),
            cache_key=data["cacheKey"],
            code_hash=data["codeHash"],
            error=data["error"],
            started_at=parse_time(data["startedAt"]),
            ended_at=parse_time(data["endedAt"]),
            original_step_run_id=original.get("id"),
            client=client,
            cache_reason=data.get("cacheReason"),
            original_run_id=(original.get("run") or {}).get("id"),
            original_run_name=(original.get("run") or {}).get("name"),
            openlineage=OpenLineageRun.from_answer(data.get("openlineage")),
        )

    @property
    def run_metadata(self) -> dict[str, Any]:
        """Metadata logged on this step run (`log_metadata` inside the step), by key."""
        return self.client.run_metadata_of("STEP_RUN", self.id)

    @property
    def original_step_run(self) -> StepRun | None:
        """For a CACHED step run: the run that really executed."""
        if self.original_step_run_id is None:
            return None
        return self.client.get_step_run(self.original_step_run_id)

    @property
    def output(self) -> ArtifactVersion:
        """The single output of a one-output step."""
        if len(self.outputs) != 1:
            raise ValueError(
                f"step {self.name!r} has {len(self.outputs)} outputs "
                f"({', '.join(self.outputs) or 'none'}); use .outputs[name]"
            )
        return next(iter(self.outputs.values()))


@dataclass(frozen=True)
class PipelineRun:
    """A pipeline run; its `steps` (step name → StepRun, in the order they ran) are read with
    the run, or on first access for the run a pipeline call returns (whose answer carries only
    the run, so that a caller who never looks at the steps never pays for them)."""

    id: str
    name: str
    pipeline_name: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None
    client: Client = field(repr=False, compare=False)
    loaded_steps: dict[str, StepRun] | None = field(default=None, repr=False, compare=False)
    # The OpenLineage run it stands for, when another tool's events made it.
    openlineage: OpenLineageRun | None = field(default=None, compare=False)

    @classmethod
    def from_graphql(cls, data: JsonObject, client: Client) -> PipelineRun:
        steps = data.get("steps")
        return cls(
            id=data["id"],
            name=data["name"],
            pipeline_name=data["pipeline"]["name"],
            status=data["status"],
            started_at=parse_time(data["startedAt"]),
            ended_at=parse_time(data["endedAt"]),
            error=data["error"],
            client=client,
            loaded_steps=(
                None
                if steps is None
                else {s["name"]: StepRun.from_graphql(s, client) for s in steps}
            ),
            openlineage=OpenLineageRun.from_answer(data.get("openlineage")),
        )

    @property
    def steps(self) -> dict[str, StepRun]:
        if self.loaded_steps is None:
            fetched = self.client.get_pipeline_run(self.id).loaded_steps
            object.__setattr__(self, "loaded_steps", fetched)
        assert self.loaded_steps is not None
        return self.loaded_steps

    @property
    def run_metadata(self) -> dict[str, Any]:
        """Metadata logged on this pipeline run, by key."""
        return self.client.run_metadata_of("PIPELINE_RUN", self.id)

    def get_step(self, step: str) -> StepRun:
        """The step run named `step` (ZenML's post-execution `run.get_step(step=...)`).

        Raises:
            NotFoundError: the run has no step of that name (the error lists them).
        """
        if step not in self.steps:
            from sdk.errors import NotFoundError

            raise NotFoundError(
                f"run {self.name!r} has no step {step!r}; its steps: "
                + (", ".join(map(repr, self.steps)) or "none")
            )
        return self.steps[step]


@dataclass(frozen=True)
class Pipeline:
    id: str
    name: str
    client: Client = field(repr=False, compare=False)

    @property
    def runs(self) -> list[PipelineRun]:
        """Every run of this pipeline, newest first."""
        return self.client.list_pipeline_runs(pipeline_name=self.name)

    @property
    def last_run(self) -> PipelineRun:
        runs = self.client.list_pipeline_runs(pipeline_name=self.name, limit=1)
        if not runs:
            from sdk.errors import NotFoundError

            raise NotFoundError(f"pipeline {self.name!r} has no runs yet")
        return runs[0]


@dataclass(frozen=True)
class Artifact:
    id: str
    name: str
    tags: tuple[str, ...]
    version_count: int
    latest_version: ArtifactVersion | None
    client: Client = field(repr=False, compare=False)

    @property
    def versions(self) -> ArtifactVersions:
        """Every version, oldest first; `versions["1"]` picks one by its version string."""
        return ArtifactVersions(self.client.list_artifact_versions(name=self.name))

    def load(self, *, allow_untrusted: bool = False, verify: str | bool | None = None) -> Any:
        """The latest version's data (see `ArtifactVersion.load` for `allow_untrusted` and
        `verify`)."""
        if self.latest_version is None:
            from sdk.errors import NotFoundError

            raise NotFoundError(f"artifact {self.name!r} has no versions")
        return self.latest_version.load(allow_untrusted=allow_untrusted, verify=verify)


class ArtifactVersions(list[ArtifactVersion]):
    """An artifact's versions, oldest first: a list (iteration, `len`, `[0]`, `[-1]`) that
    also takes a version string, as ZenML's dict of versions does: `versions["raw_2023"]`."""

    def __init__(self, versions: Iterable[ArtifactVersion] = ()) -> None:
        super().__init__(versions)

    @overload
    def __getitem__(self, key: SupportsIndex) -> ArtifactVersion: ...
    @overload
    def __getitem__(self, key: slice) -> list[ArtifactVersion]: ...
    @overload
    def __getitem__(self, key: str) -> ArtifactVersion: ...
    def __getitem__(
        self, key: SupportsIndex | slice | str
    ) -> ArtifactVersion | list[ArtifactVersion]:
        if not isinstance(key, str):
            return super().__getitem__(key)
        for version in self:
            if version.version == key:
                return version
        from sdk.errors import NotFoundError

        name = self[0].name if self else "the artifact"
        raise NotFoundError(
            f"{name} has no version {key!r}; its versions: "
            + (", ".join(repr(v.version) for v in self) or "none")
        )

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return any(version.version == item for version in self)
        return super().__contains__(item)

    def keys(self) -> list[str]:
        """The version strings, oldest first."""
        return [version.version for version in self]

    def get(self, version: str, default: Any = None) -> Any:
        """The version named `version`, or `default`."""
        try:
            return self[version]
        except LookupError:
            return default


def _data_deleted_error(version: ArtifactVersion) -> ArtifactDataDeletedError:
    """The error `load()` raises for a version whose data was pruned."""
    when = version.data_deleted_at
    at = f" on {when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if when else ""
    return ArtifactDataDeletedError(
        f"the data of artifact version {version.name}:{version.version} (id {version.id}) was "
        f"pruned from the artifact store{at}; only its metadata remains. Load another "
        "version, or save the data again as a new version."
    )
