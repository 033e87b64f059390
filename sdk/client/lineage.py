"""Lineage views: a flat graph of artifact versions and step runs joined by PRODUCED and
CONSUMED edges, as `Client.get_lineage` and `ArtifactVersion.upstream()` hand it back.

Edges point the way data flows: `PRODUCED` goes step run → artifact version, `CONSUMED` goes
artifact version → step run (the version was an input of the step)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sdk.client.openlineage import OpenLineageRun
from sdk.client.views import ArtifactVersion, parse_time
from sdk.types import JsonObject

if TYPE_CHECKING:
    from sdk.client.client import Client
    from sdk.client.views import StepRun

PRODUCED = "PRODUCED"
CONSUMED = "CONSUMED"


@dataclass(frozen=True)
class LineageEdge:
    """`source` → `target`; `name` is the step's output name (PRODUCED) or input name
    (CONSUMED)."""

    source: str
    target: str
    kind: str
    name: str


@dataclass(frozen=True)
class StepRunNode:
    """A step run as a lineage node: cheap fields only; `.step_run` fetches the full view.

    A cached step run (`status == "CACHED"`) did not execute: it reused the outputs of
    `original_step_run_id`, which is the producer lineage shows for those outputs."""

    id: str
    name: str
    status: str
    run_id: str
    run_name: str
    pipeline_name: str
    original_step_run_id: str | None
    started_at: datetime | None
    ended_at: datetime | None
    client: Client = field(repr=False, compare=False)
    # The OpenLineage run it stands for, when another tool's events made it.
    openlineage: OpenLineageRun | None = field(default=None, compare=False)

    @classmethod
    def from_graphql(cls, data: JsonObject, client: Client) -> StepRunNode:
        return cls(
            id=data["id"],
            name=data["name"],
            status=data["status"],
            run_id=data["run"]["id"],
            run_name=data["run"]["name"],
            pipeline_name=data["run"]["pipeline"]["name"],
            original_step_run_id=(data.get("originalStepRun") or {}).get("id"),
            started_at=parse_time(data["startedAt"]),
            ended_at=parse_time(data["endedAt"]),
            client=client,
            openlineage=OpenLineageRun.from_answer(data.get("openlineage")),
        )

    @property
    def cached(self) -> bool:
        """Whether this run reused another run's outputs instead of executing."""
        return self.status == "CACHED" or self.original_step_run_id is not None

    @property
    def step_run(self) -> StepRun:
        """The full step run (parameters, inputs, outputs, error): one more request."""
        return self.client.get_step_run(self.id)


LineageNode = ArtifactVersion | StepRunNode


def node_from_graphql(data: JsonObject, client: Client) -> LineageNode:
    """The view for one `LineageNode` answer, told apart by `__typename`."""
    if data["__typename"] == "ArtifactVersion":
        return ArtifactVersion.from_graphql(data, client)
    return StepRunNode.from_graphql(data, client)


