"""`compareArtifactVersions(a, b)` on both databases, and the comparison functions of
`api.storage.compare` on their own."""

from __future__ import annotations

import uuid
from typing import Any

from api.storage import compare
from api.storage.models import ArtifactVersion
from tests.api.client import Api, output

COMPARE = """
query ($a: ID!, $b: ID!) {
  compareArtifactVersions(a: $a, b: $b) {
    a { version } b { version } sameArtifact
    content { equal hashA hashB sizeBytesA sizeBytesB sizeBytesDelta }
    dataType { before after } materializer { before after }
    metadata { key change before after }
    dataFrame {
      rowsBefore rowsAfter rowDelta columnCountBefore columnCountAfter schemaEqual
      columnsAdded { name dtype } columnsRemoved { name dtype } dtypeChanges { name before after }
    }
    array { shapeBefore shapeAfter dtypeBefore dtypeAfter sizeBefore sizeAfter shapeChanged }
    producerA { name } producerB { name }
    lineage {
      sameProducer sameStep codeChanged unchangedInputs
      inputs { name change before { name version } after { name version } }
      parameters { key change before after }
    }
  }
}
"""


def compared(gql: Api, a: str, b: str) -> dict[str, Any]:
    result: dict[str, Any] = gql.data(COMPARE, a=a, b=b)["compareArtifactVersions"]
    return result


def test_content_and_metadata(gql: Api) -> None:
    meta = {"rows": 3, "dtypes": {"a": "int64", "b": "object"}, "note": "x", "flag": True}
    a = gql.create_version("table", metadata=meta, size_bytes=10)
    meta_b = {"rows": 5, "dtypes": {"a": "float64", "c": "bool"}, "flag": 1, "owner": "me"}
    b = gql.create_version("table", metadata=meta_b, size_bytes=12)
    found = compared(gql, a, b)
    assert found["sameArtifact"] and (found["a"]["version"], found["b"]["version"]) == ("1", "2")
    assert found["content"]["equal"] is False  # no hashes, but the sizes differ
    assert found["content"]["sizeBytesDelta"] == 2
    assert found["dataType"] is None and found["materializer"] is None
    changes = {m["key"]: (m["change"], m["before"], m["after"]) for m in found["metadata"]}
    assert changes == {
        "dtypes": ("CHANGED", meta["dtypes"], meta_b["dtypes"]),
        "flag": ("CHANGED", True, 1),  # JSON true is not 1
        "note": ("REMOVED", "x", None),
        "owner": ("ADDED", None, "me"),
        "rows": ("CHANGED", 3, 5),
    }
    frame = found["dataFrame"]
    assert (frame["rowsBefore"], frame["rowsAfter"], frame["rowDelta"]) == (3, 5, 2)
    assert frame["columnsAdded"] == [{"name": "c", "dtype": "bool"}]
    assert frame["columnsRemoved"] == [{"name": "b", "dtype": "object"}]
    assert frame["dtypeChanges"] == [{"name": "a", "before": "int64", "after": "float64"}]
    assert not frame["schemaEqual"] and found["array"] is None
    assert found["producerA"] is None and found["lineage"]["inputs"] == []


def test_same_version_twice_and_unknown_content(gql: Api) -> None:
    a = gql.create_version("table", metadata={"shape": [2, 3], "dtype": "float64"})
    found = compared(gql, a, a)
    assert found["metadata"] == [] and found["content"]["equal"] is None  # no hash recorded
    array = found["array"]
    assert array["shapeBefore"] == array["shapeAfter"] == [2, 3] and not array["shapeChanged"]
    assert array["sizeBefore"] == 6


def test_array_statistics(gql: Api) -> None:
    shape = {"shape": [3], "dtype": "float64"}
    a = gql.create_version("w", metadata={**shape, "min": 1, "max": 3.0, "mean": 2.0, "std": 1})
    # `b` recorded no minimum, a maximum that is not a number, and a bool (not a number)
    b = gql.create_version("w", metadata={**shape, "max": "3", "mean": 2.5, "std": True})
    query = """query ($a: ID!, $b: ID!) { compareArtifactVersions(a: $a, b: $b) {
        array { statistics { name before after change } } } }"""
    found = gql.data(query, a=a, b=b)["compareArtifactVersions"]["array"]["statistics"]
    assert found == [
        {"name": "min", "before": 1.0, "after": None, "change": None},
        {"name": "max", "before": 3.0, "after": None, "change": None},
        {"name": "mean", "before": 2.0, "after": 2.5, "change": 0.5},
        {"name": "std", "before": 1.0, "after": None, "change": None},
    ]
    plain = gql.create_version("w", metadata=shape)
    same = gql.data(query, a=plain, b=plain)["compareArtifactVersions"]["array"]
    assert same == {"statistics": []}  # neither side recorded any


