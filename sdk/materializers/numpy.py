"""NumPy arrays and scalars as `.npy` files. Object arrays are not stored here (see `can_save`).

Visualizations: a 1-D or 2-D numeric array gets summary statistics (Markdown); an array that
looks like an image (2-D, or height x width x 1/3/4 channels, uint8 or float in [0, 1]) gets a
PNG, downsampled by striding to at most `MAX_IMAGE_SIDE` pixels a side. The statistics stay
cheap on large arrays: min and max are exact (one pass, no copy); mean, std and the NaN count
come from an evenly strided sample of at most `SAMPLE_SIZE` values, which the table says.

Metadata: shape and dtype, and for a numeric array the same statistics (`statistics`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sdk.materializers import visuals
from sdk.materializers.base import BaseMaterializer, VisualizationType

_FILE = "data.npy"
SAMPLE_SIZE = 100_000
MAX_IMAGE_SIDE = 512
MIN_IMAGE_SIDE = 8
MAX_IMAGE_ASPECT = 8


class NumpyMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (np.ndarray, np.generic)

    @classmethod
    def can_save(cls, data: Any) -> bool:
        # Subclasses (masked arrays, matrices, memmaps) would come back as plain arrays, and
        # object arrays need pickle, which np.load refuses with allow_pickle=False.
        exact = type(data) is np.ndarray or isinstance(data, np.generic)
        return exact and not np.asarray(data).dtype.hasobject

    def save(self, data: np.ndarray[Any, Any] | np.generic[Any]) -> None:
        with self.open(_FILE, "wb") as f:
            array = np.asanyarray(data)
            if _plain(array):
                # The same bytes as np.save, without its copy of the data in 16 MiB chunks
                # (which it makes for any file that is not a real one, as ours hashes): the
                # header, then the array's own memory in one write.
                header = np.lib.format.header_data_from_array_1_0(array)
                np.lib.format.write_array_header_1_0(f, header)
                f.write(array.ravel(order="K").data.cast("B"))
            else:
                np.save(f, array, allow_pickle=False)

    def load(self, data_type: type[Any]) -> Any:
        with self.open(_FILE, "rb") as f:
            array = np.load(f, allow_pickle=False)
        if isinstance(data_type, type) and issubclass(data_type, np.generic):
            return array[()]
        return array

    def extract_metadata(self, data: np.ndarray[Any, Any] | np.generic[Any]) -> dict[str, Any]:
        """Shape and dtype; for a non-empty numeric array also `min`, `max`, `mean` and `std`
        (see `statistics`), which `compareArtifactVersions` compares."""
        found: dict[str, Any] = {"shape": list(np.shape(data)), "dtype": str(data.dtype)}
        if isinstance(data, np.ndarray) and data.size and data.dtype.kind in "iuf":
            found |= statistics(data, self._measures(data))
        return found

    def _measures(self, data: np.ndarray[Any, Any]) -> Measures:
        """`Measures.of(data)`, once for the metadata and the statistics table of one save
        (min and max are a pass over the whole array each)."""
        known: tuple[Any, Measures] | None = self.__dict__.get("_known_measures")
        if known is not None and known[0] is data:
            return known[1]
        found = Measures.of(data)
        self.__dict__["_known_measures"] = (data, found)
        return found

    def save_visualizations(
        self, data: np.ndarray[Any, Any] | np.generic[Any]
    ) -> dict[str, VisualizationType]:
        if not isinstance(data, np.ndarray) or data.size == 0 or data.dtype.kind not in "iuf":
            return {}
        found: dict[str, VisualizationType] = {}
        if data.ndim in (1, 2):
            rows = summary(data, self._measures(data))
            table = visuals.markdown_table(rows, f"{data.dtype} array {_shape(data)}")
            found |= visuals.write(self, "statistics.md", table, VisualizationType.MARKDOWN)
        image = image_pixels(data)
        if image is not None:
            pixels, width, height, channels = image
            content = visuals.png(pixels, width, height, channels)
            found |= visuals.write(self, "image.png", content, VisualizationType.IMAGE)
        return found


def _plain(array: np.ndarray[Any, Any]) -> bool:
    """Numbers or booleans laid out in one block, as .npy stores them (C order, or Fortran
    order for a Fortran array), with a header of the 1.0 format (all but huge shapes)."""
    contiguous = array.flags.c_contiguous or (array.flags.f_contiguous and array.ndim > 1)
    return (
        contiguous
        and array.dtype.kind in "biufc"
        and array.dtype.fields is None
        and array.dtype.isnative
        and len(str(array.shape)) < 1_000
    )


def _shape(data: np.ndarray[Any, Any]) -> str:
    return " x ".join(str(n) for n in data.shape)


def _flat(data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The values in memory order: a view unless the array is strided."""
    return data.ravel(order="K")


