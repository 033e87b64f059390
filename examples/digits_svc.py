"""Train a support vector classifier on scikit-learn's digits and load the model back.

No materializer stores an `sklearn.svm.SVC` exactly, so the SDK falls back to cloudpickle and
warns (PickleFallbackWarning): that warning is expected here. Such a model loads only on the
Python minor version that stored it.

    python examples/digits_svc.py
"""

from __future__ import annotations

import logging
from typing import Annotated

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from sdk import Client, pipeline, step

PIPELINE = "digits_pipeline"


@step
def digits_loader(
    test_size: float = 0.5,
) -> tuple[
    Annotated[np.ndarray, "digits_X_train"],
    Annotated[np.ndarray, "digits_X_test"],
    Annotated[np.ndarray, "digits_y_train"],
    Annotated[np.ndarray, "digits_y_test"],
]:
    """8x8 images of hand-written digits, flattened to 64 features, split in two halves."""
    digits = load_digits()
    X = digits.images.reshape((len(digits.images), -1))
    X_train, X_test, y_train, y_test = train_test_split(
        X, digits.target, test_size=test_size, shuffle=False
    )
    return X_train, X_test, y_train, y_test


@step
def train(
    X_train: np.ndarray, y_train: np.ndarray, gamma: float = 0.001
) -> Annotated[SVC, "svc_model"]:
    return SVC(gamma=gamma).fit(X_train, y_train)


@step
def evaluate(
    model: SVC, X_test: np.ndarray, y_test: np.ndarray
) -> Annotated[float, "svc_test_accuracy"]:
    return float(model.score(X_test, y_test))


@pipeline(name=PIPELINE)
def digits_pipeline(gamma: float = 0.001) -> None:
    X_train, X_test, y_train, y_test = digits_loader()
    model = train(X_train, y_train, gamma=gamma)
    evaluate(model, X_test, y_test)


def main() -> float:
    """Run the pipeline, then load the model of its last run and score it again."""
    run = digits_pipeline(gamma=0.001)
    accuracy = run.steps["evaluate"].outputs["svc_test_accuracy"].load()
    print(f"run {run.name}: {run.status}, test accuracy recorded by the step: {accuracy:.4f}")

    last_run = Client().get_pipeline(PIPELINE).last_run
    stored = last_run.steps["train"].outputs["svc_model"]
    model = stored.load()
    X_test = last_run.steps["evaluate"].inputs["X_test"].load()
    y_test = last_run.steps["evaluate"].inputs["y_test"].load()
    reloaded = float(model.score(X_test, y_test))
    print(
        f"loaded {stored.name}:{stored.version} ({type(model).__name__}, stored by "
        f"{stored.materializer.rsplit(':', 1)[-1]}); "
        f"accuracy on the {len(y_test)} test digits: {reloaded:.4f}"
    )
    return reloaded


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per request to a server
    main()
