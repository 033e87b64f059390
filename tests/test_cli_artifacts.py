"""`lineageql artifacts list|update` and `artifacts versions list|update`, in this process through
Typer's runner: embedded, and with `--url` against a live server; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime

import pytest
from typer.testing import CliRunner, Result

from sdk import Client, pipeline, save_artifact, step
from sdk.cli import app


@dataclass(frozen=True)
class Cli:
    """Runs `lineageql …` in-process; with a URL, passes `--url` and hides LINEAGEQL_URL, so
    the option alone decides where the command goes."""

    url: str | None

    def __call__(self, *args: str) -> Result:
        extra = ["--url", self.url] if self.url else []
        return CliRunner().invoke(app, [*args, *extra], env={"LINEAGEQL_URL": None})

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result


def rows(output: str) -> dict[str, list[str]]:
    """Table rows keyed by their first cell (cells are two or more spaces apart)."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) > 1 and not set(line.strip()) <= {"─", " "}:
            found.setdefault(cells[0], cells)
    return found


def version_rows(output: str, name: str) -> list[list[str]]:
    """The cells of every table row of artifact `name`, in order."""
    lines = (re.split(r"\s{2,}", line.strip()) for line in output.splitlines())
    return [cells for cells in lines if cells[0] == name and len(cells) > 1]


