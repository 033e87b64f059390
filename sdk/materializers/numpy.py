"""NumPy arrays and scalars as `.npy` files. Object arrays are not stored here (see `can_save`)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sdk.materializers.base import BaseMaterializer

_FILE = "data.npy"


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
            np.save(f, data, allow_pickle=False)

    def load(self, data_type: type[Any]) -> Any:
        with self.open(_FILE, "rb") as f:
            array = np.load(f, allow_pickle=False)
        if isinstance(data_type, type) and issubclass(data_type, np.generic):
            return array[()]
        return array

    def extract_metadata(self, data: np.ndarray[Any, Any] | np.generic[Any]) -> dict[str, Any]:
        return {"shape": list(np.shape(data)), "dtype": str(data.dtype)}
