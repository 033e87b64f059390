"""The fallback: cloudpickle, with the versions it needs recorded next to the data.

A pickle only loads on the Python it was written with, and loading one runs code, so `load`
checks the recorded versions first (`_check_loadable`; the store's trust check belongs there).
"""

from __future__ import annotations

import json
import platform
import sys
import warnings
from typing import Any, ClassVar

import cloudpickle

from sdk.materializers.base import (
    BaseMaterializer,
    MaterializerError,
    PickleFallbackWarning,
    type_path,
)

_DATA = "data.pkl"
_VERSIONS = "versions.json"


class PickleMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (object,)

    def save(self, data: Any) -> None:
        warnings.warn(
            f"Storing a {type_path(type(data))} with cloudpickle: no materializer stores it "
            f"exactly, and it will only load on Python {_python_minor()}. Register a custom "
            "materializer with sdk.materializers.register(...) to store it portably.",
            PickleFallbackWarning,
            stacklevel=2,
        )
        with self.open(_DATA, "wb") as f:
            cloudpickle.dump(data, f)
        versions = {"python": platform.python_version(), "cloudpickle": cloudpickle.__version__}
        with self.open(_VERSIONS, "wb") as f:
            f.write(json.dumps(versions).encode())

    def load(self, data_type: type[Any]) -> Any:
        self._check_loadable()
        with self.open(_DATA, "rb") as f:
            return cloudpickle.load(f)

    def _check_loadable(self) -> None:
        if not self.exists(_VERSIONS):
            raise MaterializerError(
                f"The pickled artifact at {self.uri} has no {_VERSIONS}, so the Python that "
                "wrote it is unknown; refusing to unpickle it."
            )
        with self.open(_VERSIONS, "rb") as f:
            written_with = str(json.loads(f.read())["python"])
        if ".".join(written_with.split(".")[:2]) != _python_minor():
            raise MaterializerError(
                f"The artifact at {self.uri} was pickled with Python {written_with} and this is "
                f"Python {platform.python_version()}; pickles only load on the same Python "
                f"minor version. Load it with Python {written_with}, or save it again with a "
                "materializer that does not pickle."
            )


def _python_minor() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"
