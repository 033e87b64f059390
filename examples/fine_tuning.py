"""ZenML's "Manage artifacts" code example (model fine-tuning) as its docs write it, with the
`zenml` imports swapped for `sdk`: artifacts that live across pipelines.

1. `save_artifact(untrained_model, name="my_model", version="1", tags=["SVC", "untrained"])`
   stores an untrained SVC as version "1" of `my_model`, a custom version chosen by hand.
2. `model_finetuning_pipeline()` loads the digits as `my_dataset` (tagged "digits",
   "computer vision", "classification") and fine-tunes the latest `my_model` into its next
   automatic version, "2": automatic versions continue after the highest numeric version.
3. `model_finetuning_pipeline(dataset_version="1")` fine-tunes the latest model ("2") on version
   "1" of `my_dataset`, fetched with `Client().get_artifact_version(...)`, into version "3".
4. `load_artifact` gives the latest model and version "1" of the dataset to predict on.

Differences from the docs' code: `is_model_artifact=True` on the model's `ArtifactConfig` and
the `log_artifact_metadata` call are left out (this SDK has neither; the accuracy is printed),
and `model_finetuner_step` does not use the cache (see there).
The model and the `(X, y)` tuple are stored with the cloudpickle fallback, which warns.

Re-runnable on the same store: version "1" of `my_model` exists after the first run, so
saving it again raises ArtifactVersionExistsError and registers nothing (as in ZenML, a custom
version is created once); the example says so and goes on. `versioned_data_loader_step` is
cached on reruns, so `my_dataset` keeps version "1", and every run adds two fine-tuned models.

    python examples/fine_tuning.py
"""

from __future__ import annotations

import logging
from typing import Annotated, Optional, Tuple  # noqa: UP035  (as the docs write it)

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.svm import SVC

from sdk import (
    ArtifactConfig,
    ArtifactVersionExistsError,
    Client,
    load_artifact,
    pipeline,
    save_artifact,
    step,
)


@step
def versioned_data_loader_step() -> Annotated[
    Tuple[np.ndarray, np.ndarray],  # noqa: UP006
    ArtifactConfig(
        name="my_dataset",
        tags=["digits", "computer vision", "classification"],
    ),
]:
    """Loads the digits dataset as a tuple of flattened numpy arrays."""
    digits = load_digits()
    return (digits.images.reshape((len(digits.images), -1)), digits.target)


# Not in the docs: this store's cache keys on data, and refitting an SVC on the same digits
# gives the same bytes, so a rerun would reuse the last fit (ZenML keys on artifact ids and
# fits again); without the cache every run adds fine-tuned versions, as in ZenML.
@step(enable_cache=False)
def model_finetuner_step(
    model: ClassifierMixin,
    dataset: Tuple[np.ndarray, np.ndarray],  # noqa: UP006
) -> Annotated[
    ClassifierMixin,
    ArtifactConfig(name="my_model", tags=["SVC", "trained"]),
]:
    """Finetunes a given model on a given dataset."""
    model.fit(dataset[0], dataset[1])
    accuracy = model.score(dataset[0], dataset[1])
    print(f"  fine-tuned on {len(dataset[1])} digits, training accuracy {accuracy:.4f}")
    return model


@pipeline
def model_finetuning_pipeline(
    dataset_version: Optional[str] = None,  # noqa: UP045
    model_version: Optional[str] = None,  # noqa: UP045
):
    client = Client()
    # Either load a previous version of "my_dataset" or create a new one
    if dataset_version:
        dataset = client.get_artifact_version(
            name_id_or_prefix="my_dataset", version=dataset_version
        )
    else:
        dataset = versioned_data_loader_step()

    # Load the model to finetune
    # If no version is specified, the latest version of "my_model" is used
    model = client.get_artifact_version(name_id_or_prefix="my_model", version=model_version)

    # Finetune the model
    # This automatically creates a new version of "my_model"
    model_finetuner_step(model=model, dataset=dataset)


def main():
    # Save an untrained model as first version of "my_model"
    untrained_model = SVC(gamma=0.001)
    try:
        save_artifact(untrained_model, name="my_model", version="1", tags=["SVC", "untrained"])
        print('saved the untrained SVC as my_model:1 (tags "SVC", "untrained")')
    except ArtifactVersionExistsError:  # a rerun on the same store: "1" is taken, nothing saved
        print("my_model:1 exists already; the untrained SVC was not saved again")

    # Create a first version of "my_dataset" and train the model on it
    model_finetuning_pipeline()

    # Finetune the latest model on an older version of the dataset
    model_finetuning_pipeline(dataset_version="1")

    # Run inference with the latest model on an older version of the dataset
    latest_trained_model = load_artifact("my_model")
    old_dataset = load_artifact("my_dataset", version="1")
    latest_trained_model.predict(old_dataset[0])

    _report(latest_trained_model, old_dataset)


def _report(model: ClassifierMixin, dataset: Tuple[np.ndarray, np.ndarray]) -> None:  # noqa: UP006
    """What the walk-through made: the versions of `my_model` and the latest one's accuracy."""
    client = Client()
    versions = client.get_artifact("my_model").versions
    shown = ", ".join(f"{v.version}{' (custom)' if v.is_custom_version else ''}" for v in versions)
    print(f"my_model versions: {shown}")
    accuracy = (model.predict(dataset[0]) == dataset[1]).mean()
    print(f"latest my_model predicts my_dataset:1 with accuracy {accuracy:.4f}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per request to a server
    main()