@dataclass(frozen=True, repr=False)
class LineageGraph:
    """Nodes (id → view) and edges of a lineage answer, all pages joined.

    `truncated` is True when `depth` cut the walk: some node at the edge of the answer has
    more lineage beyond it."""

    nodes: dict[str, LineageNode]
    edges: list[LineageEdge]
    truncated: bool

    @classmethod
    def from_pages(cls, pages: Sequence[JsonObject], client: Client) -> LineageGraph:
        """Joins `LineageGraph` answers page by page; the last page says if depth cut it."""
        nodes: dict[str, LineageNode] = {}
        edges: list[LineageEdge] = []
        for page in pages:
            for data in page["nodes"]:
                node = node_from_graphql(data, client)
                nodes[node.id] = node
            edges.extend(LineageEdge(**edge) for edge in page["edges"])
        return cls(nodes=nodes, edges=edges, truncated=bool(pages and pages[-1]["truncated"]))

    def __repr__(self) -> str:
        return (
            f"LineageGraph({len(self.nodes)} nodes, {len(self.edges)} edges, "
            f"truncated={self.truncated})"
        )

    def __iter__(self) -> Iterator[LineageNode]:
        """The nodes: `ArtifactVersion`s and `StepRunNode`s, in the order the API sent them."""
        return iter(self.nodes.values())

    def __len__(self) -> int:
        """How many nodes (artifact versions and step runs) the graph holds."""
        return len(self.nodes)

    def __contains__(self, item: object) -> bool:
        """Whether a node is in the graph: an `ArtifactVersion`, a `StepRunNode`, a full
        `StepRun` (matched by id), or an id (a `uuid.UUID` or its string)."""
        key = getattr(item, "id", item)
        return str(key) in self.nodes if key is not None else False

    def to_networkx(self) -> Any:
        """The graph as a `networkx.DiGraph`, to run graph algorithms on lineage
        (`nx.ancestors`, `nx.shortest_path`, `nx.topological_sort` …).

        Nodes are keyed by id, with attributes `kind` ("ARTIFACT_VERSION" or "STEP_RUN"),
        `name`, `version` or `status`, and `node` (the SDK view); edges point the way data
        flows, with attributes `kind` (PRODUCED or CONSUMED) and `name`.

        Raises:
            InputError: networkx is not installed (`pip install 'lineageql[networkx]'`).
        """
        try:
            import networkx as nx
        except ImportError as exc:
            from sdk.errors import InputError

            raise InputError(
                "LineageGraph.to_networkx() needs networkx: pip install 'lineageql[networkx]'"
            ) from exc
        graph = nx.DiGraph(truncated=self.truncated)
        for node in self.nodes.values():
            data = node_to_dict(node)
            graph.add_node(node.id, **{k: v for k, v in data.items() if k != "id"}, node=node)
        for edge in self.edges:
            graph.add_edge(edge.source, edge.target, kind=edge.kind, name=edge.name)
        return graph

    @property
    def artifact_versions(self) -> list[ArtifactVersion]:
        return [n for n in self.nodes.values() if isinstance(n, ArtifactVersion)]

    @property
    def step_runs(self) -> list[StepRunNode]:
        return [n for n in self.nodes.values() if isinstance(n, StepRunNode)]

    def producers_of(self, version_id: str) -> list[StepRunNode]:
        """The step run that produced the version (empty when saved, or outside the answer)."""
        return self._steps(e.source for e in self._into.get(version_id, ()) if e.kind == PRODUCED)

    def consumers_of(self, version_id: str) -> list[StepRunNode]:
        """Step runs in the answer that took the version as an input, oldest first."""
        edges = self._out_of.get(version_id, ())
        steps = self._steps(e.target for e in edges if e.kind == CONSUMED)
        return sorted(steps, key=lambda s: s.started_at.isoformat() if s.started_at else "")

    def inputs_of(self, step_id: str) -> list[ArtifactVersion]:
        """Input versions of the step run, in input-name order."""
        return self._versions(e.source for e in self._into.get(step_id, ()) if e.kind == CONSUMED)

    def outputs_of(self, step_id: str) -> list[ArtifactVersion]:
        """Output versions of the step run, in output-name order."""
        return self._versions(e.target for e in self._out_of.get(step_id, ()) if e.kind == PRODUCED)

    def to_dict(self) -> JsonObject:
        """A JSON-ready form: `{"nodes": [...], "edges": [...], "truncated": bool}`."""
        return {
            "nodes": [node_to_dict(node) for node in self.nodes.values()],
            "edges": [
                {"source": e.source, "target": e.target, "kind": e.kind, "name": e.name}
                for e in self.edges
            ],
            "truncated": self.truncated,
        }

    @cached_property
    def _into(self) -> dict[str, list[LineageEdge]]:
        return _index(self.edges, lambda e: e.target)

    @cached_property
    def _out_of(self) -> dict[str, list[LineageEdge]]:
        return _index(self.edges, lambda e: e.source)

    def _steps(self, ids: Iterable[str]) -> list[StepRunNode]:
        return [n for n in (self.nodes.get(i) for i in ids) if isinstance(n, StepRunNode)]

    def _versions(self, ids: Iterable[str]) -> list[ArtifactVersion]:
        return [n for n in (self.nodes.get(i) for i in ids) if isinstance(n, ArtifactVersion)]


def _index(
    edges: Iterable[LineageEdge], key: Callable[[LineageEdge], str]
) -> dict[str, list[LineageEdge]]:
    """Edges grouped by one endpoint, each group in edge-name order."""
    index: dict[str, list[LineageEdge]] = {}
    for edge in edges:
        index.setdefault(key(edge), []).append(edge)
    for group in index.values():
        group.sort(key=lambda e: e.name)
    return index


def node_to_dict(node: LineageNode) -> JsonObject:
    """One node as JSON-ready data, with `kind` ARTIFACT_VERSION or STEP_RUN."""
    if isinstance(node, ArtifactVersion):
        return {
            "kind": "ARTIFACT_VERSION",
            "id": node.id,
            "name": node.name,
            "version": node.version,
            "uri": node.uri,
            "source": node.source,
            "tags": list(node.tags),
            "aliases": list(node.aliases or ()),
            "created_at": node.created_at.isoformat(),
            "producer_id": node.producer_id,
            "openlineage": None if node.openlineage is None else node.openlineage.to_dict(),
        }
    return {
        "kind": "STEP_RUN",
        "id": node.id,
        "name": node.name,
        "status": node.status,
        "cached": node.cached,
        "run_id": node.run_id,
        "run_name": node.run_name,
        "pipeline_name": node.pipeline_name,
        "original_step_run_id": node.original_step_run_id,
        "started_at": node.started_at.isoformat() if node.started_at else None,
        "ended_at": node.ended_at.isoformat() if node.ended_at else None,
        "openlineage": None if node.openlineage is None else node.openlineage.to_dict(),
    }
