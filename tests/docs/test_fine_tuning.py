"""ZenML docs, "Manage artifacts" — the model fine-tuning walk-through, as the docs write it
(`examples/fine_tuning.py`, only the imports swapped): a hand-saved custom version "1", then
automatic versions after it, a dataset tagged "computer vision", and an older dataset version
fed back in by `Client().get_artifact_version(name_id_or_prefix=..., version=...)`."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

from sdk import Client, load_artifact

pytestmark = [
    pytest.mark.usefixtures("lineageql"),
    pytest.mark.filterwarnings("ignore::sdk.materializers.PickleFallbackWarning"),
]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fine_tuning.py"


def test_the_fine_tuning_walk_through_as_the_docs_write_it() -> None:
    runpy.run_path(str(EXAMPLE), run_name="fine_tuning")["main"]()
    client = Client()
    models = client.get_artifact("my_model").versions
    assert [(v.version, v.is_custom_version) for v in models] == [
        ("1", True),
        ("2", False),
        ("3", False),
    ]
    assert set(models[0].tags) == {"SVC", "untrained"} and models[0].producer is None
    assert all(set(v.tags) == {"SVC", "trained"} for v in models[1:])
    (dataset,) = client.get_artifact("my_dataset").versions
    assert set(dataset.tags) == {"digits", "computer vision", "classification"}
    assert "my_dataset" in {a.name for a in client.list_artifacts(tag="computer vision")}

    # The lineage the docs describe: "2" fine-tuned from "1" on the new dataset, "3" from "2"
    # on dataset version "1" fetched by name and version.
    second, third = models[1].producer, models[2].producer
    assert second is not None and third is not None
    assert second.inputs["model"].id == models[0].id
    assert third.inputs["model"].id == models[1].id
    assert second.inputs["dataset"].id == third.inputs["dataset"].id == dataset.id
    X, y = load_artifact("my_dataset", version="1")
    accuracy = float(np.mean(load_artifact("my_model").predict(X) == y))
    assert accuracy > 0.9  # a fitted model, not the untrained one
