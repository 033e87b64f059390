"""Aliases: `name@alias` names one version everywhere, moves are recorded, a stale move is
refused naming the winner, protected aliases need force, and prune keeps aliased versions."""

from __future__ import annotations

import threading
from typing import Annotated

import pytest
from typer.testing import CliRunner

from sdk import Client, ExternalArtifact, load_artifact, pipeline, save_artifact, step
from sdk.cli import app
from sdk.errors import AliasConflictError, InputError, NotFoundError
from sdk.prune import delete_artifact_version, prune_artifacts

pytestmark = pytest.mark.usefixtures("lineageql")

MOVE = """
mutation ($expected: String) {
  setArtifactAlias(name: "model", alias: "production", version: "3",
                   expectedVersion: $expected) { name version { version } }
}
"""


def three_models() -> Client:
    for value in (1, 2, 3):
        save_artifact({"weights": value}, "model")
    return Client()


def test_name_at_alias_names_one_version_everywhere() -> None:
    client = three_models()
    assert client.set_alias("model", "production", "2").version == "2"
    assert client.get_artifact_version("model@production").version == "2"
    assert load_artifact("model@production") == {"weights": 2}
    assert client.get_artifact_version("model@latest").version == "3"
    assert client.get_aliased_version("model", "production").load() == {"weights": 2}
    assert [a.name for a in client.list_aliases("model")] == ["production"]
    with pytest.raises(NotFoundError, match="no alias 'staging'.*'latest', 'production'"):
        client.get_artifact_version("model@staging")
    for refused in ("latest", "a@b", " padded"):
        with pytest.raises(InputError):
            client.set_alias("model", refused, "1")


def test_every_move_is_recorded() -> None:
    client = three_models()
    client.set_alias("model", "production", "1")
    client.set_alias("model", "production", "3")
    client.remove_alias("model", "production")
    moves = [(m.from_version, m.to_version) for m in client.alias_history("model")]
    assert moves == [(None, "1"), ("1", "3"), ("3", None)]
    with pytest.raises(NotFoundError):
        client.get_artifact_version("model@production")
    assert client.get_artifact_version("model", "3").load() == {"weights": 3}  # version stays


def test_a_stale_move_is_refused_naming_the_winner() -> None:
    client = three_models()
    client.set_alias("model", "production", "1")
    client.set_alias("model", "production", "2")  # another client's promotion came first
    with pytest.raises(Exception, match=r"now points at version '2', not '1'") as caught:
        client.graphql(MOVE, {"expected": "1"})  # this one saw production at 1
    assert getattr(caught.value, "code", None) == "CONFLICT"
    assert client.get_artifact_version("model@production").version == "2"
    assert client.graphql(MOVE, {"expected": "2"})["setArtifactAlias"]["version"] == {
        "version": "3"
    }


def test_two_promotions_at_once_one_wins() -> None:
    client = three_models()
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def promote(version: str) -> None:
        barrier.wait()
        try:
            Client().graphql(
                MOVE.replace('version: "3"', f'version: "{version}"'), {"expected": ""}
            )
            outcomes.append(f"won {version}")
        except Exception as exc:  # noqa: BLE001 - the loser's refusal is what is checked
            outcomes.append(str(exc))

    threads = [threading.Thread(target=promote, args=(v,)) for v in ("1", "2", "3", "1")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1, outcomes
    winner = winners[0].split()[1]
    assert client.get_artifact_version("model@production").version == winner
    losers = [o for o in outcomes if not o.startswith("won")]
    assert all("was moved meanwhile" in o or "at the same time" in o for o in losers), losers
    assert len(client.alias_history("model", "production")) == 1


def test_protected_aliases_move_only_with_force() -> None:
    client = three_models()
    client.set_alias("model", "production", "1", protected=True)
    with pytest.raises(AliasConflictError, match="protected"):
        client.set_alias("model", "production", "2")
    with pytest.raises(AliasConflictError, match="protected"):
        client.remove_alias("model", "production")
    assert client.set_alias("model", "production", "2", force=True).protected is True
    assert client.get_artifact_version("model@production").version == "2"


@step
def evaluate(model: dict[str, int]) -> Annotated[int, "score"]:
    return model["weights"] * 10


def test_external_artifact_by_alias_records_the_exact_version() -> None:
    client = three_models()
    client.set_alias("model", "production", "2")

    @pipeline(enable_cache=False)
    def scoring() -> None:
        evaluate(model=ExternalArtifact(name="model", alias="production"))

    run = scoring()
    used = run.steps["evaluate"].inputs["model"]
    assert (used.version, run.steps["evaluate"].outputs["score"].load()) == ("2", 20)
    client.set_alias("model", "production", "3")  # moving it later changes no recorded run
    again = client.get_pipeline_run(run.id).steps["evaluate"].inputs["model"]
    assert again.version == "2"
    with pytest.raises(InputError, match=r"alias=\.\.\.\) goes with name=\.\.\. alone"):
        ExternalArtifact(name="model", version="1", alias="production")


def test_prune_never_deletes_an_aliased_version() -> None:
    client = three_models()
    client.set_alias("model", "production", "1")
    prune_artifacts(client)
    left = [v.version for v in client.list_artifact_versions(name="model")]
    assert left == ["1"]  # 2 and 3 were unused; 1 has an alias
    with pytest.raises(Exception, match="model@production points at"):
        delete_artifact_version(client, client.get_artifact_version("model", "1"))


def test_the_command_line() -> None:
    three_models()
    runner = CliRunner()
    result = runner.invoke(app, ["artifacts", "alias", "set", "model", "production", "2"])
    assert result.exit_code == 0, result.output
    assert "model@production -> model:2" in result.output
    listed = runner.invoke(app, ["artifacts", "alias", "list", "model"])
    assert "production" in listed.output and "2" in listed.output
    runner.invoke(app, ["artifacts", "alias", "set", "model", "production", "--protect"])
    refused = runner.invoke(app, ["artifacts", "alias", "set", "model", "production", "1"])
    assert refused.exit_code == 1 and "protected" in refused.output
    forced = runner.invoke(
        app, ["artifacts", "alias", "set", "model", "production", "1", "--force"]
    )
    assert forced.exit_code == 0, forced.output
    history = runner.invoke(app, ["artifacts", "alias", "history", "model", "--json"])
    assert history.exit_code == 0 and '"to_version": "1"' in history.output


@step
def scored(model: dict) -> Annotated[float, "score"]:
    return float(model["weights"])


@pipeline(enable_cache=False)
def scoring() -> None:
    scored(ExternalArtifact(name="model", alias="production"))


def test_lineage_shows_aliases_on_its_nodes() -> None:
    client = three_models()
    client.set_alias("model", "production", version="3")
    client.set_alias("model", "staging", version="3")
    scoring()
    graph = client.get_artifact_version("score").upstream()
    model = next(node for node in graph.nodes.values() if getattr(node, "name", "") == "model")
    assert model.version == "3" and set(model.aliases or ()) == {"production", "staging"}
    tree = CliRunner().invoke(app, ["lineage", "score", "--upstream"])
    assert tree.exit_code == 0, tree.output
    line = next(text for text in tree.output.splitlines() if "model:3" in text)
    assert "@production" in line and "@staging" in line
    as_json = CliRunner().invoke(app, ["lineage", "score", "--upstream", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert '"aliases": [' in as_json.output
