"""ZenML's "model fine-tuning" walk-through, adapted: artifacts that live across pipelines.

1. `save_artifact` stores an untrained SVC as version "1" of `my_model`, tagged SVC/untrained.
2. `training_pipeline()` loads the digits as `my_dataset` and fine-tunes the latest `my_model`
   (`ExternalArtifact(name="my_model")`, looked up when the run starts) into a new version.
3. `training_pipeline(dataset_version="1")` branches when it is composed: it takes version "1"
   of `my_dataset` (`ExternalArtifact(name="my_dataset", version="1")`) instead of loading.
4. `load_artifact` gives the latest model and version "1" of the dataset to predict on.

Differences from ZenML: version "1" of `my_model` is its first automatic version (plain numbers
are reserved for those, so `version="1"` is not passed); a step fed an ExternalArtifact never
uses the cache, while `data_loader` does, so reruns keep `my_dataset` at version "1". The model
and the `(X, y)` tuple are stored with the cloudpickle fallback, which warns.

Re-runnable on the same store: the untrained model is saved only once, and every run adds a
fine-tuned version of `my_model`.

    python examples/fine_tuning.py
"""

from __future__ import annotations

import logging
from typing import Annotated

import numpy as np
from sklearn.datasets import load_digits
from sklearn.svm import SVC

from sdk import (
    ArtifactConfig,
    Client,
    ExternalArtifact,
    NotFoundError,
    load_artifact,
    pipeline,
    save_artifact,
    step,
)
from sdk.views import ArtifactVersion

PIPELINE = "training_pipeline"
MODEL = "my_model"
DATASET = "my_dataset"

Dataset = tuple[np.ndarray, np.ndarray]


@step
def data_loader() -> Annotated[Dataset, DATASET]:
    """The 8x8 digit images flattened to 64 features, and their labels: one tuple artifact."""
    digits = load_digits()
    return digits.images.reshape((len(digits.images), -1)), digits.target


@step
def model_finetuner_step(
    model: SVC, dataset: Dataset
) -> Annotated[SVC, ArtifactConfig(name=MODEL, tags=["SVC", "trained"])]:
    """Fit the given model on the given dataset; the result is a new version of `my_model`."""
    features, labels = dataset
    model.fit(features, labels)
    print(f"  fine-tuned on {len(labels)} digits, training accuracy {model.score(*dataset):.4f}")
    return model


@pipeline(name=PIPELINE)
def training_pipeline(dataset_version: str | None = None) -> None:
    """Fine-tune the latest `my_model` on a new dataset, or on `dataset_version` of the old."""
    if dataset_version:
        dataset = ExternalArtifact(name=DATASET, version=dataset_version)
    else:
        dataset = data_loader()
    model = ExternalArtifact(name=MODEL)  # the latest version when the run starts
    model_finetuner_step(model=model, dataset=dataset)


def save_untrained_model() -> ArtifactVersion:
    """Version "1" of `my_model`: an untrained SVC, saved the first time only."""
    client = Client()
    try:
        existing = client.get_artifact_version(MODEL, "1")
    except NotFoundError:
        saved = save_artifact(SVC(gamma=0.001), name=MODEL, tags=["SVC", "untrained"])
        print(f"saved the untrained SVC as {saved.name}:{saved.version} (tags {list(saved.tags)})")
        return saved
    print(f"{existing.name}:{existing.version} exists already (tags {list(existing.tags)})")
    return existing


def describe(run_step: str, run_name: str, inputs: dict[str, ArtifactVersion]) -> str:
    used = ", ".join(f"{name}={v.name}:{v.version}" for name, v in sorted(inputs.items()))
    return f"run {run_name}: {run_step} used {used}"


def main() -> ArtifactVersion:
    """Run the walk-through; return the latest version of `my_model`."""
    save_untrained_model()
    for dataset_version in (None, "1"):
        run = training_pipeline(dataset_version=dataset_version)
        finetuner = run.steps["model_finetuner_step"]
        produced = finetuner.outputs[MODEL]
        print(describe("model_finetuner_step", run.name, finetuner.inputs))
        print(f"  -> {produced.name}:{produced.version} (tags {list(produced.tags)})")

    latest_model = load_artifact(MODEL)
    features, labels = load_artifact(DATASET, version="1")
    predictions = latest_model.predict(features)
    print(f"latest {MODEL} predicts {DATASET}:1 with accuracy {(predictions == labels).mean():.4f}")
    latest = Client().get_artifact_version(MODEL)
    upstream = latest.upstream(depth=100).artifact_versions
    chain = ", ".join(f"{v.name}:{v.version}" for v in sorted(upstream, key=_created))
    print(f"upstream of {latest.name}:{latest.version}: {chain}")
    return latest


def _created(version: ArtifactVersion) -> tuple[str, str]:
    return version.created_at.isoformat(), version.name


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per request to a server
    main()
