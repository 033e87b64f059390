"""ZenML docs, "Artifacts" / "Accessing artifacts in steps": a step compares the model it
trained with the previous best model, read through `Client().get_artifact_version(...).data`."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.svm import SVC

from sdk import Client, pipeline, save_artifact, step
from sdk.client.client import Client as ClientFromModule

pytestmark = [
    pytest.mark.usefixtures("lineageql"),
    pytest.mark.filterwarnings("ignore::sdk.materializers.PickleFallbackWarning"),
]


def digits() -> tuple[np.ndarray, np.ndarray]:
    data = load_digits()
    return data.images.reshape((len(data.images), -1)), data.target


@step
def load_test_data() -> tuple[Annotated[np.ndarray, "X_test"], Annotated[np.ndarray, "y_test"]]:
    X, y = digits()
    return X[1000:1300], y[1000:1300]


@step
def train_model(samples: int) -> Annotated[SVC, "model"]:
    X, y = digits()
    return SVC(gamma=0.001).fit(X[:samples], y[:samples])


# As the docs write it (the import of `Client` swapped to sdk.client.client).
@step
def evaluate_against_previous(model, X_test, y_test) -> float:
    """Compare current model with the previous best model."""
    client = ClientFromModule()

    # Get the previous best model
    best_model = client.get_artifact_version("best_model")

    # Use it for comparison
    previous_accuracy = best_model.data.score(X_test, y_test)
    current_accuracy = model.score(X_test, y_test)

    return current_accuracy - previous_accuracy


@pipeline
def comparing_pipeline(samples: int = 600) -> None:
    X_test, y_test = load_test_data()
    evaluate_against_previous(train_model(samples), X_test, y_test)


def test_best_model_data_as_the_docs_write_it() -> None:
    X, y = digits()
    previous = SVC(gamma=0.001).fit(X[:60], y[:60])
    saved = save_artifact(previous, name="best_model")

    run = comparing_pipeline()

    X_test, y_test = X[1000:1300], y[1000:1300]
    current = SVC(gamma=0.001).fit(X[:600], y[:600])
    expected = current.score(X_test, y_test) - previous.score(X_test, y_test)
    evaluation = run.steps["evaluate_against_previous"]
    gain = evaluation.outputs["output"]
    assert gain.load() == pytest.approx(expected)
    assert gain.load() > 0  # 600 samples beat 60

    best_model = Client().get_artifact_version("best_model")
    assert (best_model.id, best_model.version) == (saved.id, "1")
    assert best_model.data is best_model.data  # loaded once per object
    assert best_model.data.score(X_test, y_test) == previous.score(X_test, y_test)
    assert best_model.read().score(X_test, y_test) == previous.score(X_test, y_test)

    # lineage: the step's inputs are its arguments; a version read inside a step is not one
    assert set(evaluation.inputs) == {"model", "X_test", "y_test"}
    graph = gain.upstream(depth=2)
    assert {s.name for s in graph.step_runs} == {
        "evaluate_against_previous",
        "train_model",
        "load_test_data",
    }
    assert best_model not in graph
    assert [s.id for s in best_model.downstream().step_runs] == []
