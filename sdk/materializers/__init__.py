"""Materializers: how artifact values are written to and read from the artifact store.

`import sdk.materializers` imports no numpy, pandas, pyarrow or cloudpickle; their
materializers are imported the first time a value needs them.
"""

from sdk.materializers.base import (
    BaseMaterializer,
    FileDigest,
    HashingWriter,
    MaterializerError,
    PickleFallbackWarning,
    VisualizationType,
    tree_hash,
)
from sdk.materializers.io import SavedData, hash_tree, import_type, load_data, save_data
from sdk.materializers.registry import import_materializer, materializer_for, register

__all__ = [
    "BaseMaterializer",
    "FileDigest",
    "HashingWriter",
    "MaterializerError",
    "PickleFallbackWarning",
    "SavedData",
    "VisualizationType",
    "hash_tree",
    "import_materializer",
    "import_type",
    "load_data",
    "materializer_for",
    "register",
    "save_data",
    "tree_hash",
]
