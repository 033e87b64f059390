"""`--where`, `--sort` and `--desc` on `artifacts versions list` and `runs list`, and logged
metadata in `artifacts versions show`: embedded and with `--url` against a server, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import os

import pytest

from sdk import StorageSize, Uri, log_metadata, pipeline, save_artifact, step
from tests.test_cli_artifacts import Cli, assert_one_line_error

SCORES = {"1": 0.5, "2": 0.95, "3": 0.91, "4": 0.2}


@pytest.fixture
def cli(lineageql: str) -> Cli:
    return Cli(os.environ.get("LINEAGEQL_URL"))


@pytest.fixture
def models(lineageql: str) -> None:
    for score in SCORES.values():
        stage = "prod" if score > 0.9 else "dev"
        save_artifact([score], "model", user_metadata={"accuracy": score, "stage": stage})
    save_artifact([0], "other")


def versions(cli: Cli, *args: str) -> list[str]:
    shown = cli.ok("artifacts", "versions", "list", *args, "--json")
    return [v["version"] for v in json.loads(shown.stdout)]


def test_where_filters_and_sort_orders_versions(cli: Cli, models: None) -> None:
    assert versions(cli, "--where", "accuracy>0.9") == ["2", "3"]
    assert versions(cli, "-w", "accuracy>=0.5", "--sort", "accuracy", "--desc") == ["2", "3", "1"]
    assert versions(cli, "--where", "accuracy>0.1", "--where", "accuracy<0.6") == ["1", "4"]
    assert versions(cli, "--where", "stage=prod", "--sort", "metadata:accuracy") == ["3", "2"]
    assert versions(cli, "model", "--where", "stage!=prod") == ["1", "4"]
    assert versions(cli, "--where", "stage~ro") == ["2", "3"]
    assert versions(cli, "--sort", "accuracy") == ["4", "1", "3", "2"]
    table = cli.ok("artifacts", "versions", "list", "--where", "accuracy>0.99").stdout
    assert "No versions matching --where." in table


def test_a_bad_where_or_sort_is_one_line_error(cli: Cli, models: None) -> None:
    bad = cli("artifacts", "versions", "list", "--where", "accuracy")
    assert_one_line_error(
        bad,
        "--where 'accuracy': write KEY OP VALUE with OP one of > >= < <= = != ~, "
        "e.g. 'accuracy>0.9'",
    )
    assert_one_line_error(
        cli("artifacts", "versions", "list", "--desc"), "--desc goes with --sort KEY"
    )


def test_show_describes_a_version_with_its_logged_metadata(cli: Cli, lineageql: str) -> None:
    save_artifact({"a": 1}, "model", user_metadata={"data": Uri("s3://b/x")})
    log_metadata({"bytes": StorageSize(10)}, artifact_name="model")
    described = json.loads(cli.ok("artifacts", "versions", "show", "model:1", "--json").stdout)
    assert described["run_metadata"] == {"bytes": 10, "data": "s3://b/x"}
    assert described["version"] == "1"
    table = cli.ok("artifacts", "versions", "show", "model").stdout
    assert "run metadata" in table and "s3://b/x" in table and "bytes" in table


@step
def scored(score: float) -> None:
    log_metadata({"score": score})


@pipeline(enable_cache=False)
def scoring(score: float) -> None:
    scored(score)


def test_runs_list_filters_and_sorts_by_run_metadata(cli: Cli, lineageql: str) -> None:
    names = {}
    for score in (0.3, 0.9, 0.6):
        run = scoring(score=score)
        log_metadata({"score": score}, run_id_name_or_prefix=run.id)
        names[run.name] = score
    shown = cli.ok("runs", "list", "--where", "score>=0.5", "--sort", "score", "--json")
    assert [names[r["name"]] for r in json.loads(shown.stdout)] == [0.6, 0.9]
    shown = cli.ok("runs", "list", "--sort", "score", "--desc", "--json")
    assert [names[r["name"]] for r in json.loads(shown.stdout)] == [0.9, 0.6, 0.3]
