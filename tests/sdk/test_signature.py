"""Step signatures: outputs as ZenML reads them, inputs, artifact names, configs, type checks."""

import collections
import collections.abc as abc
import enum
import functools
import linecache
import textwrap
import typing
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NewType, Tuple, TypedDict, TypeVar  # noqa: UP035

import pytest

from sdk.artifacts.config import ArtifactConfig, ExternalArtifact
from sdk.errors import InputError
from sdk.pipeline.signature import (
    MAX_CHECKED_ITEMS,
    InputSpec,
    OutputSpec,
    check_type,
    default_artifact_name,
    describe_type,
    parse_inputs,
    parse_outputs,
    resolve_name,
    template_placeholders,
)

NOW = datetime(2026, 11, 22, 14, 30, 45, 123456)


def keys(func: Callable[..., Any]) -> list[str]:
    return [spec.key for spec in parse_outputs(func)]


def exec_function(source: str, filename: str = "<generated>") -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(textwrap.dedent(source), filename, "exec"), namespace)
    function: Callable[..., Any] = namespace["f"]
    return function


# --- ArtifactConfig ------------------------------------------------------------------------------


def test_artifact_config_turns_tag_list_into_tuple() -> None:
    config = ArtifactConfig(name="data", version="raw_2023", tags=["a", "b"])
    assert config.tags == ("a", "b")
    assert hash(config) == hash(ArtifactConfig(name="data", version="raw_2023", tags=("a", "b")))


def test_artifact_config_drops_repeated_tags_keeping_order() -> None:
    assert ArtifactConfig(tags=["b", "a", "b"]).tags == ("b", "a")


def test_artifact_config_defaults_to_nothing() -> None:
    assert ArtifactConfig() == ArtifactConfig(name=None, version=None, tags=())


@pytest.mark.parametrize(
    ("version", "held"), [("3", "3"), (3, "3"), ("007", "007"), (0, "0"), ("1", "1")]
)
def test_artifact_config_accepts_a_number_as_version(version: str | int, held: str) -> None:
    assert ArtifactConfig(version=version).version == held


