"""Predictions with the model the last `model_finetuning_pipeline` run trained (run fine_tuning
first).

The model is found through the run that made it:
`Client().get_pipeline("model_finetuning_pipeline").last_run.steps["model_finetuner_step"]
.outputs["my_model"]`. It is used twice:

- outside any pipeline: load it, predict version "1" of `my_dataset`, and `save_artifact` the
  predictions as a new version of `digits_predictions`;
- inside `inference_pipeline`: the same `ArtifactVersion` passed as a step input. It is recorded
  as the step's input, so the model's `downstream()` lineage shows the predictions made from it.

    python examples/predictions.py
"""

from __future__ import annotations

import logging
from typing import Annotated

import numpy as np
from sklearn.svm import SVC

from sdk import ArtifactVersion, Client, ExternalArtifact, pipeline, save_artifact, step

TRAINING_PIPELINE = "model_finetuning_pipeline"
FINETUNER = "model_finetuner_step"


def trained_model() -> ArtifactVersion:
    """The model the last run of `model_finetuning_pipeline` produced."""
    last_run = Client().get_pipeline(TRAINING_PIPELINE).last_run
    return last_run.steps[FINETUNER].outputs["my_model"]


@step
def predict(
    model: SVC, dataset: tuple[np.ndarray, np.ndarray]
) -> Annotated[np.ndarray, "inference_predictions"]:
    features, _ = dataset
    return np.asarray(model.predict(features))


@pipeline
def inference_pipeline(model: ArtifactVersion) -> None:
    predict(model=model, dataset=ExternalArtifact(name="my_dataset", version="1"))


def main() -> ArtifactVersion:
    """Predict with the last trained model, save the predictions; return their version."""
    model_version = trained_model()
    model = model_version.load()
    features, labels = Client().get_artifact_version("my_dataset", "1").load()
    predictions = np.asarray(model.predict(features))
    saved = save_artifact(predictions, name="digits_predictions", tags=["SVC", "predictions"])
    print(
        f"{model_version.name}:{model_version.version} from the last {TRAINING_PIPELINE} run "
        f"predicted {len(predictions)} digits (accuracy {(predictions == labels).mean():.4f}); "
        f"saved as {saved.name}:{saved.version}"
    )

    run = inference_pipeline(model=model_version)
    made = run.steps["predict"].outputs["inference_predictions"]
    consumers = model_version.downstream(depth=1).consumers_of(model_version.id)
    print(
        f"run {run.name}: predict used {model_version.name}:{model_version.version} and made "
        f"{made.name}:{made.version}; consumers of the model: "
        + ", ".join(f"{c.name} in {c.run_name}" for c in consumers)
    )
    return saved


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per request to a server
    main()
