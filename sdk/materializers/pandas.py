"""pandas DataFrames and Series as Parquet, for the dtypes Parquet gives back exactly.

Parquet loses some things pandas holds: the unit of datetime64[s], categories that are not
strings, object columns, a DatetimeIndex's freq, a Series' name. `can_save` refuses what cannot
be restored (those values go to the pickle fallback); the rest is kept in the file's own
`lineageql` schema metadata and restored on load.

Visualization: one HTML page with the first `PREVIEW_ROWS` rows and a `describe()` summary, of
at most `MAX_COLUMNS` columns. Both are bounded: the preview is a slice, and beyond
`SUMMARY_ROWS` rows the summary describes an evenly strided sample of rows (the page says so).
Cells are escaped (`to_html(escape=True)`) and long texts cut, so the page holds no markup
from the data.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sdk.materializers import visuals
from sdk.materializers.base import BaseMaterializer, VisualizationType
from sdk.materializers.builtin import is_exact_json

_FILE = "data.parquet"
_META_KEY = b"lineageql"
_SERIES_COLUMN = "series"
_MASKED = {f"{k}{n}" for k in ("Int", "UInt") for n in (8, 16, 32, 64)} | {
    "Float32",
    "Float64",
    "boolean",
}
_UNITS = {"ms", "us", "ns"}
_ARROW_PRIMITIVES = (
    pa.types.is_boolean,
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_string,
    pa.types.is_large_string,
)
_PANDAS_2 = int(pd.__version__.split(".")[0]) < 3
PREVIEW_ROWS = 10
MAX_COLUMNS = 50
SUMMARY_ROWS = 50_000
MAX_CELL_CHARS = 200


def _exact_dtype(dtype: Any, values: Any) -> bool:
    if isinstance(dtype, np.dtype):
        if dtype.kind in "biuf":
            return True
        if dtype.kind in "mM":
            unit = np.datetime_data(dtype)[0]
            return unit in _UNITS or (dtype.kind == "m" and unit == "s")
        # pandas 2 keeps strings in object columns, and Parquet gives those back.
        return dtype.kind == "O" and _PANDAS_2 and _strings(values)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return dtype.unit in _UNITS
    if isinstance(dtype, pd.CategoricalDtype):
        return _strings(dtype.categories)
    if isinstance(dtype, pd.StringDtype):
        return bool(dtype.storage == "pyarrow")
    if isinstance(dtype, pd.ArrowDtype):  # nested arrow types do not come back
        arrow = dtype.pyarrow_dtype
        return any(bool(test(arrow)) for test in _ARROW_PRIMITIVES)
    return isinstance(dtype, pd.PeriodDtype) or str(dtype) in _MASKED


def _strings(values: Any) -> bool:
    return pd.api.types.infer_dtype(values, skipna=True) in {"string", "empty"}


def _exact_labels(index: pd.Index) -> bool:
    return index.is_unique and (
        _strings(index) or pd.api.types.infer_dtype(index) in {"integer", "empty"}
    )


def _exact_index(index: pd.Index) -> bool:
    if isinstance(index, pd.RangeIndex):
        return index.name is None or isinstance(index.name, str)
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    return all(
        (level.name is None or isinstance(level.name, str)) and _exact_dtype(level.dtype, level)
        for level in levels
    )


def _exact_frame(frame: pd.DataFrame) -> bool:
    return (
        not isinstance(frame.columns, pd.MultiIndex)
        and _exact_labels(frame.columns)
        and _exact_index(frame.index)
        and is_exact_json(frame.attrs)
        and all(_exact_dtype(frame[c].dtype, frame[c]) for c in frame.columns)
    )


class PandasMaterializer(BaseMaterializer):
    """`pd.DataFrame` and `pd.Series` as `data.parquet` (via pyarrow)."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (pd.DataFrame, pd.Series)

    @classmethod
    def can_save(cls, data: Any) -> bool:
        if type(data) is pd.Series:
            name_ok = data.name is None or type(data.name) in (str, int)
            return name_ok and _exact_frame(data.to_frame(_SERIES_COLUMN))
        return type(data) is pd.DataFrame and _exact_frame(data)

    def save(self, data: pd.DataFrame | pd.Series) -> None:
        extra: dict[str, Any] = {"kind": "frame"}
        if isinstance(data, pd.Series):
            extra = {"kind": "series", "name": data.name}
            data = data.to_frame(_SERIES_COLUMN)
        if isinstance(data.columns, pd.RangeIndex):
            extra["columns_range"] = [data.columns.start, data.columns.stop, data.columns.step]
        freq = getattr(data.index, "freqstr", None)
        if isinstance(data.index, pd.DatetimeIndex | pd.TimedeltaIndex) and freq:
            extra["index_freq"] = freq
        table = pa.Table.from_pandas(data)
        metadata = {**(table.schema.metadata or {}), _META_KEY: json.dumps(extra).encode()}
        with self.open(_FILE, "wb") as f:
            pq.write_table(table.replace_schema_metadata(metadata), f)

    def load(self, data_type: type[Any]) -> pd.DataFrame | pd.Series:
        with self.open(_FILE, "rb") as f:
            table = pq.read_table(f)
        extra = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
        frame = table.to_pandas()
        if "columns_range" in extra:
            frame.columns = pd.RangeIndex(*extra["columns_range"])
        if "index_freq" in extra:
            frame.index = type(frame.index)(frame.index, freq=extra["index_freq"])
        if extra.get("kind") == "series":
            return frame[_SERIES_COLUMN].rename(extra["name"])
        return frame

    def extract_metadata(self, data: pd.DataFrame | pd.Series) -> dict[str, Any]:
        frame = data.to_frame() if isinstance(data, pd.Series) else data
        return {
            "rows": len(frame),
            "columns": len(frame.columns),
            "dtypes": {str(name): str(dtype) for name, dtype in frame.dtypes.items()},
        }

    def save_visualizations(self, data: pd.DataFrame | pd.Series) -> dict[str, VisualizationType]:
        frame = data.to_frame() if isinstance(data, pd.Series) else data
        page = visuals.html_page(f"{type(data).__name__} preview", preview_html(frame))
        return visuals.write(self, "preview.html", page, VisualizationType.HTML)