def sample(data: np.ndarray[Any, Any], size: int = SAMPLE_SIZE) -> np.ndarray[Any, Any]:
    """At most `size` values, evenly strided over the whole array (a view when contiguous)."""
    flat = _flat(data)
    step = max(1, math.ceil(flat.size / size))
    return flat[::step]


@dataclass(frozen=True)
class Measures:
    """What the statistics of a numeric array are made of, measured once: smallest and
    largest value over every value (NaN skipped: fmin/fmax reduce without a temporary copy,
    so they stay exact and cheap), the sample (see `sample`) as float64, and the mean and std
    of its finite values (NaN when it has none)."""

    low: Any
    high: Any
    values: np.ndarray[Any, Any]
    mean: float
    std: float

    @classmethod
    def of(cls, data: np.ndarray[Any, Any]) -> Measures:
        values = np.array(sample(data), dtype=np.float64)  # one contiguous copy of the sample
        finite = values[np.isfinite(values)] if data.dtype.kind == "f" else values
        mean, std = (float(finite.mean()), float(finite.std())) if finite.size else (math.nan,) * 2
        low, high = np.fmin.reduce(data, axis=None), np.fmax.reduce(data, axis=None)
        return cls(low, high, values, mean, std)


def statistics(data: np.ndarray[Any, Any], measures: Measures | None = None) -> dict[str, Any]:
    """`min` and `max` over every value, `mean` and `std` of the finite values of an evenly
    strided sample of at most `SAMPLE_SIZE` values (all of them in a smaller array), and
    `statistics_sample` (the sample's size) when it is not all of them. A statistic that is not
    a finite number (an array of NaN, an infinite maximum) is left out, so the metadata stays
    JSON."""
    m = measures or Measures.of(data)
    found: dict[str, Any] = {}
    for name, value in (("min", m.low), ("max", m.high), ("mean", m.mean), ("std", m.std)):
        number = int(value) if isinstance(value, np.integer) else float(value)
        if math.isfinite(number):
            found[name] = number
    if m.values.size != data.size:
        found["statistics_sample"] = int(m.values.size)
    return found


def summary(data: np.ndarray[Any, Any], measures: Measures | None = None) -> list[tuple[str, str]]:
    """Summary statistics of a numeric array, as (name, value) rows."""
    m = measures or Measures.of(data)
    rows = [("shape", _shape(data)), ("dtype", str(data.dtype)), ("values", f"{data.size:,}")]
    rows += [("min", _number(m.low)), ("max", _number(m.high))]
    note = "" if m.values.size == data.size else f" (sample of {m.values.size:,})"
    if data.dtype.kind == "f":
        nan = int(np.count_nonzero(np.isnan(m.values)))
        rows.append((f"NaN{note}", f"{nan:,}" if not note else f"{nan / m.values.size:.2%}"))
    if not math.isnan(m.mean):
        rows.append((f"mean{note}", _number(m.mean)))
        rows.append((f"std{note}", _number(m.std)))
    return rows


def _number(value: Any) -> str:
    if isinstance(value, np.integer):
        return str(int(value))
    return f"{float(value):.6g}"


def image_pixels(data: np.ndarray[Any, Any]) -> tuple[bytes, int, int, int] | None:
    """(pixels, width, height, channels) for a PNG when `data` looks like an image, else None:
    2-D or height x width x 1/3/4, sides of at least 8 with an aspect ratio of at most 8, uint8
    or floats within [0, 1]. Larger images are strided down to `MAX_IMAGE_SIDE` a side."""
    if data.ndim == 2:
        channels = 1
    elif data.ndim == 3 and data.shape[2] in (1, 3, 4):
        channels = int(data.shape[2])
    else:
        return None
    height, width = int(data.shape[0]), int(data.shape[1])
    if min(height, width) < MIN_IMAGE_SIDE or max(height, width) > MAX_IMAGE_ASPECT * min(
        height, width
    ):
        return None
    step = max(1, math.ceil(max(height, width) / MAX_IMAGE_SIDE))
    shown = data[::step, ::step]
    if data.dtype == np.uint8:
        pixels = np.ascontiguousarray(shown)
    elif data.dtype.kind == "f":
        low, high = np.fmin.reduce(shown, axis=None), np.fmax.reduce(shown, axis=None)
        if not (np.isfinite(shown).all() and low >= 0.0 and high <= 1.0):
            return None
        pixels = (shown * 255.0 + 0.5).astype(np.uint8)
    else:
        return None
    return pixels.tobytes(), int(shown.shape[1]), int(shown.shape[0]), channels
