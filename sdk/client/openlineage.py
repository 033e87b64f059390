"""Where a run or an artifact version came from when another tool's OpenLineage events made it
(the `openlineage` attribute of `PipelineRun`, `StepRun`, `StepRunNode` and `ArtifactVersion`;
None for the store's own)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sdk.types import JsonObject

# The OpenLineage project's integrations and clients (`…/tree/1.23.0/integration/spark`).
_OPENLINEAGE = re.compile(
    r"github\.com/OpenLineage/OpenLineage/(?:tree|blob)/v?([^/]+)/(integration|client)/([^/?#]+)",
    re.IGNORECASE,
)
# Airflow's provider: `https://github.com/apache/airflow/tree/providers-openlineage/1.8.0`.
_AIRFLOW = re.compile(r"github\.com/apache/airflow/tree/providers-openlineage/([^/?#]+)", re.I)
# Any other repository: `https://github.com/{owner}/{repo}/tree/{ref}/...`.
_GITHUB = re.compile(r"github\.com/[^/]+/([^/]+)(?:/(?:tree|blob|releases/tag)/([^/?#]+))?", re.I)
LABEL_WIDTH = 40


def short_producer(producer: str) -> str:
    """A producer URI in a few words: `spark 1.23.0`, `dbt 1.23.0`, `python client 1.23.0`,
    `airflow 1.8.0`, `{repo} {ref}` for another GitHub repository, else the URI without its
    scheme (cut at 40 characters)."""
    found = _OPENLINEAGE.search(producer)
    if found is not None:
        version, kind, name = found.groups()
        what = f"{name} client" if kind.lower() == "client" else name
        return f"{what} {version}"
    found = _AIRFLOW.search(producer)
    if found is not None:
        return f"airflow {found.group(1)}"
    found = _GITHUB.search(producer)
    if found is not None:
        repo, ref = found.groups()
        return repo if ref is None else f"{repo} {ref}"
    text = re.sub(r"^[a-z][a-z0-9+.-]*://(www\.)?", "", producer.strip(), flags=re.I).rstrip("/")
    text = text or "unknown producer"
    return text if len(text) <= LABEL_WIDTH else text[: LABEL_WIDTH - 1] + "…"


@dataclass(frozen=True)
class OpenLineageRun:
    """The OpenLineage events applied to a run: who sent them, the job, how many, the last."""

    producer: str
    namespace: str
    job: str
    event_count: int
    last_event_type: str
    last_event_time: datetime

    @classmethod
    def from_answer(cls, data: JsonObject | None) -> OpenLineageRun | None:
        if data is None:
            return None
        return cls(
            producer=data["producer"],
            namespace=data["namespace"],
            job=data["job"],
            event_count=data["eventCount"],
            last_event_type=data["lastEventType"],
            last_event_time=datetime.fromisoformat(data["lastEventTime"]),
        )

    @property
    def label(self) -> str:
        """`[OpenLineage: spark 1.23.0]`: the mark the CLI prints."""
        return f"[OpenLineage: {short_producer(self.producer)}]"

    def to_dict(self) -> JsonObject:
        return {
            "producer": self.producer,
            "namespace": self.namespace,
            "job": self.job,
            "event_count": self.event_count,
            "last_event_type": self.last_event_type,
            "last_event_time": self.last_event_time.isoformat(),
        }


@dataclass(frozen=True)
class OpenLineageDataset:
    """The OpenLineage dataset a version stands for, and the producer of the event that first
    named it (its facets are in the version's `metadata["openlineage"]`)."""

    namespace: str
    name: str
    producer: str

    @classmethod
    def from_answer(cls, data: JsonObject | None) -> OpenLineageDataset | None:
        if data is None:
            return None
        return cls(namespace=data["namespace"], name=data["name"], producer=data["producer"])

    @property
    def label(self) -> str:
        """`[OpenLineage: dbt 1.23.0]`, or `[OpenLineage]` when the producer is unknown."""
        return (
            f"[OpenLineage: {short_producer(self.producer)}]" if self.producer else "[OpenLineage]"
        )

    def to_dict(self) -> JsonObject:
        return {"namespace": self.namespace, "name": self.name, "producer": self.producer}