@pytest.mark.parametrize(
    ("version", "message"), [(-1, "negative"), (2**31, "above"), ("2147483648", "above")]
)
def test_artifact_config_refuses_numbers_out_of_range(version: str | int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ArtifactConfig(version=version)


def test_artifact_config_accepts_free_text_tags() -> None:
    tags = ["digits", "computer vision", "classification", "données ✓", "t" * 255]
    assert ArtifactConfig(tags=tags).tags == tuple(tags)


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("", "must not be empty"),
        (" v1", "whitespace"),
        ("v1 ", "whitespace"),
        ("v\n1", "control character"),
        ("v" * 256, "limit is 255"),
        (True, "must be a string"),
        (1.5, "must be a string"),
    ],
)
def test_artifact_config_refuses_bad_version(version: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ArtifactConfig(version=version)


def test_artifact_config_accepts_255_character_version() -> None:
    assert ArtifactConfig(version="v" * 255).version == "v" * 255


def test_artifact_config_refuses_a_string_as_tags() -> None:
    with pytest.raises(InputError, match=r"tags=\['prod'\]"):
        ArtifactConfig(tags="prod")


@pytest.mark.parametrize(
    "tags", [[""], [1], ["ok", " padded"], ["t" * 256], ["a\x00b"], ["a\x7fb"], ["line\n"]]
)
def test_artifact_config_refuses_bad_tag(tags: Any) -> None:
    with pytest.raises(InputError, match="tag"):
        ArtifactConfig(tags=tags)


def test_artifact_config_refuses_empty_name() -> None:
    with pytest.raises(InputError, match="name must not be empty"):
        ArtifactConfig(name="")


# --- ExternalArtifact ----------------------------------------------------------------------------


def test_external_artifact_by_id() -> None:
    external = ExternalArtifact(id="a1b2")
    assert (external.id, external.name, external.version, external.has_value) == (
        "a1b2",
        None,
        None,
        False,
    )


@pytest.mark.parametrize(("version", "stored"), [(None, None), ("raw_2023", "raw_2023"), (3, "3")])
def test_external_artifact_by_name_and_version(version: str | int | None, stored: str) -> None:
    external = ExternalArtifact(name="data", version=version)
    assert (external.name, external.version) == ("data", stored)


@pytest.mark.parametrize("value", [None, 0, [1, 2], {"a": 1}])
def test_external_artifact_by_value_keeps_any_value_even_none(value: Any) -> None:
    external = ExternalArtifact(value=value)
    assert external.has_value
    assert external.value == value


def test_external_artifact_by_value_with_materializer() -> None:
    class Materializer:
        pass

    assert ExternalArtifact(value=1, materializer=Materializer).materializer is Materializer


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of .*got none of them"),
        ({"id": "x", "name": "data"}, "got id, name"),
        ({"id": "x", "value": 1}, "got id, value"),
        ({"name": "data", "value": None}, "got name, value"),
        ({"id": "x", "name": "data", "value": 1}, "got id, name, value"),
        ({"version": "v1"}, "exactly one of"),
        ({"id": "x", "version": "v1"}, r"version=\.\.\.\) only works with name"),
        ({"value": 1, "version": "v1"}, r"version=\.\.\.\) only works with name"),
        ({"id": "x", "materializer": int}, r"materializer=\.\.\.\) needs value"),
        ({"name": "data", "materializer": int}, r"materializer=\.\.\.\) needs value"),
        ({"value": 1, "materializer": "not a class"}, "materializer class"),
        ({"name": ""}, "name must not be empty"),
        ({"id": ""}, "id must not be empty"),
        ({"name": "data", "version": True}, "version must be a string or an int"),
        ({"name": "data", "version": ""}, "version must not be empty"),
    ],
)
def test_external_artifact_refuses_invalid_combination(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        ExternalArtifact(**kwargs)


def test_external_artifact_takes_keywords_only() -> None:
    with pytest.raises(TypeError):
        ExternalArtifact("a1b2")  # type: ignore[call-arg]


def test_external_artifact_compares_by_identity() -> None:
    external = ExternalArtifact(value=[1])
    assert external == external
    assert external != ExternalArtifact(value=[1])


# --- outputs: counts and keys --------------------------------------------------------------------


def test_unannotated_step_has_one_any_output() -> None:
    def f(x):  # type: ignore[no-untyped-def]
        return x

    assert parse_outputs(f) == [OutputSpec("output", None, None, Any)]


def test_any_return_gives_one_output() -> None:
    def f() -> Any:
        return 1, 2

    assert parse_outputs(f) == [OutputSpec("output", None, None, Any)]


def test_none_return_gives_no_outputs() -> None:
    def f() -> None:
        pass

    assert parse_outputs(f) == []


def test_plain_return_type_gives_one_output() -> None:
    def f() -> int:
        return 1

    assert parse_outputs(f) == [OutputSpec("output", None, None, int)]


def test_tuple_literal_returns_give_one_output_per_element() -> None:
    def f(flag: bool) -> Tuple[int, str]:  # noqa: UP006
        if flag:
            return 1, "a"
        return (2, "b")

    assert parse_outputs(f) == [
        OutputSpec("output_0", None, None, int),
        OutputSpec("output_1", None, None, str),
    ]


def test_builtin_tuple_annotation_works_like_typing_tuple() -> None:
    def f() -> tuple[int, str, float]:
        return 1, "a", 2.0

    assert keys(f) == ["output_0", "output_1", "output_2"]


def test_returning_a_tuple_variable_gives_one_tuple_output() -> None:
    def f() -> Tuple[int, str]:  # noqa: UP006
        pair = (1, "a")
        return pair

    assert parse_outputs(f) == [OutputSpec("output", None, None, Tuple[int, str])]  # noqa: UP006


def test_mixed_returns_give_one_tuple_output() -> None:
    def f(flag: bool) -> tuple[int, str]:
        pair = (1, "a")
        if flag:
            return 2, "b"
        return pair

    assert keys(f) == ["output"]


def test_bare_return_makes_the_tuple_one_output() -> None:
    def f(flag: bool) -> tuple[int, str]:
        if flag:
            return  # type: ignore[return-value]
        return 1, "a"

    assert keys(f) == ["output"]


def test_starred_tuple_return_gives_one_output() -> None:
    def f() -> tuple[int, int]:
        rest = [2]
        return (1, *rest)  # type: ignore[return-value]

    assert keys(f) == ["output"]


def test_returns_in_nested_functions_lambdas_and_classes_do_not_count() -> None:
    def f() -> tuple[int, int]:
        def helper() -> tuple[int, int]:
            pair = (1, 2)
            return pair

        class Inner:
            def method(self) -> object:
                return helper()

        pick: Callable[[], tuple[int, int]] = lambda: helper()  # noqa: E731
        return helper()[0], pick()[1] + len(repr(Inner))

    assert keys(f) == ["output_0", "output_1"]


def test_async_step_is_read_like_a_plain_one() -> None:
    async def f() -> tuple[int, int]:
        pair = (1, 2)
        return pair

    assert keys(f) == ["output"]


def test_variadic_tuple_is_one_output() -> None:
    def f() -> tuple[int, ...]:
        return 1, 2, 3

    assert parse_outputs(f) == [OutputSpec("output", None, None, tuple[int, ...])]


def test_single_element_tuple_is_one_output() -> None:
    def f() -> tuple[int]:
        return (1,)

    assert keys(f) == ["output"]


def test_optional_tuple_is_one_output() -> None:
    def f() -> tuple[int, int] | None:
        return 1, 2

    assert keys(f) == ["output"]


def test_function_without_any_return_keeps_the_tuple_split() -> None:
    def f() -> tuple[int, int]:
        raise NotImplementedError

    assert keys(f) == ["output_0", "output_1"]


def test_exec_function_without_source_is_assumed_to_return_tuple_literals() -> None:
    f = exec_function(
        """
        def f() -> tuple[int, str]:
            pair = (1, "a")
            return pair
        """
    )
    assert keys(f) == ["output_0", "output_1"]


def test_notebook_cell_source_is_read_from_linecache(monkeypatch: pytest.MonkeyPatch) -> None:
    source = "def f() -> tuple[int, str]:\n    pair = (1, 'a')\n    return pair\n"
    filename = "<ipython-input-7-0123456789ab>"
    lines = source.splitlines(keepends=True)
    monkeypatch.setitem(linecache.cache, filename, (len(source), None, lines, filename))
    assert keys(exec_function(source, filename)) == ["output"]


def test_module_level_function_in_a_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "steps_module.py"
    path.write_text("def f() -> tuple[int, str]:\n    pair = (1, 'a')\n    return pair\n")
    linecache.checkcache(str(path))
    assert keys(exec_function(path.read_text(), str(path))) == ["output"]


def _decorate_with(label: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    assert label
    return _decorate


def _decorate(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def test_decorated_function_source_with_decorator_lines_is_read() -> None:
    @_decorate
    @_decorate_with(
        "a decorator call spanning lines",
    )
    def f() -> tuple[int, str]:
        pair = (1, "a")
        return pair

    assert keys(f) == ["output"]


def test_string_indented_less_than_the_function_does_not_hide_returns() -> None:
    def f() -> tuple[int, str]:
        text = """
not indented
"""
        pair = (1, text)
        return pair

    assert keys(f) == ["output"]


# --- outputs: Annotated names and ArtifactConfig -------------------------------------------------


def test_annotated_string_names_the_output() -> None:
    def f() -> Annotated[int, "my_number"]:
        return 1

    assert parse_outputs(f) == [OutputSpec("my_number", "my_number", None, int)]


def test_annotated_artifact_config_names_and_configures_the_output() -> None:
    config = ArtifactConfig(name="raw_data", version="raw_2023", tags=["raw"])

    def f() -> Annotated[list[int], config]:
        return [1]

    assert parse_outputs(f) == [OutputSpec("raw_data", "raw_data", config, list[int])]


def test_artifact_config_without_name_keeps_default_key() -> None:
    config = ArtifactConfig(version="raw_2023")

    def f() -> Annotated[int, config]:
        return 1

    assert parse_outputs(f) == [OutputSpec("output", None, config, int)]


def test_annotated_tuple_is_one_named_output() -> None:
    def f() -> Annotated[tuple[int, str], "pair"]:
        return 1, "a"

    assert parse_outputs(f) == [OutputSpec("pair", "pair", None, tuple[int, str])]


def test_tuple_elements_can_be_named() -> None:
    config = ArtifactConfig(name="labels_{date}", tags=["y"])

    def f() -> Tuple[Annotated[int, "features"], Annotated[str, config], float]:  # noqa: UP006
        return 1, "a", 2.0

    assert parse_outputs(f) == [
        OutputSpec("features", "features", None, int),
        OutputSpec("labels_{date}", "labels_{date}", config, str),
        OutputSpec("output_2", None, None, float),
    ]


def test_named_elements_of_one_tuple_output_stay_in_its_annotation() -> None:
    def f() -> tuple[Annotated[int, "a"], Annotated[int, "b"]]:
        pair = (1, 2)
        return pair

    [spec] = parse_outputs(f)
    assert (spec.key, spec.name_template) == ("output", None)
    assert check_type((1, 2), spec.annotation)


def test_unrelated_annotated_metadata_is_ignored() -> None:
    def f() -> Annotated[int, 42, "count"]:
        return 1

    assert parse_outputs(f) == [OutputSpec("count", "count", None, int)]


def test_duplicate_output_names_are_refused() -> None:
    def my_step() -> tuple[Annotated[int, "x"], Annotated[int, "x"]]:
        return 1, 2

    with pytest.raises(InputError, match="'my_step' has two outputs named 'x'"):
        parse_outputs(my_step)


def test_name_clashing_with_a_default_key_is_refused() -> None:
    def my_step() -> tuple[int, Annotated[int, "output_0"]]:
        return 1, 2

    with pytest.raises(InputError, match="two outputs named 'output_0'"):
        parse_outputs(my_step)


def test_two_names_for_one_output_are_refused() -> None:
    def my_step() -> Annotated[int, "a", ArtifactConfig(name="b")]:
        return 1

    with pytest.raises(InputError, match="several names"):
        parse_outputs(my_step)


@pytest.mark.parametrize("name", ["", " padded", "bad_{date.year}", "bad_{"])
def test_bad_output_name_is_refused_when_the_step_is_read(name: str) -> None:
    def my_step() -> Annotated[int, name]:
        return 1

    with pytest.raises(InputError):
        parse_outputs(my_step)


# --- annotations that cannot be resolved ---------------------------------------------------------


def test_unresolvable_forward_reference_reads_as_any() -> None:
    def f(x: "Missing") -> "tuple[int, Missing]":  # type: ignore[name-defined]  # noqa: F821
        return 1, x

    assert parse_outputs(f) == [
        OutputSpec("output_0", None, None, int),
        OutputSpec("output_1", None, None, Any),
    ]
    assert parse_inputs(f)["x"].annotation is Any


def test_string_annotations_resolve_against_module_globals() -> None:
    def f(x: "int") -> "Annotated[Path, 'folder']":
        return Path()

    f.__annotations__["unused"] = "Missing"  # makes get_type_hints fail as a whole
    assert parse_outputs(f) == [OutputSpec("folder", "folder", None, Path)]
    assert parse_inputs(f)["x"].annotation is int


# --- inputs --------------------------------------------------------------------------------------


def test_inputs_keep_order_annotation_and_default() -> None:
    def f(data: list[int], untyped, *, rate: float = 0.5, name: str | None = None) -> None:  # type: ignore[no-untyped-def]
        pass

    assert parse_inputs(f) == {
        "data": InputSpec("data", list[int], False, None),
        "untyped": InputSpec("untyped", Any, False, None),
        "rate": InputSpec("rate", float, True, 0.5),
        "name": InputSpec("name", str | None, True, None),
    }


def test_inputs_of_decorated_function_come_from_the_wrapped_one() -> None:
    @_decorate
    def f(x: int = 1) -> int:
        return x

    assert parse_inputs(f) == {"x": InputSpec("x", int, True, 1)}


@pytest.mark.parametrize("star", ["*args", "**kwargs"])
def test_star_parameters_are_refused_naming_the_step(star: str) -> None:
    f = exec_function(f"def f(x, {star}): pass")
    f.__name__ = "train_model"
    with pytest.raises(InputError, match=rf"'train_model' takes \{star}.*named parameters"):
        parse_inputs(f)


# --- names ---------------------------------------------------------------------------------------


def test_default_artifact_name() -> None:
    assert default_artifact_name("training", "trainer", "output_1") == "training::trainer::output_1"


def test_date_and_time_placeholders_have_exact_format() -> None:
    assert resolve_name("data_{date}_{time}", {}, NOW) == "data_2026_11_22_14_30_45_123456"


def test_time_placeholder_keeps_zero_microseconds() -> None:
    assert resolve_name("{time}", {}, datetime(2026, 1, 2, 3, 4, 5)) == "03_04_05_000000"


def test_custom_placeholder_is_substituted() -> None:
    assert resolve_name("{model}::{date}", {"model": "rf"}, NOW) == "rf::2026_11_22"


def test_substitutions_override_date() -> None:
    assert resolve_name("data_{date}", {"date": "today"}, NOW) == "data_today"


def test_template_without_placeholders_is_kept() -> None:
    assert resolve_name("pipe::step::output", {}, NOW) == "pipe::step::output"


def test_doubled_braces_are_literal_braces() -> None:
    assert resolve_name("a{{b}}_{date}", {}, NOW) == "a{b}_2026_11_22"


def test_unknown_placeholder_message_names_it_and_the_fix() -> None:
    with pytest.raises(InputError) as caught:
        resolve_name("model_{experiment}", {"run": "r1"}, NOW)
    message = str(caught.value)
    assert "{experiment}" in message
    assert "'model_{experiment}'" in message
    assert "known: date, run, time" in message
    assert "with_options(substitutions={'experiment': ...})" in message


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("{date.year}", "{date.year}"),
        ("{items[0]}", "{items[0]}"),
        ("{date!r}", "{date!r}"),
        ("{date:>20}", "{date:>20}"),
        ("{}", "{}"),
        ("{0}", "{0}"),
    ],
)
def test_placeholder_other_than_a_plain_name_is_refused(template: str, shown: str) -> None:
    with pytest.raises(InputError, match="is not allowed") as caught:
        resolve_name(template, {"items": "x"}, NOW)
    assert shown in str(caught.value)


@pytest.mark.parametrize("template", ["{date", "date}", "a{b"])
def test_unbalanced_braces_are_refused(template: str) -> None:
    with pytest.raises(InputError, match="not a valid template"):
        resolve_name(template, {}, NOW)


@pytest.mark.parametrize(
    ("substitution", "message"),
    [
        ("", "must not be empty"),
        ("a\nb", "control character"),
        (" a", "whitespace"),
        ("x" * 300, "limit is 255"),
    ],
)
def test_resolved_name_is_checked(substitution: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        resolve_name("{name}", {"name": substitution}, NOW)


def test_substitution_value_must_be_a_string() -> None:
    with pytest.raises(InputError, match="'epoch' must be a string"):
        resolve_name("m_{epoch}", {"epoch": 3}, NOW)  # type: ignore[dict-item]


def test_template_placeholders_lists_names_in_order() -> None:
    assert template_placeholders("{a}_{{b}}_{date}_{a}") == ["a", "date", "a"]


# --- check_type ----------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"


class Movie(TypedDict):
    title: str


UserId = NewType("UserId", int)
T = TypeVar("T")


class Animal:
    pass


class Dog(Animal):
    pass


@typing.runtime_checkable
class HasLen(typing.Protocol):
    def __len__(self) -> int: ...


class NotRuntime(typing.Protocol):
    def quack(self) -> None: ...


def _numbers() -> abc.Iterator[int]:
    yield 1


TRUTH_TABLE: list[tuple[Any, Any, bool]] = [
    (1, Any, True),
    (object(), T, True),
    ("x", "ForwardRef", True),
    (None, None, True),
    (0, None, False),
    (None, type(None), True),
    (1, int, True),
    (True, int, True),
    ("1", int, False),
    (1, float, True),
    (1.5, float, True),
    ("1.5", float, False),
    (1, complex, True),
    (1.5, complex, True),
    (1j, complex, True),
    (1j, float, False),
    (b"x", bytes, True),
    (Dog(), Animal, True),
    (Animal(), Dog, False),
    (None, typing.Optional[int], True),  # noqa: UP045
    (1, typing.Optional[int], True),  # noqa: UP045
    ("1", typing.Optional[int], False),  # noqa: UP045
    ("a", int | str, True),
    (1.5, typing.Union[int, str], False),  # noqa: UP007
    (1, Annotated[int, "name"], True),
    ("1", Annotated[int, "name"], False),
    ([1, 2], list[int], True),
    ([1, "2"], list[int], False),
    ([1, "2"], typing.List[int], False),  # noqa: UP006
    ([1, "2"], list, True),
    ((1, 2), list[int], False),
    ({1, 2}, set[int], True),
    (frozenset({"a"}), frozenset[str], True),
    ({1, 2}, frozenset[int], False),
    ({"a": 1}, dict[str, int], True),
    ({"a": "1"}, dict[str, int], False),
    ({1: 1}, dict[str, int], False),
    ({"a": [1, 2]}, dict[str, list[int]], True),
    ({"a": [1, "2"]}, dict[str, list[int]], False),
    ({"a": {"b": (1, "x")}}, dict[str, dict[str, tuple[int, str]]], True),
    ([{"a": None}, {"b": 2}], list[dict[str, int | None]], True),
    ([{"a": None}, {"b": "2"}], list[dict[str, int | None]], False),
    ((1, "a"), tuple[int, str], True),
    ((1, "a"), Tuple[int, str], True),  # noqa: UP006
    (("a", 1), tuple[int, str], False),
    ((1, "a", 2), tuple[int, str], False),
    ((1, 2, 3), tuple[int, ...], True),
    ((1, 2, "3"), tuple[int, ...], False),
    ((), tuple[int, ...], True),
    ([1, 2], tuple[int, int], False),
    ((1, 2), abc.Sequence[int], True),
    ([1, "2"], abc.Sequence[int], False),
    ({"a": 1}, abc.Mapping[str, int], True),
    ({"a": 1}, abc.Mapping[str, str], False),
    (collections.OrderedDict(a=1), abc.MutableMapping[str, int], True),
    ([1], abc.Iterable[int], True),
    (["1"], abc.Iterable[int], False),
    (_numbers(), abc.Iterable[str], True),
    (collections.deque([1]), collections.deque[int], True),
    (collections.Counter("ab"), collections.Counter[str], True),
    ("red", Literal["red", "blue"], True),
    ("green", Literal["red", "blue"], False),
    (1, Literal[True], False),
    (Color.RED, Literal[Color.RED], True),
    (Dog, type[Animal], True),
    (Animal, type[Dog], False),
    (Dog(), type[Dog], False),
    (Dog, type[int | Animal], True),
    (len, Callable[[Any], int], True),
    (len, typing.Callable, True),
    (1, Callable[[], int], False),
    ([1], HasLen, True),
    (1, HasLen, False),
    (1, NotRuntime, True),
    (3, UserId, True),
    ("3", UserId, False),
    ({"title": "x"}, Movie, True),
    (["x"], Movie, False),
    (Path("a"), Path, True),
    ("a", Path, False),
    ([[1, 2], [3]], list[list[int]], True),
    ([[1, 2], [3, "4"]], list[list[int]], False),
    (1, typing.ClassVar[int], True),
    (None, object, True),
]


@pytest.mark.parametrize(("value", "annotation", "expected"), TRUTH_TABLE)
def test_check_type(value: Any, annotation: Any, expected: bool) -> None:
    assert check_type(value, annotation) is expected


def test_check_type_looks_at_a_bounded_number_of_elements() -> None:
    value: list[Any] = [1] * MAX_CHECKED_ITEMS + ["not checked"]
    assert check_type(value, list[int])
    assert not check_type(["checked"] + value, list[int])


def test_check_type_does_not_consume_iterators() -> None:
    numbers = _numbers()
    assert check_type(numbers, abc.Iterator[int])
    assert list(numbers) == [1]


@pytest.mark.parametrize(
    ("annotation", "shown"),
    [
        (Any, "Any"),
        (None, "None"),
        (type(None), "None"),
        (int, "int"),
        (Path, "pathlib.Path"),
        (list[int], "list[int]"),
        (typing.Optional[int], "Optional[int]"),  # noqa: UP045
        (int | None, "int | None"),
        (dict[str, tuple[int, ...]], "dict[str, tuple[int, ...]]"),
        ("Missing", "Missing"),
    ],
)
def test_describe_type(annotation: Any, shown: str) -> None:
    assert describe_type(annotation) == shown
