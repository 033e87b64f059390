"""One set of rules for names, versions and tags (`api.rules`): the SDK and the API give the
same verdict on the same value, and the SDK applies them before anything runs or is written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pytest

import api
from api import rules
from sdk import (
    ArtifactConfig,
    Client,
    InputError,
    pipeline,
    register_artifact,
    save_artifact,
    step,
)
from sdk.artifacts.config import check_text
from sdk.pipeline.signature import resolve_name
from tests.api.client import CREATE_VERSION, Api, version_input

VALUES = [
    "",
    "x" * 255,
    "x" * 256,
    " leading",
    "trailing ",
    "new\nline",
    "tab\tinside",
    "nul\x00",
    "del\x7f",
    "c1\x85",
    "computer vision",
    "données ✓ 模型",
    "1",
    "007",
    "0",
    "raw_2023",
    "2147483648",
    "model_{date}",
    "{",
    "semi;colon/-=+@",
]


@pytest.fixture
def gql(tmp_path: Path) -> Iterator[Api]:
    settings = api.Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'rules.db'}",
        artifact_store=str(tmp_path / "store"),
    )
    executor = api.LocalExecutor(settings)
    try:
        yield Api(executor)
    finally:
        executor.close()


def sdk_verdict(check: Any, *args: Any) -> str | None:
    """None when the SDK accepts, else its message."""
    try:
        check(*args)
    except InputError as exc:
        return str(exc)
    return None


def api_verdict(gql: Api, **fields: Any) -> str | None:
    """None when the API registers the version, else its BAD_USER_INPUT message."""
    name = fields.pop("name", "parity")
    data = {**version_input(name, **fields), "uri": "parity/data/"}
    response = gql.execute(CREATE_VERSION, input=data)
    if not response.get("errors"):
        return None
    [error] = response["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return str(error["message"])


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_sdk_and_the_api_agree_on_every_tag(gql: Api, value: str) -> None:
    expected = sdk_verdict(lambda: ArtifactConfig(tags=[value]))
    assert api_verdict(gql, tags=[value]) == expected


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_sdk_and_the_api_agree_on_every_version(gql: Api, value: str) -> None:
    expected = sdk_verdict(lambda: ArtifactConfig(version=value))
    answer = api_verdict(gql, name=f"v{VALUES.index(value)}", version=value)
    assert answer == expected


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_sdk_and_the_api_agree_on_every_name(gql: Api, value: str) -> None:
    expected = sdk_verdict(check_text, value, "artifact name")
    assert api_verdict(gql, name=value) == expected


@pytest.mark.parametrize(
    ("template", "substitutions"),
    [
        ("data_{date}", {}),
        ("data {split}", {"split": "train set"}),
        ("{split}", {"split": " padded"}),
        ("{split}", {"split": "a\nb"}),
        ("{split}_{time}", {"split": "x" * 250}),
    ],
)
def test_names_from_placeholders_get_the_api_verdict_on_the_resolved_name(
    gql: Api, template: str, substitutions: dict[str, str]
) -> None:
    now = datetime(2026, 11, 22, 14, 30, 45, 123456)
    try:
        resolved: str | None = resolve_name(template, substitutions, now)
    except InputError:
        resolved = None
    filled = template.format(date="2026_11_22", time="14_30_45_123456", **substitutions)
    assert (resolved is None) == (api_verdict(gql, name=filled) is not None)


@pytest.mark.parametrize("template", ["{", "a}", "{0}", "{x.y}", "{x!r}", "{x:>5}"])
def test_bad_placeholders_are_refused_by_the_shared_rules(template: str) -> None:
    with pytest.raises(rules.RuleError, match="(?i)artifact name"):
        rules.check_name_template(template)
    with pytest.raises(InputError, match="(?i)artifact name"):
        ArtifactConfig(name=template)


def test_a_rule_error_is_a_value_error_and_numbers_are_canonical_numerals() -> None:
    assert issubclass(rules.RuleError, ValueError)
    assert [rules.version_number(v) for v in ["1", "42", "0", "007", "v1", "٣", "1.0"]] == [
        1,
        42,
        0,
        None,
        None,
        None,
        None,
    ]
    assert rules.check_version(1) == "1"


# --- applied before anything runs or is written -----------------------------------------------


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.usefixtures("lineageql")
@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": " padded"},
        {"name": "model", "version": "v\n1"},
        {"name": "model", "tags": ["fine", "t" * 256]},
        {"name": "model", "tags": ["nul\x00"]},
    ],
    ids=["name", "version", "tag", "nul-tag"],
)
def test_save_artifact_refuses_before_writing_a_byte(
    store_env: dict[str, str], kwargs: dict[str, Any]
) -> None:
    store = Path(store_env["LINEAGEQL_ARTIFACT_STORE"])
    before = files_under(store)

    with pytest.raises(InputError):
        save_artifact({"a": 1}, **kwargs)

    assert files_under(store) == before
    assert Client().list_artifact_versions() == []


@pytest.mark.usefixtures("lineageql")
def test_save_and_register_accept_free_text_tags_and_numeric_versions(
    store_env: dict[str, str],
) -> None:
    first = save_artifact([1], "my_model", version="1", tags=["SVC", "untrained"])
    second = save_artifact([2], "my_model", version=7, tags=["computer vision"])
    folder = Path(store_env["LINEAGEQL_ARTIFACT_STORE"]) / "manual" / "ckpt"
    folder.mkdir(parents=True)
    (folder / "w.bin").write_bytes(b"\x01")
    third = register_artifact(folder, "my_model", tags=["computer vision"])

    assert (first.version, first.is_custom_version, first.tags) == ("1", True, ("SVC", "untrained"))
    assert (second.version, second.is_custom_version) == ("7", True)
    assert (third.version, third.is_custom_version) == ("8", False)
    assert [a.name for a in Client().list_artifacts(tag="computer vision")] == ["my_model"]


CALLS: list[str] = []


@step
def first_step() -> Annotated[int, ArtifactConfig(name="first", tags=["computer vision"])]:
    CALLS.append("first_step")
    return 1


def _second_config() -> ArtifactConfig:
    """A config whose tags were changed after its checks (bypassing the constructor), as a
    stand-in for any value that did not pass ArtifactConfig's own checks."""
    config = ArtifactConfig(name="second", tags=["ok"])
    object.__setattr__(config, "tags", ("ok", "bad\ntag"))
    return config