def assert_one_line_error(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"
    assert "Traceback" not in result.output


@pytest.fixture
def cli(lineageql: str) -> Cli:
    return Cli(os.environ.get("LINEAGEQL_URL"))


@step
def unnamed() -> int:
    return 7


@pipeline(enable_cache=False)
def defaults() -> None:
    unnamed()


@pytest.fixture
def store(lineageql: str) -> Client:
    """`model` (2 versions, artifact tag `prod`), `data` (3 versions, one custom, tagged),
    and one artifact with a default name from a pipeline."""
    save_artifact([1], "model")
    save_artifact([1, 2], "model", tags=["best"])
    save_artifact("a", "data", tags=["raw"])
    save_artifact("b", "data", version="raw_2023", tags=["raw", "old"])
    save_artifact("c", "data")
    defaults()
    client = Client()
    client.update_artifact("model", add_tags=["prod"])
    return client


def test_list_hides_default_names_unless_all(cli: Cli, store: Client) -> None:
    shown = cli.ok("artifacts", "list")
    everything = cli.ok("artifacts", "list", "--all")

    table = rows(shown.stdout)
    assert table["name"] == ["name", "versions", "latest", "tags", "updated (UTC)"]
    assert table["data"][:4] == ["data", "3", "2", "-"]
    assert table["model"][:4] == ["model", "2", "2", "prod"]
    updated = datetime.strptime(table["model"][4], "%Y-%m-%d %H:%M:%S")
    assert updated.year >= 2024
    assert "defaults::unnamed::output" not in shown.stdout
    assert shown.stdout.rstrip().endswith(
        "1 artifact with default names (pipeline::step::output) hidden; --all lists them."
    )
    assert rows(everything.stdout)["defaults::unnamed::output"][:3] == [
        "defaults::unnamed::output",
        "1",
        "1",
    ]
    assert "hidden" not in everything.stdout


def test_list_json_is_for_scripts(cli: Cli, store: Client) -> None:
    result = cli.ok("artifacts", "list", "--json")

    artifacts = json.loads(result.stdout)
    assert [a["name"] for a in artifacts] == ["data", "model"]
    model = artifacts[1]
    assert (model["version_count"], model["latest_version"], model["tags"]) == (2, "2", ["prod"])
    assert model["has_custom_name"] is True
    assert datetime.fromisoformat(model["updated_at"]).tzinfo is not None
    assert model["id"] == store.get_artifact("model").id
    everything = json.loads(cli.ok("artifacts", "list", "--all", "--json").stdout)
    assert [a["has_custom_name"] for a in everything] == [True, False, True]


def test_list_by_tag_and_limit(cli: Cli, store: Client) -> None:
    tagged = json.loads(cli.ok("artifacts", "list", "--tag", "prod", "--json").stdout)
    limited = cli.ok("artifacts", "list", "--limit", "1")
    none = cli.ok("artifacts", "list", "--tag", "nothing")

    assert [a["name"] for a in tagged] == ["model"]
    assert list(rows(limited.stdout)) == ["name", "data"]
    assert "showing the first 1 artifacts; use --limit 2 or more to see further" in limited.stdout
    assert none.stdout.startswith("No artifacts tagged 'nothing'.")


def test_update_adds_and_removes_artifact_tags(cli: Cli, store: Client) -> None:
    added = cli.ok("artifacts", "update", "model", "-t", "team:vision", "-t", "eu")
    swapped = cli.ok("artifacts", "update", "model", "-t", "staging", "-r", "prod", "--json")

    assert added.stdout == "model tags: eu, prod, team:vision\n"
    assert json.loads(swapped.stdout)["tags"] == ["eu", "staging", "team:vision"]
    assert store.get_artifact("model").tags == ("eu", "staging", "team:vision")
    again = cli.ok("artifacts", "update", "model", "-t", "eu", "--remove-tag", "absent")
    assert again.stdout == "model tags: eu, staging, team:vision\n"


def test_versions_list_of_one_artifact_and_of_all(cli: Cli, store: Client) -> None:
    data = cli.ok("artifacts", "versions", "list", "data")
    everything = json.loads(cli.ok("artifacts", "versions", "list", "--json").stdout)

    assert rows(data.stdout)["artifact"] == [
        "artifact",
        "version",
        "source",
        "tags",
        "size",
        "created (UTC)",
    ]
    assert [cells[1:4] for cells in version_rows(data.stdout, "data")] == [
        ["1", "SAVED", "raw"],
        ["raw_2023", "SAVED", "old, raw"],
        ["2", "SAVED", "-"],
    ]
    assert [(v["name"], v["version"]) for v in everything] == [
        ("model", "1"),
        ("model", "2"),
        ("data", "1"),
        ("data", "raw_2023"),
        ("data", "2"),
        ("defaults::unnamed::output", "1"),
    ]
    first = everything[0]
    assert first["id"] == store.get_artifact_version("model", 1).id
    assert datetime.fromisoformat(first["created_at"]).tzinfo is not None


def test_versions_list_by_tag_and_limit(cli: Cli, store: Client) -> None:
    raw = json.loads(cli.ok("artifacts", "versions", "list", "--tag", "raw", "--json").stdout)
    raw_of_model = cli.ok("artifacts", "versions", "list", "model", "--tag", "raw")
    limited = cli.ok("artifacts", "versions", "list", "data", "--limit", "2")

    assert [(v["name"], v["version"], v["tags"]) for v in raw] == [
        ("data", "1", ["raw"]),
        ("data", "raw_2023", ["old", "raw"]),
    ]
    assert raw_of_model.stdout.startswith("No versions of 'model' tagged 'raw'.")
    assert "showing the first 2 versions; use --limit 4 or more" in limited.stdout
    assert [cells[1] for cells in version_rows(limited.stdout, "data")] == ["1", "raw_2023"]


def test_versions_update_adds_and_removes_version_tags(cli: Cli, store: Client) -> None:
    target = ("artifacts", "versions", "update", "data", "raw_2023")
    result = cli.ok(*target, "-t", "gold", "-r", "old")
    numbered = cli.ok("artifacts", "versions", "update", "model", "1", "-t", "first", "--json")

    assert result.stdout == "data:raw_2023 tags: gold, raw\n"
    assert store.get_artifact_version("data", "raw_2023").tags == ("gold", "raw")
    answer = json.loads(numbered.stdout)
    assert (answer["name"], answer["version"], answer["tags"]) == ("model", "1", ["first"])
    assert store.get_artifact("model").tags == ("prod",)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("artifacts", "update", "nope", "-t", "x"), "no artifact is named 'nope'"),
        (
            ("artifacts", "update", "model", "-t", "fine", "-t", " bad tag"),
            "tag ' bad tag' has leading or trailing whitespace; strip it.",
        ),
        (
            ("artifacts", "update", "model"),
            "nothing to change: give a tag to add with -t TAG or to remove with -r TAG",
        ),
        (
            ("artifacts", "update", "model", "-t", "x", "-r", "x"),
            "tag 'x' is both added and removed; give it in only one of `addTags` and `removeTags`",
        ),
        (
            ("artifacts", "versions", "update", "model", "9", "-t", "x"),
            "artifact 'model' has no version '9'",
        ),
        (
            ("artifacts", "versions", "update", "nope", "1", "-t", "x"),
            "no artifact is named 'nope'",
        ),
        (("artifacts", "versions", "list", "nope"), "no artifact is named 'nope'"),
    ],
)
def test_errors_are_one_line_and_change_nothing(
    cli: Cli, store: Client, args: tuple[str, ...], message: str
) -> None:
    result = cli(*args)

    assert_one_line_error(result, message)
    assert store.get_artifact("model").tags == ("prod",)
    assert store.get_artifact_version("model", 2).tags == ("best",)
    assert store.list_artifacts(tag="fine") == []


