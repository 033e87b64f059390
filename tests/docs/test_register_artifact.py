"""ZenML docs, "Register existing data as a ZenML artifact": a folder and a file written inside
the artifact store (found through `Client().active_stack.artifact_store.path`), registered
without a copy, loaded back as paths, then consumed by a pipeline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sdk import ExternalArtifact, pipeline, register_artifact, step
from sdk.client.client import Client

pytestmark = pytest.mark.usefixtures("lineageql")


@step
def count_lines(data: Path) -> int:
    files = [data] if data.is_file() else sorted(p for p in data.rglob("*") if p.is_file())
    return sum(len(f.read_text().splitlines()) for f in files)


def test_register_a_folder_and_a_file_as_the_docs_write_it() -> None:
    from uuid import uuid4

    prefix = Client().active_stack.artifact_store.path
    test_file_name = "test_file.txt"
    preexisting_folder = os.path.join(prefix, f"my_test_folder_{uuid4()}")
    preexisting_file = os.path.join(preexisting_folder, test_file_name)

    # produce a folder with a file inside artifact store boundaries
    os.mkdir(preexisting_folder)
    with open(preexisting_file, "w") as f:
        f.write("test")

    # create artifact from the preexisting folder
    register_artifact(folder_or_file_uri=preexisting_folder, name="my_folder_artifact")

    # consume artifact as a folder
    temp_artifact_folder_path = (
        Client().get_artifact_version(name_id_or_prefix="my_folder_artifact").load()
    )
    assert isinstance(temp_artifact_folder_path, Path)
    assert os.path.isdir(temp_artifact_folder_path)
    with open(os.path.join(temp_artifact_folder_path, test_file_name)) as f:
        assert f.read() == "test"

    # create artifact from the preexisting file
    register_artifact(folder_or_file_uri=preexisting_file, name="my_file_artifact")

    # consume artifact as a file
    temp_artifact_file_path = (
        Client().get_artifact_version(name_id_or_prefix="my_file_artifact").load()
    )
    assert isinstance(temp_artifact_file_path, Path)
    assert not os.path.isdir(temp_artifact_file_path)
    with open(temp_artifact_file_path) as f:
        assert f.read() == "test"

    # the store path is the store's root; both versions point where the data was written
    assert prefix == Client().store.uri
    folder = Client().get_artifact_version("my_folder_artifact")
    file = Client().get_artifact_version("my_file_artifact")
    assert (folder.version, folder.source, folder.uri.rstrip("/")) == (
        "1",
        "REGISTERED",
        preexisting_folder,
    )
    assert (file.version, file.source, file.uri) == ("1", "REGISTERED", preexisting_file)
    assert folder.size_bytes == file.size_bytes == 4 and file.content_hash is not None

    # registered data is an input like any other, and lineage records who read it
    @pipeline(enable_cache=False)
    def reads_registered() -> None:
        count_lines(ExternalArtifact(name="my_folder_artifact"))
        count_lines(ExternalArtifact(name="my_file_artifact"))

    run = reads_registered()
    assert run.steps["count_lines"].outputs["output"].load() == 1
    assert run.steps["count_lines_2"].outputs["output"].load() == 1
    assert [s.id for s in folder.downstream().consumers_of(folder.id)] == [
        run.steps["count_lines"].id
    ]
    assert folder.upstream().producers_of(folder.id) == []  # registered: no producer
    assert len(folder.upstream()) == 1 and folder in folder.upstream()
