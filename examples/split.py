"""Several outputs from one step, and the rule that decides how many outputs a step has.

- `-> tuple[Annotated[A, "a"], Annotated[B, "b"]]` returning a tuple literal (`return a, b`):
  one output per element, named by the annotations.
- `-> tuple[int, int]` returning `a, b`: two outputs, `output_0` and `output_1`.
- `-> tuple[int, int]` returning a tuple variable: ONE output, `output`, holding the tuple
  (the SDK reads the function's `return` statements, as ZenML does).

`typing.Tuple[...]` works the same as `tuple[...]`. The evaluation step's output name uses the
placeholders `{date}` (today, as 2026_11_22) and `{experiment}`, filled in by
`with_options(substitutions=...)`.

    python examples/split.py
"""

from __future__ import annotations

import logging
from typing import Annotated

import pandas as pd
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from sdk import PipelineRun, pipeline, step

EXPERIMENT = "knn5"


@step
def load_iris_frame() -> Annotated[pd.DataFrame, "iris_features_and_target"]:
    return load_iris(as_frame=True).frame


@step
def split_data(
    frame: pd.DataFrame, test_size: float = 0.25
) -> tuple[
    Annotated[pd.DataFrame, "X_train"],
    Annotated[pd.DataFrame, "X_test"],
    Annotated[pd.Series, "y_train"],
    Annotated[pd.Series, "y_test"],
]:
    """Four outputs: the step returns a tuple literal of four values."""
    X, y = frame.drop(columns="target"), frame["target"]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=42, stratify=y
    )
    return X_train, X_test, y_train, y_test


@step
def evaluate_knn(
    X_train: pd.DataFrame, X_test: pd.DataFrame, y_train: pd.Series, y_test: pd.Series
) -> Annotated[float, "iris_knn_accuracy_{experiment}_{date}"]:
    """Fit a 5-nearest-neighbours classifier on the train split; its test accuracy."""
    model = KNeighborsClassifier(n_neighbors=5).fit(X_train, y_train)
    return float(model.score(X_test, y_test))


@step
def two_numbers() -> tuple[int, int]:
    """Returns a tuple literal: two outputs, output_0 and output_1."""
    a, b = 1, 2
    return a, b


@step
def one_pair() -> tuple[int, int]:
    """Returns a tuple variable: one output, output, holding the whole tuple."""
    pair = (1, 2)
    return pair


@pipeline
def split_pipeline(test_size: float = 0.25) -> None:
    X_train, X_test, y_train, y_test = split_data(load_iris_frame(), test_size=test_size)
    evaluate_knn(X_train, X_test, y_train, y_test)
    two_numbers()
    one_pair()


def main() -> PipelineRun:
    """Run the pipeline with `{experiment}` filled in; print every step's output names."""
    run = split_pipeline.with_options(substitutions={"experiment": EXPERIMENT})(test_size=0.3)
    print(f"run {run.name}: {run.status}")
    for name, step_run in run.steps.items():
        outputs = ", ".join(
            f"{key} -> {version.name}:{version.version}"
            for key, version in step_run.outputs.items()
        )
        print(f"  step {name}: {outputs}")
    split_outputs = run.steps["split_data"].outputs
    print(
        f"train/test rows: {len(split_outputs['X_train'].load())}/"
        f"{len(split_outputs['X_test'].load())}"
    )
    (accuracy,) = run.steps["evaluate_knn"].outputs.values()
    print(f"test accuracy, stored as {accuracy.name!r}: {accuracy.load():.3f}")
    print(f"one_pair's single output loads as {run.steps['one_pair'].output.load()!r}")
    return run


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per request to a server
    main()