def preview_html(frame: pd.DataFrame) -> str:
    """The body of the preview page: sizes, the first rows, a `describe()` summary."""
    rows, columns = frame.shape
    shown = frame.iloc[:, :MAX_COLUMNS]
    notes = [f"{rows:,} rows x {columns:,} columns"]
    if columns > MAX_COLUMNS:
        notes.append(f"only the first {MAX_COLUMNS} columns are shown")
    summarized = shown
    if rows > SUMMARY_ROWS:
        summarized = shown.iloc[:: math.ceil(rows / SUMMARY_ROWS)]
        notes.append(f"the summary describes every {rows // len(summarized):,}th row")
    parts = [
        f'<p class="note">{html.escape("; ".join(notes))}</p>',
        f"<h3>First {min(rows, PREVIEW_ROWS)} rows</h3>",
        _table(shown.head(PREVIEW_ROWS)),
    ]
    if len(shown.columns):
        parts += ["<h3>Summary</h3>", _table(summarized.describe(include="all"))]
    return "\n".join(parts)


def _table(frame: pd.DataFrame) -> str:
    """`to_html` of a small frame with long texts cut; escaping stays on."""
    cut = frame.copy()
    cut.columns = pd.Index([_cut(label) for label in cut.columns])
    cut.index = pd.Index([_cut(label) for label in cut.index])
    for position, dtype in enumerate(cut.dtypes):
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            cut.isetitem(position, cut.iloc[:, position].map(_cut, na_action="ignore"))
    return str(cut.to_html(escape=True, border=0, max_rows=PREVIEW_ROWS * 2))


def _cut(value: Any) -> Any:
    text = value if isinstance(value, str) else None
    if text is None or len(text) <= MAX_CELL_CHARS:
        return value
    return text[:MAX_CELL_CHARS] + "…"
