"""LineageQL's Python SDK: pipelines whose step outputs become named, versioned artifacts."""

from sdk.artifacts.config import ArtifactConfig, ExternalArtifact
from sdk.artifacts.functions import load_artifact, register_artifact, save_artifact
from sdk.client.client import Client
from sdk.errors import (
    ArtifactVersionExistsError,
    GraphQLError,
    InputError,
    LineageQLError,
    NotFoundError,
    TransportError,
)
from sdk.pipeline.steps import pipeline, step

__all__ = [
    "ArtifactConfig",
    "ArtifactVersionExistsError",
    "Client",
    "ExternalArtifact",
    "GraphQLError",
    "InputError",
    "LineageQLError",
    "NotFoundError",
    "TransportError",
    "load_artifact",
    "pipeline",
    "register_artifact",
    "save_artifact",
    "step",
]
