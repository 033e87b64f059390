"""LineageQL's Python SDK: pipelines whose step outputs become named, versioned artifacts."""

from sdk.artifacts.config import ArtifactConfig, ArtifactType, ExternalArtifact
from sdk.artifacts.functions import load_artifact, register_artifact, save_artifact
from sdk.client.client import Client
from sdk.client.lineage import LineageGraph
from sdk.client.views import Artifact, ArtifactVersion, Pipeline, PipelineRun, StepRun
from sdk.errors import (
    ArtifactVersionExistsError,
    GraphQLError,
    InputError,
    LineageQLError,
    NotFoundError,
    TransportError,
)
from sdk.metadata import DType, Path, StorageSize, Uri, log_metadata
from sdk.pipeline.steps import pipeline, step

__all__ = [
    "Artifact",
    "ArtifactConfig",
    "ArtifactType",
    "ArtifactVersion",
    "ArtifactVersionExistsError",
    "Client",
    "DType",
    "ExternalArtifact",
    "GraphQLError",
    "InputError",
    "LineageGraph",
    "LineageQLError",
    "NotFoundError",
    "Path",
    "Pipeline",
    "PipelineRun",
    "StepRun",
    "StorageSize",
    "TransportError",
    "Uri",
    "load_artifact",
    "log_metadata",
    "pipeline",
    "register_artifact",
    "save_artifact",
    "step",
]