@step
def second_step(value: int) -> Annotated[int, _second_config()]:
    CALLS.append("second_step")
    return value + 1


@pipeline(enable_cache=False)
def bad_tag_pipeline() -> None:
    second_step(first_step())


@step
def named_step() -> Annotated[int, "data_{split}"]:
    CALLS.append("named_step")
    return 1


@pipeline(enable_cache=False)
def bad_name_pipeline() -> None:
    first_step()
    named_step()


@pytest.mark.usefixtures("lineageql")
@pytest.mark.parametrize(
    ("run", "message"),
    [
        (bad_tag_pipeline, r"Output 'second' of step 'second_step': tag 'bad\\ntag'"),
        (
            bad_name_pipeline.with_options(substitutions={"split": "tr\nain"}),
            r"Artifact name \(from 'data_\{split\}'\) 'data_tr\\nain' contains a control",
        ),
    ],
    ids=["tag", "name"],
)
def test_a_pipeline_with_a_bad_output_on_its_second_step_runs_nothing(
    store_env: dict[str, str], run: Any, message: str
) -> None:
    CALLS.clear()
    store = Path(store_env["LINEAGEQL_ARTIFACT_STORE"])

    with pytest.raises(InputError, match=message):
        run()

    assert CALLS == []
    client = Client()
    assert client.list_pipeline_runs() == []
    assert client.list_artifact_versions() == []
    assert files_under(store) == []
