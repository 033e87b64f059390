"""Visualizations saved with the data: each built-in one, custom ones, turning them off, failures
that only warn, and `ArtifactVersion.visualize()`."""

from __future__ import annotations

import json
import logging
import posixpath
import struct
import time
import zlib
from pathlib import Path
from typing import Any, ClassVar

import httpx
import numpy as np
import pandas as pd
import pytest

from sdk import Client, pipeline, save_artifact, step
from sdk.artifacts.store import ArtifactStore
from sdk.materializers import BaseMaterializer, SavedData, VisualizationType, save_data, visuals
from sdk.materializers.numpy import MAX_IMAGE_SIDE, SAMPLE_SIZE
from sdk.materializers.pandas import MAX_COLUMNS, SUMMARY_ROWS


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "store"))


def save(data: Any, store: ArtifactStore, **kwargs: Any) -> SavedData:
    return save_data(data, store.new_version_uri("step", "output"), store, **kwargs)


def only(saved: SavedData, store: ArtifactStore, kind: VisualizationType) -> bytes:
    """The content of the one visualization of `kind` (and check it lies in the version)."""
    uris = [uri for uri, found in saved.visualizations.items() if found == kind]
    assert len(uris) == 1, saved.visualizations
    assert uris[0].startswith(posixpath.join(saved.uri, "visualizations/"))
    return bytes(store.fs.cat_file(store.path(uris[0])))


