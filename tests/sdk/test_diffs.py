"""Diffs between two artifact versions through `Client().diff` and `lineageql artifacts diff`,
over both transports and both databases: equal content, changed metadata, DataFrame schema and
row count, array shape, the producers' differing inputs, and unknown versions."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sdk import Client, NotFoundError, pipeline, save_artifact, step
from sdk.cli import app
from sdk.client.records import DataFrameColumn, DtypeChange, KeyChange

pytestmark = pytest.mark.usefixtures("lineageql")


def frames() -> None:
    save_artifact(pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5]}), "frame")
    grown = pd.DataFrame(
        {"a": [1.0, 2, 3, 4, 5], "b": [0.5, 1.5, 2.5, 3.5, 4.5], "c": list("vwxyz")}
    )
    save_artifact(grown, "frame")


def test_equal_content() -> None:
    save_artifact({"lr": 0.1}, "config")
    save_artifact({"lr": 0.1}, "config")
    diff = Client().diff("config:1", "config:2")
    assert (diff.a.version, diff.b.version) == ("1", "2")
    assert diff.content.equal is True and diff.content_equal is True
    assert diff.content.hash_a == diff.content.hash_b is not None
    assert diff.content.size_bytes_delta == 0
    assert diff.metadata == () and diff.data_type is None and diff.materializer is None
    assert diff.same_artifact and diff.identical
    assert diff.producer_a is None and diff.producer_b is None
    assert diff.lineage.inputs == () and not diff.lineage.same_producer


def test_changed_dict_shows_metadata_changes() -> None:
    first = save_artifact({"lr": 0.1}, "config")
    second = save_artifact({"lr": 0.1, "epochs": 3}, "config")
    diff = Client().diff(first, second)  # ArtifactVersion objects
    assert diff.content.equal is False and not diff.identical
    length = next(change for change in diff.metadata if change.key == "length")
    assert length == KeyChange("length", "CHANGED", 1, 2)
    assert {change.key for change in diff.metadata} == {"length", "storage_size"}
    assert diff.data_frame is None and diff.array is None
    by_id = Client().diff(uuid.UUID(first.id), second.id)  # ids, as UUID or text
    assert by_id.metadata == diff.metadata


def test_versions_of_different_artifacts_and_aliases() -> None:
    save_artifact({"lr": 0.1}, "config")
    save_artifact("plain text", "notes")
    client = Client()
    client.set_alias("config", "production", "1")
    diff = client.diff("config@production", "notes@latest")
    assert not diff.same_artifact
    assert diff.data_type is not None and diff.data_type.after == "builtins:str"
    assert diff.materializer is not None
    assert diff.b.name == "notes"


def test_dataframes_with_a_column_and_rows_added() -> None:
    frames()
    diff = Client().diff("frame:1", "frame:2")
    frame = diff.data_frame
    assert frame is not None
    assert (frame.rows_before, frame.rows_after, frame.row_delta) == (3, 5, 2)
    assert (frame.column_count_before, frame.column_count_after) == (2, 3)
    text = str(pd.Series(list("vwxyz")).dtype)  # object, or str from pandas 3
    assert frame.columns_added == (DataFrameColumn("c", text),)
    assert frame.columns_removed == ()
    assert frame.dtype_changes == (DtypeChange("a", "int64", "float64"),)
    assert not frame.schema_equal
    assert diff.array is None
    assert {"rows", "columns", "dtypes"} <= {change.key for change in diff.metadata}


def test_arrays_of_different_shape() -> None:
    save_artifact(np.zeros((2, 3)), "weights")
    save_artifact(np.zeros((4, 3), dtype=np.float32), "weights")
    diff = Client().diff("weights:1", "weights:2")
    array = diff.array
    assert array is not None
    assert (array.shape_before, array.shape_after) == ((2, 3), (4, 3))
    assert (array.dtype_before, array.dtype_after) == ("float64", "float32")
    assert (array.size_before, array.size_after) == (6, 12)
    assert array.shape_changed and array.dtype_changed
    assert diff.data_frame is None
    shape = next(change for change in diff.metadata if change.key == "shape")
    assert (shape.before, shape.after) == ([2, 3], [4, 3])


def test_arrays_summary_statistics() -> None:
    save_artifact(np.array([1.0, 2.0, 3.0, np.nan]), "scores")
    save_artifact(np.array([1.0, 2.0, 9.0, 4.0]), "scores")
    array = Client().diff("scores:1", "scores:2").array
    assert array is not None
    found = {s.name: (s.before, s.after, s.change) for s in array.statistics}
    assert list(found) == ["min", "max", "mean", "std"]  # NaN skipped in the first
    assert found["min"] == (1.0, 1.0, 0.0)
    assert found["max"] == (3.0, 9.0, 6.0)
    assert found["mean"] == (2.0, 4.0, 2.0)
    std_before, std_after, _ = found["std"]
    assert std_before == pytest.approx(np.std([1.0, 2.0, 3.0]))
    assert std_after == pytest.approx(np.std([1.0, 2.0, 9.0, 4.0]))
    # A side without statistics (saved before they were recorded, or not numeric).
    save_artifact(np.array(["a", "b"]), "scores")
    only_after = Client().diff("scores:3", "scores:2").array
    assert only_after is not None
    assert [(s.name, s.before, s.change) for s in only_after.statistics][:2] == [
        ("min", None, None),
        ("max", None, None),
    ]


@step
def make_data(n: int) -> Annotated[list[int], "data"]:
    return list(range(n))


@step
def make_labels() -> Annotated[list[str], "labels"]:
    return ["x", "y"]


@step
def train(data: list[int], labels: list[str], lr: float) -> Annotated[dict[str, float], "model"]:
    return {"weight": sum(data) * lr, "classes": len(labels)}


@pipeline
def training(n: int, lr: float) -> None:
    train(make_data(n), make_labels(), lr)


def test_producers_whose_inputs_differ() -> None:
    training(3, 0.5)
    training(4, 0.25)
    diff = Client().diff("model:1", "model:2")
    assert diff.producer_a is not None and diff.producer_b is not None
    assert diff.producer_a.name == diff.producer_b.name == "train"
    assert diff.producer_a.run_name != diff.producer_b.run_name
    lineage = diff.lineage
    assert lineage.same_step and not lineage.same_producer
    assert lineage.code_changed is False
    [changed] = lineage.inputs
    assert (changed.name, changed.change) == ("data", "CHANGED")
    assert (str(changed.before), str(changed.after)) == ("data:1", "data:2")
    assert lineage.unchanged_inputs == ("labels",)  # make_labels was cached: the same version
    assert lineage.parameters == (KeyChange("lr", "CHANGED", 0.5, 0.25),)


def test_unknown_versions() -> None:
    save_artifact({"lr": 0.1}, "config")
    client = Client()
    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundError, match=missing):
        client.diff(missing, "config:1")
    with pytest.raises(NotFoundError, match="no version '9'"):
        client.diff("config:1", "config:9")
    with pytest.raises(NotFoundError, match="no alias 'staging'"):
        client.diff("config@staging", "config:1")
    with pytest.raises(NotFoundError, match="nothing"):
        client.diff("nothing:1", "config:1")


def test_the_command_line() -> None:
    frames()
    runner = CliRunner()
    result = runner.invoke(app, ["artifacts", "diff", "frame:1", "frame:2"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "frame:1 -> frame:2" in out and "content: different" in out
    assert "rows: 3 -> 5 (+2); columns: 2 -> 3" in out
    assert "added" in out and "dtype changed" in out and "float64" in out
    assert "storage_size" in out  # metadata the schema table does not cover

    as_json = runner.invoke(app, ["artifacts", "diff", "frame:1", "frame:2", "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert (data["a"]["version"], data["b"]["version"]) == ("1", "2")
    assert data["content"]["equal"] is False and data["identical"] is False
    assert data["data_frame"]["row_delta"] == 2
    assert [c["name"] for c in data["data_frame"]["columns_added"]] == ["c"]
    assert {"key": "rows", "change": "CHANGED", "before": 3, "after": 5} in data["metadata"]

    missing = runner.invoke(app, ["artifacts", "diff", "frame:1", "frame:7"])
    assert missing.exit_code == 1
    assert "no version '7'" in missing.output


def test_the_command_line_for_lineage_and_arrays() -> None:
    training(3, 0.5)
    training(4, 0.25)
    save_artifact(np.zeros((2, 3)), "weights")
    save_artifact(np.zeros((4, 3)), "weights")
    runner = CliRunner()
    result = runner.invoke(app, ["artifacts", "diff", "model:1", "model:2"])
    assert result.exit_code == 0, result.output
    assert "data:1" in result.output and "data:2" in result.output
    assert "unchanged inputs: labels" in result.output
    assert "lr" in result.output and "0.25" in result.output
    same = runner.invoke(app, ["artifacts", "diff", "labels:1", "labels@latest"])
    assert same.exit_code == 0, same.output
    assert "content: equal" in same.output and "No differences." in same.output
    arrays = runner.invoke(app, ["artifacts", "diff", "weights:1", "weights:2"])
    assert arrays.exit_code == 0, arrays.output
    assert "2 x 3" in arrays.output and "4 x 3" in arrays.output and "changed" in arrays.output
    save_artifact(np.array([1.0, 3.0]), "scores")
    save_artifact(np.array([1.0, 5.0]), "scores")
    scores = runner.invoke(app, ["artifacts", "diff", "scores:1", "scores:2"])
    assert scores.exit_code == 0, scores.output
    array_table = scores.output.split(" array ")[1].split(" metadata ")[0]
    rows = {line.split()[0]: line.split()[1:] for line in array_table.splitlines() if line.strip()}
    assert rows["min"] == ["1", "1"]  # equal: the change column is blank
    assert rows["max"] == ["3", "5", "+2"]
    assert rows["mean"] == ["2", "3", "+1"]