def test_brackets_in_names_are_printed_as_they_are(cli: Cli, lineageql: str) -> None:
    save_artifact(1, "weights[best]", tags=["x"])

    result = cli.ok("artifacts", "list")
    versions = cli.ok("artifacts", "versions", "list", "weights[best]")
    updated = cli.ok("artifacts", "update", "weights[best]", "-t", "y")

    assert "weights[best]" in result.stdout
    assert "weights[best]" in versions.stdout
    assert updated.stdout == "weights[best] tags: y\n"


def test_list_by_tag_finds_artifacts_through_their_versions_and_says_how(
    cli: Cli, store: Client
) -> None:
    store.update_artifact("data", add_tags=["raw"])  # now on the artifact and on two versions
    save_artifact([3], "model", tags=["computer vision"])

    by_version = rows(cli.ok("artifacts", "list", "--tag", "best").stdout)
    both = rows(cli.ok("artifacts", "list", "--tag", "raw").stdout)
    own = rows(cli.ok("artifacts", "list", "--tag", "prod").stdout)
    spaced = json.loads(cli.ok("artifacts", "list", "--tag", "computer vision", "--json").stdout)

    assert by_version["name"] == ["name", "versions", "latest", "tags", "updated (UTC)", "tagged"]
    assert sorted(by_version) == ["model", "name"]
    assert by_version["model"][-1] == "1 version"  # `best` is on one version only
    assert both["data"][-1] == "artifact, 2 versions"
    assert own["model"][-1] == "artifact"
    assert [(a["name"], a["tagged"]) for a in spaced] == [
        ("model", {"artifact": False, "versions": 1})
    ]


def test_a_misspelled_artifact_gets_did_you_mean(store_env: dict[str, str]) -> None:
    save_artifact([1], "my_model")
    result = CliRunner().invoke(app, ["artifacts", "versions", "list", "my_modle"])
    assert result.exit_code == 1
    assert "no artifact is named 'my_modle' (did you mean 'my_model'?)" in result.stderr


def test_read_commands_name_the_store_they_read_on_a_terminal(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    save_artifact([1], "named")
    quiet = CliRunner().invoke(app, ["artifacts", "list", "--all"])
    assert quiet.stderr == ""  # piped: nothing but the output
    monkeypatch.setattr("sdk.cli.common.stderr_is_terminal", lambda: True)
    result = CliRunner().invoke(app, ["artifacts", "list", "--all"])
    assert result.exit_code == 0, result.output
    assert f"Reading store {store_env['LINEAGEQL_HOME']}" in result.stderr
    assert "named" in result.stdout and "Reading" not in result.stdout
    as_json = CliRunner().invoke(app, ["artifacts", "list", "--all", "--json"])
    assert as_json.stderr == "" and json.loads(as_json.stdout)


@pytest.mark.parametrize(
    "command",
    [
        ["artifacts", "list"],
        ["artifacts", "versions", "list", "model"],
        ["runs", "list"],
        ["lineage", "model"],
    ],
)
def test_a_wrong_home_is_an_error_and_creates_nothing(
    command: list[str], tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = os.path.join(tmp_path, "typo-home")
    monkeypatch.delenv("LINEAGEQL_URL", raising=False)
    monkeypatch.delenv("LINEAGEQL_DATABASE_URL", raising=False)
    monkeypatch.setenv("LINEAGEQL_HOME", home)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert f"no LineageQL store at {home}" in result.stderr
    assert "nothing was created" in result.stderr
    assert not os.path.exists(home)
