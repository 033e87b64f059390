"""Custom versions that are numbers, and the automatic versions after them (SQLite and
PostgreSQL, through the schema in-process)."""

from __future__ import annotations

import pytest

from tests.api.client import CREATE_VERSION, Api, row_counts, version_input


def create(gql: Api, name: str, version: str | None = None, **extra: object) -> tuple[str, bool]:
    data = gql.data(CREATE_VERSION, input=version_input(name, version, **extra))
    created = data["createArtifactVersion"]
    return created["version"], created["isCustomVersion"]


def test_a_hand_saved_1_is_followed_by_automatic_2_and_3(gql: Api) -> None:
    assert create(gql, "my_model", "1") == ("1", True)
    assert create(gql, "my_model") == ("2", False)
    assert create(gql, "my_model") == ("3", False)


def test_the_next_automatic_version_follows_the_highest_number_whoever_chose_it(
    gql: Api,
) -> None:
    assert create(gql, "model") == ("1", False)
    assert create(gql, "model", "7") == ("7", True)
    assert create(gql, "model") == ("8", False)
    assert create(gql, "model", "3") == ("3", True)  # a gap below the highest: free to take
    assert create(gql, "model") == ("9", False)


def test_text_versions_leave_the_numbers_alone(gql: Api) -> None:
    assert create(gql, "iris", "raw_2023") == ("raw_2023", True)
    assert create(gql, "iris") == ("1", False)


@pytest.mark.parametrize("text", ["007", "01", "v3", "3.0", "1e3", "+4", "-1", "٣"])
def test_only_canonical_numerals_count_as_numbers(gql: Api, text: str) -> None:
    assert create(gql, "data", text) == (text, True)
    assert create(gql, "data") == ("1", False)


def test_zero_is_a_number_below_the_first_automatic_version(gql: Api) -> None:
    assert create(gql, "data", "0") == ("0", True)
    assert create(gql, "data") == ("1", False)


def test_007_and_7_are_different_versions(gql: Api) -> None:
    assert create(gql, "agent", "007") == ("007", True)
    assert create(gql, "agent", "7") == ("7", True)
    assert create(gql, "agent") == ("8", False)


@pytest.mark.parametrize("taken", ["1", "2"])
def test_an_existing_numeric_version_is_a_conflict_and_registers_nothing(
    gql: Api, database_url: str, taken: str
) -> None:
    create(gql, "model", "1")
    create(gql, "model")  # "2"
    counts = row_counts(database_url)

    error = gql.error(CREATE_VERSION, input=version_input("model", taken, tags=["new tag"]))

    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["reason"] == "ARTIFACT_VERSION_EXISTS"
    assert row_counts(database_url) == counts
    assert create(gql, "model") == ("3", False)


def test_a_refused_numeric_version_does_not_move_the_counter(gql: Api, database_url: str) -> None:
    create(gql, "model")
    counts = row_counts(database_url)

    bad_tag = gql.error(CREATE_VERSION, input=version_input("model", "50", tags=["bad\n"]))
    too_big = gql.error(CREATE_VERSION, input=version_input("model", "2147483648"))

    assert bad_tag["extensions"]["code"] == too_big["extensions"]["code"] == "BAD_USER_INPUT"
    assert "above 2147483647" in too_big["message"]
    assert row_counts(database_url) == counts
    assert create(gql, "model") == ("2", False)


def test_the_largest_version_number_is_accepted(gql: Api) -> None:
    assert create(gql, "model", "2147483647") == ("2147483647", True)