def test_an_unknown_id_is_not_found(gql: Api) -> None:
    a = gql.create_version("table")
    missing = str(uuid.uuid4())
    for first, second, side in ((missing, a, "a"), (a, missing, "b"), ("not-an-id", a, "a")):
        error = gql.error(COMPARE, a=first, b=second)
        assert error["extensions"]["code"] == "NOT_FOUND"
        assert (first if side == "a" else second) in error["message"]
        assert f"({side})" in error["message"]


def test_the_inputs_of_the_producers(gql: Api) -> None:
    data_1, data_2 = gql.create_version("data"), gql.create_version("data")
    labels, extra = gql.create_version("labels"), gql.create_version("extra")

    def produce(inputs: list[tuple[str, str]]) -> str:
        run = gql.start_run("training")
        step = gql.start_step(run, "train", inputs)
        finished = gql.finish_step(step, [output("output", "model")])
        gql.finish_run(run)
        return str(finished["outputs"][0]["artifactVersion"]["id"])

    a = produce([("data", data_1), ("labels", labels)])
    b = produce([("data", data_2), ("labels", labels), ("extra", extra)])
    found = compared(gql, a, b)
    assert found["producerA"] == found["producerB"] == {"name": "train"}
    lineage = found["lineage"]
    assert lineage["sameStep"] and not lineage["sameProducer"]
    assert lineage["unchangedInputs"] == ["labels"]
    assert lineage["inputs"] == [
        {"name": "data", "change": "CHANGED", "before": {"name": "data", "version": "1"},
         "after": {"name": "data", "version": "2"}},
        {"name": "extra", "change": "ADDED", "before": None,
         "after": {"name": "extra", "version": "1"}},
    ]  # fmt: skip
    backwards = compared(gql, b, a)["lineage"]["inputs"]
    assert [(i["name"], i["change"]) for i in backwards] == [
        ("data", "CHANGED"),
        ("extra", "REMOVED"),
    ]
    saved = gql.create_version("model")  # no producer: every input of a's producer is removed
    against_saved = compared(gql, a, saved)
    assert against_saved["producerB"] is None
    assert [i["change"] for i in against_saved["lineage"]["inputs"]] == ["REMOVED", "REMOVED"]


def test_key_changes_compare_as_json() -> None:
    assert compare.key_changes({"n": 1, "x": [1, 2]}, {"n": 1.0, "x": [1, 2]}) == []
    assert compare.key_changes({"n": 1}, {"n": True}) == [
        compare.KeyChange("n", compare.Change.CHANGED, 1, True)
    ]
    assert compare.key_changes({"d": {"a": 1}}, {"d": {"a": 1, "b": None}})[0].key == "d"


def test_frames_and_arrays_with_metadata_on_one_side() -> None:
    frame = compare.frame_difference({}, {"rows": 4, "dtypes": {"a": "int64"}})
    assert frame is not None
    assert (frame.rows_before, frame.rows_after, frame.row_delta) == (None, 4, None)
    assert frame.added == (compare.Column("a", "int64"),) and frame.columns_before == 0
    assert compare.frame_difference({"rows": 1}, {"length": 2}) is None
    array = compare.array_difference({"shape": [3], "dtype": "int8"}, {"length": 3})
    assert array is not None and array.shape_after is None and array.shape_changed
    assert array.size_before == 3 and array.size_after is None
    assert compare.array_difference({"shape": "3"}, {}) is None


def test_content_equal() -> None:
    def version(content_hash: str | None, size: int | None) -> ArtifactVersion:
        return ArtifactVersion(content_hash=content_hash, size_bytes=size)

    assert compare.content_equal(version("h", 1), version("h", 1)) is True
    assert compare.content_equal(version("h", 1), version("g", 1)) is False
    assert compare.content_equal(version(None, 1), version("h", 2)) is False
    assert compare.content_equal(version(None, 1), version("h", 1)) is None
    assert compare.content_equal(version(None, None), version(None, None)) is None