def decode_png(content: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, colour type, pixel bytes) of an 8-bit, unfiltered PNG; checks CRCs."""
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, dict[bytes, bytes]()
    while offset < len(content):
        (length,) = struct.unpack(">I", content[offset : offset + 4])
        kind = content[offset + 4 : offset + 8]
        body = content[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", content[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + body
        offset += 12 + length
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and b"IEND" in chunks
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = len(raw) // height
    assert all(raw[row * stride] == 0 for row in range(height))  # filter type None
    pixels = b"".join(raw[row * stride + 1 : (row + 1) * stride] for row in range(height))
    return width, height, color, pixels


# --- pandas ---------------------------------------------------------------------------------


def test_dataframe_gets_an_html_table_of_first_rows_and_a_summary(store: ArtifactStore) -> None:
    frame = pd.DataFrame(
        {"x": range(25), "name": [f"<script>alert({i})</script>" for i in range(25)]}
    )
    saved = save(frame, store)
    page = only(saved, store, VisualizationType.HTML).decode()
    assert "25 rows x 2 columns" in page
    assert "<h3>First 10 rows</h3>" in page
    first_table = page.split("<h3>Summary</h3>")[0]
    assert "<td>9</td>" in first_table and "<td>10</td>" not in first_table
    summary = page.split("<h3>Summary</h3>")[1]
    assert "<th>mean</th>" in summary and "<td>12.000000</td>" in summary  # mean of 0..24
    assert "<script" not in page and "&lt;script&gt;alert(3)&lt;/script&gt;" in page


def test_series_and_wide_frames_are_shown_bounded(store: ArtifactStore) -> None:
    series_page = only(save(pd.Series([1.5, 2.5], name="s"), store), store, VisualizationType.HTML)
    assert b"<th>s</th>" in series_page and b"2 rows x 1 columns" in series_page
    wide = pd.DataFrame(np.zeros((3, MAX_COLUMNS + 20)), columns=[f"c{i}" for i in range(70)])
    wide["long"] = ["y" * 5000] * 3
    page = only(save(wide, store), store, VisualizationType.HTML).decode()
    assert f"only the first {MAX_COLUMNS} columns are shown" in page
    assert f"<th>c{MAX_COLUMNS - 1}</th>" in page and f"<th>c{MAX_COLUMNS}</th>" not in page
    assert "y" * 5000 not in page


def test_a_million_row_frame_is_summarized_from_a_sample(store: ArtifactStore) -> None:
    rows = 1_000_000
    frame = pd.DataFrame({"a": np.arange(rows, dtype=np.float64), "b": np.ones(rows)})
    clock = time.perf_counter()
    saved = save(frame, store)
    with_visualization = time.perf_counter() - clock
    page = only(saved, store, VisualizationType.HTML).decode()
    step = -(-rows // SUMMARY_ROWS)
    assert f"the summary describes every {step:,}th row" in page
    assert len(page) < 20_000  # bounded whatever the number of rows
    assert with_visualization < 10  # a loose bound: the measured share is in the report


# --- numpy ----------------------------------------------------------------------------------


def stats(saved: SavedData, store: ArtifactStore) -> dict[str, str]:
    table = only(saved, store, VisualizationType.MARKDOWN).decode()
    rows = [line.strip("|").split("|") for line in table.splitlines() if line.startswith("| ")]
    return {key.strip(): value.strip() for key, value in rows if key.strip()}


def test_numeric_arrays_get_summary_statistics(store: ArtifactStore) -> None:
    one = stats(save(np.array([1.0, 2.0, np.nan, 5.0]), store), store)
    assert one["shape"] == "4" and one["dtype"] == "float64"
    assert (one["min"], one["max"], one["NaN"]) == ("1", "5", "1")
    assert float(one["mean"]) == pytest.approx(8 / 3, rel=1e-5)
    two = stats(save(np.arange(12, dtype=np.int32).reshape(3, 4), store), store)
    assert (two["shape"], two["min"], two["max"], two["mean"]) == ("3 x 4", "0", "11", "5.5")
    assert float(two["std"]) == pytest.approx(np.arange(12).std(), rel=1e-5)


def test_large_arrays_have_exact_extremes_and_sampled_moments(store: ArtifactStore) -> None:
    array = np.zeros(SAMPLE_SIZE * 10 + 7)
    array[12_345] = -3.0  # off the sample's stride: only an exact pass finds it
    array[-2] = 9.0
    table = stats(save(array, store), store)
    assert (table["min"], table["max"]) == ("-3", "9")
    assert f"mean (sample of {len(array[::11]):,})" in table


def test_image_like_arrays_get_a_png(store: ArtifactStore) -> None:
    gray = np.arange(64 * 48, dtype=np.uint32).reshape(48, 64).astype(np.uint8)
    width, height, color, pixels = decode_png(
        only(save(gray, store), store, VisualizationType.IMAGE)
    )
    assert (width, height, color, pixels) == (64, 48, 0, gray.tobytes())
    rgb = np.random.default_rng(1).random((20, 30, 3))
    width, height, color, pixels = decode_png(
        only(save(rgb, store), store, VisualizationType.IMAGE)
    )
    assert (width, height, color) == (30, 20, 2)
    assert pixels == (rgb * 255 + 0.5).astype(np.uint8).tobytes()


def test_big_images_are_capped_and_non_images_get_none(store: ArtifactStore) -> None:
    big = np.zeros((3000, 2000, 3), dtype=np.uint8)
    width, height, _, _ = decode_png(only(save(big, store), store, VisualizationType.IMAGE))
    assert max(width, height) <= MAX_IMAGE_SIDE and (width, height) == (334, 500)
    for not_an_image in (
        np.random.default_rng(2).random((1000, 5)),  # a table: too narrow
        np.full((16, 16), 7.5),  # floats outside [0, 1]
        np.zeros((16, 16, 2), dtype=np.uint8),  # two channels
    ):
        kinds = set(save(not_an_image, store).visualizations.values())
        assert VisualizationType.IMAGE not in kinds


def test_other_values_get_no_visualization(store: ArtifactStore) -> None:
    for value in (3, 2.5, None, b"raw", np.float64(1.5), np.array(["a"]), np.zeros(0)):
        assert save(value, store).visualizations == {}


# --- built-in types -------------------------------------------------------------------------


def test_str_gets_markdown_and_long_text_is_cut(store: ArtifactStore) -> None:
    text = "# Title\n\n*some* text <b>raw</b>"
    assert only(save(text, store), store, VisualizationType.MARKDOWN).decode() == text
    long = "x" * (visuals.MAX_TEXT_CHARS + 10)
    shown = only(save(long, store), store, VisualizationType.MARKDOWN).decode()
    assert shown.startswith("x" * visuals.MAX_TEXT_CHARS) and "10 more characters" in shown


def test_dict_and_list_get_pretty_json_bounded(store: ArtifactStore) -> None:
    value = {"a": [1, 2, {"b": None}], "c": "é"}
    shown = only(save(value, store), store, VisualizationType.JSON).decode()
    assert json.loads(shown) == value and '\n  "a": [' in shown
    big = list(range(100_000))
    preview = json.loads(only(save(big, store), store, VisualizationType.JSON))
    assert preview[: visuals.MAX_JSON_ITEMS] == big[: visuals.MAX_JSON_ITEMS]
    assert preview[-1] == f"… {100_000 - visuals.MAX_JSON_ITEMS} more items"
    deep = {f"k{i}": list(range(100)) for i in range(100)}  # 10,000 values: over the budget
    assert len(only(save(deep, store), store, VisualizationType.JSON)) < 100_000


def test_visualizations_do_not_change_the_content_hash(store: ArtifactStore) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    shown, hidden = save(frame, store), save(frame, store, visualize=False)
    assert shown.visualizations and hidden.visualizations == {}
    assert (shown.content_hash, shown.size_bytes) == (hidden.content_hash, hidden.size_bytes)
    assert not store.fs.exists(store.path(posixpath.join(hidden.uri, "visualizations")))


# --- custom materializers -------------------------------------------------------------------


class Report:
    def __init__(self, rows: list[list[str]]) -> None:
        self.rows = rows


class ReportMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Report,)
    mode: ClassVar[str] = "ok"

    def save(self, data: Report) -> None:
        with self.open("rows.json", "wb") as f:
            f.write(json.dumps(data.rows).encode())

    def load(self, data_type: type[Any]) -> Report:
        with self.open("rows.json", "rb") as f:
            return Report(json.loads(f.read()))

    def save_visualizations(self, data: Report) -> dict[str, VisualizationType]:
        with self.open("visualizations/rows.csv", "wb") as f:
            f.write("\n".join(",".join(row) for row in data.rows).encode())
        if self.mode == "fail":
            raise RuntimeError("renderer crashed")
        if self.mode == "outside":
            return {"/etc/passwd": VisualizationType.CSV}
        return {"visualizations/rows.csv": VisualizationType.CSV}  # relative to the version


def test_custom_materializer_adds_its_own(store: ArtifactStore) -> None:
    saved = save(Report([["a", "b"], ["1", "2"]]), store, materializer=ReportMaterializer)
    assert only(saved, store, VisualizationType.CSV) == b"a,b\n1,2"


@pytest.mark.parametrize("mode", ["fail", "outside"])
def test_a_failing_visualization_only_warns(
    store: ArtifactStore,
    mode: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ReportMaterializer, "mode", mode)
    with caplog.at_level(logging.WARNING, logger="lineageql"):
        saved = save(Report([["a"]]), store, materializer=ReportMaterializer)
    assert saved.visualizations == {}
    assert "could not save visualizations" in caplog.text
    assert ("renderer crashed" if mode == "fail" else "/etc/passwd") in caplog.text
    files = [posixpath.basename(p) for p in store.fs.find(store.path(saved.uri))]
    assert files == ["rows.json"]  # the partial visualization was removed, the data kept
    assert saved.content_hash


# --- through the SDK, embedded and over HTTP --------------------------------------------------


VISUALIZATIONS = """
query ($id: ID!) { artifactVersion(id: $id) { visualizations { type uri url } } }
"""


def test_step_and_save_artifact_record_and_can_turn_off_visualizations(
    lineageql_live: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Over HTTP the printed URL is fetched with a client of its own: a server on a real port.
    @step
    def table() -> pd.DataFrame:
        return pd.DataFrame({"x": [1, 2]})

    @step(enable_artifact_visualization=False)
    def quiet(frame: pd.DataFrame) -> str:
        return "no pictures"

    @pipeline
    def shown() -> None:
        quiet(table())

    run = shown()
    version = run.steps["table"].outputs["output"]
    assert [v.type for v in version.visualizations] == [VisualizationType.HTML]
    assert run.steps["quiet"].outputs["output"].visualizations == ()
    recorded = Client().graphql(VISUALIZATIONS, {"id": version.id})["artifactVersion"]
    assert recorded["visualizations"] == [
        {
            "type": "HTML",
            "uri": version.visualizations[0].uri,
            "url": f"/artifact-versions/{version.id}/visualizations/0",
        }
    ]
    enabled_again = quiet.with_options(enable_artifact_visualization=True)
    assert enabled_again.options.enable_artifact_visualization is True

    saved = save_artifact({"k": [1, 2]}, "settings")
    plain = save_artifact({"k": [1, 2]}, "settings", include_visualizations=False)
    assert [v.type for v in saved.visualizations] == [
        VisualizationType.JSON
    ] and plain.visualizations == ()
    assert Client().get_artifact_version("settings", "1").visualizations == saved.visualizations

    saved.visualize()
    printed = capsys.readouterr().out
    assert "settings:1 has 1 visualization:" in printed and saved.visualizations[0].uri in printed
    plain.visualize()
    assert "settings:2 has no visualizations." in capsys.readouterr().out
    if lineageql_live == "http":  # the printed URL is the server's, and it serves the file
        url = next(line.split("served at ")[1] for line in printed.splitlines() if "served" in line)
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200 and response.json() == {"k": [1, 2]}
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-content-type-options"] == "nosniff"
    else:
        assert "served at" not in printed


def test_notebook_payloads_are_safe_to_show() -> None:
    kind, frame = visuals.notebook_payload("HTML", b'<p onclick="x()">hi</p><script>x()</script>')
    assert kind == "HTML" and frame.startswith('<iframe sandbox="" ')
    assert "<script>" not in frame and "&lt;script&gt;" in frame and "allow-scripts" not in frame
    kind, markdown = visuals.notebook_payload("MARKDOWN", b"# T\n<img src=x onerror=y()> & co")
    assert kind == "Markdown" and markdown == "# T\n&lt;img src=x onerror=y()> &amp; co"
    assert visuals.notebook_payload("JSON", b'{"a": [1]}') == ("JSON", {"a": [1]})
    kind, table = visuals.notebook_payload("CSV", b"a,<b>\n1,2\n")
    assert (
        table == "<table><tr><td>a</td><td>&lt;b&gt;</td></tr><tr><td>1</td><td>2</td></tr></table>"
    )
    assert visuals.notebook_payload("IMAGE", b"\x89PNG") == ("Image", b"\x89PNG")
    assert not visuals.in_notebook()  # pytest is no Jupyter kernel
