"""Seeds the stores of the explorer's large-graph tests through the SDK.

- `chain_pipeline`: `chain_seed` then 20 `extend` steps, each consuming the previous version of
  the artifact `chain` and saving the next (`chain:1` ... `chain:21`, floats): a 42-node line.
- `fan_pipeline`: `fan_seed` saves `fan_root`, then 249 `leaf` steps each consume it and save
  a version of `fan_leaf`: downstream of `fan_root`, 499 nodes (plus a Markdown note).
- `report_pipeline`: saves `tall_report`, whose HTML preview is 60 styled paragraphs (taller
  than the explorer's preview frame shows at first), `iris_like`, a small DataFrame, and
  `verdict`, a short str; then `chain@production` points at chain:20, and iris_like:2 (saved)
  adds a column and a row to iris_like:1; weights:1 and weights:2 are arrays of different shapes
  and dtypes.

    LINEAGEQL_HOME=... python -m tests.ui.seed_graphs
"""

from __future__ import annotations

import html
from typing import Annotated, Any, ClassVar

import numpy as np
import pandas as pd

from sdk import Client, pipeline, save_artifact, step
from sdk.materializers import BaseMaterializer, VisualizationType, visuals

CHAIN = 20
FAN = 249


@step
def chain_seed() -> Annotated[float, "chain"]:
    return 0.5


@step
def extend(value: float) -> Annotated[float, "chain"]:
    return value + 1.25


@pipeline
def chain_pipeline() -> None:
    value = chain_seed()
    for _ in range(CHAIN):
        value = extend(value)


@step
def fan_seed() -> Annotated[str, "fan_root"]:
    return (
        "# Fan root\n\nThe **root** of a wide graph:\n\n- one\n- two\n\n<script>alert(1)</script>"
    )


@step
def leaf(root: str, index: int) -> Annotated[int, "fan_leaf"]:
    return len(root) + index  # a parameter of its own: no leaf is a cache hit of another


@pipeline
def fan_pipeline() -> None:
    root = fan_seed()
    for index in range(FAN):
        leaf(root, index=index)


class Report:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines


class ReportMaterializer(BaseMaterializer):
    """A `Report` as JSON lines, shown as an HTML page with a style block and style attributes."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Report,)

    def save(self, data: Report) -> None:
        with self.open("lines.txt", "wb") as f:
            f.write("\n".join(data.lines).encode())

    def load(self, data_type: type[Any]) -> Report:
        with self.open("lines.txt", "rb") as f:
            return Report(f.read().decode().split("\n"))

    def save_visualizations(self, data: Report) -> dict[str, VisualizationType]:
        body = "\n".join(
            f'<p class="line" style="color: rgb(10, 90, 30)">{html.escape(line)}</p>'
            for line in data.lines
        )
        page = visuals.html_page("Report", f"<h1>Report</h1>\n{body}")
        return visuals.write(self, "report.html", page, VisualizationType.HTML)


@step(output_materializers=ReportMaterializer)
def write_report() -> Annotated[Report, "tall_report"]:
    return Report([f"Line {i}: the report goes on." for i in range(1, 61)])


@step
def small_frame() -> Annotated[pd.DataFrame, "iris_like"]:
    return pd.DataFrame({"sepal length": [5.1, 4.9, 4.7], "species": ["setosa"] * 3})


@step
def verdict() -> Annotated[str, "verdict"]:
    return "ship it"


@pipeline
def report_pipeline() -> None:
    write_report()
    small_frame()
    verdict()


def aliases_and_a_second_frame() -> None:
    """`chain@production` is chain:20; iris_like:2 adds a column and a row to iris_like:1."""
    Client().set_alias("chain", "production", version="20")
    frame = pd.DataFrame(
        {
            "sepal length": [5.1, 4.9, 4.7, 4.6],
            "species": ["setosa"] * 4,
            "petal width": [0.2, 0.2, 0.2, 0.2],
        }
    )
    save_artifact(frame, "iris_like")
    save_artifact(np.zeros((3, 4)), "weights")
    save_artifact(np.ones((5, 4), dtype=np.int32), "weights")


if __name__ == "__main__":
    chain_pipeline()
    fan_pipeline()
    report_pipeline()
    aliases_and_a_second_frame()
