"""Register a folder of training checkpoints that already lies in the artifact store.

A training loop writes a checkpoint per epoch straight into the store (`Client().store` says
where: LINEAGEQL_ARTIFACT_STORE, or the server's store). `register_artifact` then records the
folder as one version of `training_checkpoints` without copying it: its content hash (a tree
hash over every file) and size are computed where it lies. Loading the version gives a
`pathlib.Path` to a local copy in a temporary folder, so the stored bytes cannot be changed
through it. Every run writes a new folder and registers the next version.

    python examples/checkpoints.py
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from pathlib import Path

import numpy as np

from sdk import ArtifactVersion, Client, register_artifact
from sdk.artifacts.store import ArtifactStore

NAME = "training_checkpoints"
EPOCHS = 3


def write_checkpoints(store: ArtifactStore) -> str:
    """A new folder `{store}/registered/checkpoints/{id}/` with one file per epoch and a
    summary; returns its URI. Written through the store's filesystem (local or remote)."""
    folder = f"registered/checkpoints/{uuid.uuid4().hex[:12]}"
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(8, 8))
    for epoch in range(1, EPOCHS + 1):
        weights = weights * 0.9
        buffer = io.BytesIO()
        np.save(buffer, weights)
        _write(store, f"{folder}/epoch_{epoch:02d}.npy", buffer.getvalue())
    summary = {"epochs": EPOCHS, "best": f"epoch_{EPOCHS:02d}.npy"}
    _write(store, f"{folder}/summary.json", json.dumps(summary).encode())
    return f"{store.uri}/{folder}"


def _write(store: ArtifactStore, relpath: str, data: bytes) -> None:
    path = f"{store.root}/{relpath}"
    store.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with store.fs.open(path, "wb") as f:
        f.write(data)


def main() -> ArtifactVersion:
    """Write checkpoints, register them, load them back; return the registered version."""
    store = Client().store
    uri = write_checkpoints(store)
    print(f"wrote {EPOCHS} checkpoints and a summary to {uri} (the store is {store.uri})")
    version = register_artifact(uri, NAME, tags=["checkpoints"])
    print(
        f"registered {version.name}:{version.version} ({version.source}, {version.size_bytes} "
        f"bytes, content hash {version.content_hash[:12] if version.content_hash else None}…) "
        f"at {version.uri}"
    )
    local = version.load()
    assert isinstance(local, Path)
    files = sorted(p.name for p in local.iterdir())
    best = json.loads((local / "summary.json").read_text())["best"]
    weights = np.load(local / best)
    print(f"loaded a local copy at {local}: {', '.join(files)}")
    print(f"best checkpoint {best}: weights {weights.shape}, mean |w| {np.abs(weights).mean():.4f}")
    return version


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per request to a server
    main()
