"""Completing plain fields in one tight loop, and calling resolvers without Strawberry's wrapper.

graphql-core completes every field of every object through the same general machinery
(resolve info, resolver wrapper, leaf completion, awaitable checks): about 3-5 µs a field here,
so a 2,000-node lineage answer spent more time there than in the database. Most fields the API
answers are plain attributes with scalar or enum types (lineage nodes and edges, runs' steps,
a version's columns):

- a list whose items select only such fields is completed item by item directly — the
  attribute, then the type's `serialize`, as the general path does — and falls back to the
  general path, for the whole list, whenever anything is not plain: a field with a resolver,
  arguments, permissions or extensions, an object-typed field, a deferred fragment, a value the
  general path would turn into an error (a null in a non-null field, a value its scalar
  refuses), or field middleware;
- any other object's plain fields are read and serialized the same way, and its other fields
  completed the general way (`execute_fields`), in the document's order; anything a plain
  field would have to report sends the whole object the general way.

`install_lean_resolvers` gives the fields that need none of Strawberry's per-field wrapping
(no field extensions or permissions) a resolver that converts the arguments with converters
built once and calls the function directly.

The answer is the same either way; only the time differs (see tests/api/test_fast_lists.py,
tests/api/test_lean_execution.py and bench/README.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field
from typing import Any, cast

from graphql import (
    GraphQLEnumType,
    GraphQLID,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
    is_abstract_type,
)
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema import Schema, StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

TYPENAME = "__typename"


class _Fallback(Exception):
    """This list is not plain after all: complete it the general way."""


@dataclass(frozen=True)
class _Field:
    key: str  # the response key (alias or name)
    attribute: str | None  # the Python attribute; None for __typename
    serialize: Callable[[Any], Any] | None
    non_null: bool
    typename: str = ""


@dataclass(frozen=True)
class _Plan:
    """How to answer one object type's selection: its Python class and its fields."""

    origin: tuple[type[Any], ...]  # the type's class, and its stand-ins (see `stand_in`)
    fields: tuple[_Field, ...]
    # item -> its answer; raises _Fallback where the general path must answer (see _compile).
    complete: Callable[[Any], dict[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "complete", _compiled(self.origin, self.fields))


def _compiled(
    origin: tuple[type[Any], ...], fields: tuple[_Field, ...]
) -> Callable[[Any], dict[str, Any]]:
    """`_compile`'s function for this class and these fields, made once per process (the
    same document selects the same fields on every request)."""
    key = (origin, fields)
    known = _COMPILED.get(key)
    if known is None:
        if len(_COMPILED) >= COMPILED_BOUND:
            _COMPILED.clear()
        known = _COMPILED[key] = _compile(origin, fields)
    return known


_COMPILED: dict[
    tuple[tuple[type[Any], ...], tuple[_Field, ...]], Callable[[Any], dict[str, Any]]
] = {}
COMPILED_BOUND = 2_000


def _compile(
    origin: tuple[type[Any], ...], fields: tuple[_Field, ...]
) -> Callable[[Any], dict[str, Any]]:
    """A function answering an item of the `origin` classes with `fields`: one attribute read
    and one `serialize` per field, straight-line, into one dictionary literal (a 10,000-node
    lineage page completes 30,000 such fields). It raises _Fallback for an item of another class, a
    null in a non-null field, or a value its type's `serialize` turns into null or Undefined:
    the general path then answers (and reports) as it would have.

    The generated text holds only numbered local names; attribute names, response keys and
    serializers are passed in, never written into it."""
    env: dict[str, Any] = {"origin": origin, "Fallback": _Fallback, "Undefined": Undefined}
    body = ["def complete(item):", "    if not isinstance(item, origin):", "        raise Fallback"]
    answer = []
    for i, plain in enumerate(fields):
        env[f"k{i}"] = plain.key
        if plain.attribute is None:
            env[f"t{i}"] = plain.typename
            answer.append(f"k{i}: t{i}")
            continue
        env[f"a{i}"], env[f"s{i}"] = plain.attribute, plain.serialize
        body.append(f"    v{i} = getattr(item, a{i})")
        body.append(f"    if v{i} is not None:")
        if plain.serialize in _STR_IDENTITY:  # String and ID give a str back as it is
            body.append(f"        if type(v{i}) is not str:")
            body.append(f"            v{i} = s{i}(v{i})")
            body.append(f"            if v{i} is None or v{i} is Undefined:")
            body.append("                raise Fallback")
        else:
            body.append(f"        v{i} = s{i}(v{i})")
            body.append(f"        if v{i} is None or v{i} is Undefined:")
            body.append("            raise Fallback")
        if plain.non_null:
            body.append("    else:")
            body.append("        raise Fallback")
        answer.append(f"k{i}: v{i}")
    body.append("    return {" + ", ".join(answer) + "}")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(body), "<lineageql plan>", "exec"), env, namespace)  # noqa: S102
    return cast(Callable[[Any], dict[str, Any]], namespace["complete"])


# The scalars whose serialize returns a str unchanged (graphql-core's String and ID).
_STR_IDENTITY = frozenset({GraphQLString.serialize, GraphQLID.serialize})


class FastListExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with lists of plain objects completed in one loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per request (variables decide @skip/@include): (type name, selection id) -> plan.
        self._plans: dict[tuple[str, int], _Plan | None] = {}
        # (type name, field set id) -> (the field set, its split into plain fields and others).
        self._splits: dict[tuple[str, int], tuple[Any, _Split | None]] = {}

    def complete_list_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if not self._field_middleware() and isinstance(result, list | tuple):
            try:
                return self._complete_plain(return_type.of_type, field_details_list, result)
            except Exception:  # noqa: BLE001 - _Fallback, or anything the general path reports
                pass
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _field_middleware(self) -> bool:
        """Whether a field middleware is installed (it must see every field resolved)."""
        manager = self.middleware_manager
        return manager is not None and getattr(manager, "_middleware_resolvers", None) is not None

    def _complete_plain(
        self, item_type: GraphQLOutputType, field_details_list: Any, items: Sequence[Any]
    ) -> list[Any]:
        non_null = isinstance(item_type, GraphQLNonNull)
        named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if isinstance(named, GraphQLObjectType):
            plan = self._plan(named, field_details_list)
            if plan is None:
                raise _Fallback
            return [self._item(plan, item, non_null) for item in items]
        if not is_abstract_type(named):
            raise _Fallback
        answers = []
        plans: dict[type[Any], _Plan] = {}  # the runtime type is the item's class's
        for item in items:
            if item is None:
                answers.append(self._item(None, item, non_null))
                continue
            plan = plans.get(type(item))
            if plan is None:
                runtime = self._runtime_type(named, item)
                plan = None if runtime is None else self._plan(runtime, field_details_list)
                if plan is None:
                    raise _Fallback
                plans[type(item)] = plan
            answers.append(plan.complete(item))
        return answers

    @staticmethod
    def _item(plan: _Plan | None, item: Any, non_null: bool) -> Any:
        if item is None:
            if non_null:
                raise _Fallback
            return None
        assert plan is not None
        return plan.complete(item)

    def _runtime_type(self, abstract: Any, item: Any) -> GraphQLObjectType | None:
        definition = getattr(type(item), "__strawberry_definition__", None)
        if definition is None:
            return None
        found = self.schema.get_type(definition.name)
        if not isinstance(found, GraphQLObjectType) or not self.schema.is_sub_type(abstract, found):
            return None
        return found

    def _plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> _Plan | None:
        key = (object_type.name, id(field_details_list))
        if key not in self._plans:
            self._plans[key] = self._make_plan(object_type, field_details_list)
        return self._plans[key]

    def _make_plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> _Plan | None:
        if object_type.is_type_of is not None:
            return None
        grouped, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        split = _split(object_type, grouped)
        return None if split is None or split.rest else split.plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: dict[str, Any],
        position_context: Any,
    ) -> Any:
        """An object's fields: its plain ones (see `_split`) read and serialized here, the
        others executed the general way; the answer in the document's order. Anything a plain
        field would have to report (a null where none is allowed, a value its scalar refuses)
        sends the whole object the general way."""
        split = None
        if position_context is None and not self._field_middleware():
            key = (parent_type.name, id(grouped_field_set))
            cached = self._splits.get(key)
            if cached is None or cached[0] is not grouped_field_set:
                cached = (grouped_field_set, _split(parent_type, grouped_field_set))
                self._splits[key] = cached  # holds the field set: its id is not reused
            split = cached[1]
        if (
            split is None
            or not split.plan.fields
            or not isinstance(source_value, split.plan.origin)
        ):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        try:
            plain = split.plan.complete(source_value)
        except Exception:  # noqa: BLE001 - _Fallback, or anything the general path reports
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        if not split.rest:
            return plain
        rest = super().execute_fields(parent_type, source_value, path, split.rest, None)
        if not self.is_awaitable(rest):
            return _merge(split.order, plain, cast(dict[str, Any], rest))

        async def merged() -> dict[str, Any]:
            return _merge(split.order, plain, await rest)

        return merged()


@dataclass(frozen=True)
class _Split:
    """One object type's selection: the plain fields, and the others (a field set of their
    own, for the general path), with the response keys in the document's order."""

    plan: _Plan  # the plain fields
    rest: dict[str, Any]
    order: tuple[str, ...]


def _split(object_type: GraphQLObjectType, grouped: dict[str, Any]) -> _Split | None:
    """`grouped` parted into plain fields (every one a plain attribute of scalar or enum type:
    no arguments, resolver, permissions, extensions or deferral) and the rest; None for a
    type that is not a Strawberry type of its own class."""
    definition = object_type.extensions.get("strawberry-definition")
    origin = getattr(definition, "origin", None)
    if not isinstance(origin, type):
        return None
    plain: list[_Field] = []
    rest: dict[str, Any] = {}
    for response_key, details in grouped.items():
        field = _plain_field(object_type, response_key, details)
        if field is None:
            rest[response_key] = details
        else:
            plain.append(field)
    origins = (origin, *_STAND_INS.get(origin, ()))
    return _Split(_Plan(origins, tuple(plain)), rest, tuple(grouped))


# A Strawberry type's class -> classes whose objects a resolver may return in its place.
_STAND_INS: dict[type[Any], tuple[type[Any], ...]] = {}


def stand_in(graphql_class: type[Any], *classes: type[Any]) -> None:
    """Let objects of `classes` answer as `graphql_class`: a resolver may return them where
    the schema says `graphql_class`, and their plain fields are completed as its own (here,
    without a fallback to the general path). They must hold each field the selection asks of
    them as an attribute of the field's Python name, with what the field's type takes: the
    general path reads them by name too, and a field they lack fails. In a union, their class
    names the type by a `__strawberry_definition__` of its own (Strawberry's resolution and
    `_runtime_type` read it). For lists of thousands of small records (a lineage page's edges
    and slim nodes) this saves building a second object for each."""
    _STAND_INS[graphql_class] = (*_STAND_INS.get(graphql_class, ()), *classes)


# (object type, response key, field node) -> the plain field, or None: the same for every
# request of a document (ParserCache hands each its same nodes). Ids are checked against the
# objects kept with them; the memo is emptied when it grows past its bound.
_PLAIN_FIELDS: dict[tuple[int, str, int], tuple[Any, Any, _Field | None]] = {}
PLAIN_FIELDS_BOUND = 20_000


def _plain_field(object_type: GraphQLObjectType, response_key: str, details: Any) -> _Field | None:
    if any(detail.defer_usage is not None for detail in details):
        return None
    node = details[0].node
    key = (id(object_type), response_key, id(node))
    known = _PLAIN_FIELDS.get(key)
    if known is not None and known[0] is object_type and known[1] is node:
        return known[2]
    field = _find_plain_field(object_type, response_key, node)
    if len(_PLAIN_FIELDS) >= PLAIN_FIELDS_BOUND:
        _PLAIN_FIELDS.clear()
    _PLAIN_FIELDS[key] = (object_type, node, field)
    return field


def _find_plain_field(
    object_type: GraphQLObjectType, response_key: str, node: Any
) -> _Field | None:
    name = node.name.value
    if name == TYPENAME:
        return _Field(response_key, None, None, True, object_type.name)
    field_def = object_type.fields.get(name)
    if field_def is None or field_def.args or node.arguments or node.selection_set:
        return None
    strawberry_field = field_def.extensions.get("strawberry-definition")
    if (
        strawberry_field is None
        or not getattr(field_def.resolve, "_is_default", False)
        or getattr(strawberry_field, "permission_classes", None)
        or getattr(strawberry_field, "extensions", None)
    ):
        return None
    field_type = field_def.type
    non_null = isinstance(field_type, GraphQLNonNull)
    leaf = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if isinstance(leaf, GraphQLEnumType):
        return _Field(response_key, strawberry_field.python_name, _enum_serializer(leaf), non_null)
    if not isinstance(leaf, GraphQLScalarType):
        return None
    return _Field(response_key, strawberry_field.python_name, leaf.serialize, non_null)


def _enum_serializer(enum_type: GraphQLEnumType) -> Callable[[Any], Any]:
    """The enum's `serialize` by one dictionary lookup. Strawberry's compares the value with
    each of the enum's values in turn (13% of a 10,000-node lineage page, whose every edge has
    a kind); a value that is not in the table goes to it, and answers or fails as before."""
    known = _ENUM_SERIALIZERS.get(enum_type)
    if known is not None:
        return known
    slow = enum_type.serialize
    wrapped = getattr(enum_type, "wrapped_cls", None)
    names: dict[Any, str] = {}
    if wrapped is not None:
        for name, value in enum_type.values.items():
            for member in wrapped:
                if member.value == value.value:
                    names.setdefault(member, name)

    def serialize(value: Any) -> Any:
        try:
            return names[value]
        except (KeyError, TypeError):  # not a member (or unhashable): the general way
            return slow(value)

    _ENUM_SERIALIZERS[enum_type] = serialize
    return serialize


_ENUM_SERIALIZERS: dict[GraphQLEnumType, Callable[[Any], Any]] = {}


def _merge(order: Sequence[str], plain: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    return {
        key: plain[key] if key in plain else rest[key]
        for key in order
        if key in plain or key in rest
    }


# --- lean resolvers -----------------------------------------------------------------------------


def install_lean_resolvers(schema: Schema) -> int:
    """Give fields without field extensions or permissions a resolver that calls theirs
    directly; returns how many fields got one.

    Strawberry resolves every field with a resolver function through a general wrapper: an
    `Info`, argument conversion (`get_arguments`: even with no arguments; with an input
    object, its types and names resolved again at every request, 65-80 µs for the SDK's
    step mutations), the field extensions' chain built by `reduce`, then the function (about
    5 µs a field without arguments); and a field without one through
    `StrawberryField.get_result` and its default resolver. For fields where all of that does
    nothing but convert the arguments and call the function with the source and an `Info`
    (or read the attribute), this resolver does just that, with the arguments' converters
    built once (`input_converter`, which converts as Strawberry's `convert_argument` does):
    the same function, the same arguments, the same result or exception. Fields with
    extensions, permission classes, a root or parent parameter, an argument type the
    converter does not handle (`Maybe`, `GlobalID`, custom `from_input`), or exception
    handlers on the schema keep Strawberry's resolver."""
    if getattr(schema.schema_converter, "_exception_handler_specs", True):
        return 0  # handlers can turn a field's exception into a value: not a plain call
    info_class = schema.config.info_class
    installed = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for field_def in graphql_type.fields.values():
            field = field_def.extensions.get("strawberry-definition")
            if not isinstance(field, StrawberryField) or field.extensions or field.is_subscription:
                continue
            lean = _lean_resolver(schema, field, info_class)
            if lean is not None:
                field_def.resolve = lean
                installed += 1
    return installed


def _lean_resolver(
    schema: Schema, field: StrawberryField, info_class: type[Any]
) -> Callable[..., Any] | None:
    resolver = field.base_resolver
    if resolver is None:
        if field.default_resolver is not getattr or not field.python_name:
            return None
        name = field.python_name

        def attribute(source: Any, info: GraphQLResolveInfo[Any], /, **_: Any) -> Any:
            return getattr(source, name)

        attribute._is_default = True  # type: ignore[attr-defined]  # a plain attribute
        return attribute
    if (
        resolver.self_parameter is None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or not callable(resolver.wrapped_func)
    ):
        return None
    function = resolver.wrapped_func
    arguments: list[tuple[str, str, Callable[[Any], Any]]] = []
    for argument in field.arguments:
        convert = input_converter(argument.type, schema)
        if convert is None or argument.python_name is None:
            return None
        graphql_name = schema.config.name_converter.from_argument(argument)
        arguments.append((graphql_name, argument.python_name, convert))
    if arguments:
        info_name = resolver.info_parameter.name if resolver.info_parameter else None

        def call_with_arguments(source: Any, info: GraphQLResolveInfo[Any], /, **raw: Any) -> Any:
            kwargs = {
                python_name: convert(raw[graphql_name])
                for graphql_name, python_name, convert in arguments
                if graphql_name in raw
            }
            if info_name is not None:
                kwargs[info_name] = info_class(_raw_info=info, _field=field)
            return function(source, **kwargs)

        return call_with_arguments
    if resolver.info_parameter is None:

        def call(source: Any, info: GraphQLResolveInfo[Any], /, **_: Any) -> Any:
            return function(source)

        return call
    info_name = resolver.info_parameter.name

    def call_with_info(source: Any, info: GraphQLResolveInfo[Any], /, **_: Any) -> Any:
        return function(source, **{info_name: info_class(_raw_info=info, _field=field)})

    return call_with_info


def input_converter(type_: Any, schema: Schema) -> Callable[[Any], Any] | None:
    """What Strawberry's `convert_argument` does to a value of `type_` (already coerced by
    graphql-core), as a function built once: types, names and defaults resolved here rather
    than at every value. None for a type it does not handle (`Maybe`, `GlobalID`, an input
    with its own `from_input`, anything unknown): such an argument keeps Strawberry's
    conversion."""
    try:
        return _converter(type_, schema)
    except _Unsupported:
        return None


class _Unsupported(Exception):
    pass


def _identity(value: Any) -> Any:
    return value


def _converter(type_: Any, schema: Schema) -> Callable[[Any], Any]:
    registry = schema.schema_converter.scalar_registry
    if isinstance(type_, StrawberryMaybe) or type_ is GlobalID:
        raise _Unsupported
    if isinstance(type_, StrawberryOptional):  # Strawberry converts the inner type
        return _converter(type_.of_type, schema)
    if isinstance(type_, LazyType):
        return _converter(type_.resolve_type(), schema)
    convert: Callable[[Any], Any]
    if isinstance(type_, StrawberryList):
        item = type_.of_type
        leaf = item.of_type if isinstance(item, StrawberryOptional) else item
        if _is_leaf(leaf, registry) and leaf is not GlobalID:
            convert = list  # a copy: graphql-core shares default values between requests
        else:
            convert_item = _converter(item, schema)

            def convert(value: Any) -> Any:
                return [convert_item(x) for x in value]

    elif _is_leaf(type_, registry):
        convert = _identity
    elif has_enum_definition(type_):
        convert = _identity  # its definition is a leaf
    elif has_object_definition(type_):
        convert = _input_object_converter(type_, schema)
    else:
        raise _Unsupported

    def checked(value: Any) -> Any:
        if value is None or value is UNSET:
            return value
        return convert(value)

    return checked


def _is_leaf(type_: Any, registry: Any) -> bool:
    if isinstance(type_, LazyType):
        return _is_leaf(type_.resolve_type(), registry)
    return bool(is_scalar(type_, registry)) or isinstance(type_, StrawberryEnumDefinition)


def _input_object_converter(type_: Any, schema: Schema) -> Callable[[Any], Any]:
    definition = type_.__strawberry_definition__
    if definition.from_input is not None:
        raise _Unsupported
    defaults: dict[str, Any] = {}
    if definition.is_input:
        defaults = {
            field.python_name: None
            for field in definition.fields
            if field.default_value is MISSING and field.default_factory is MISSING
        }
    fields = [
        (
            schema.config.name_converter.from_field(field),
            field.python_name,
            _converter(field.resolve_type(type_definition=definition), schema),
        )
        for field in definition.fields
    ]

    def convert(value: Any) -> Any:
        kwargs = dict(defaults)
        for graphql_name, python_name, convert_field in fields:
            if graphql_name in value:
                kwargs[python_name] = convert_field(value[graphql_name])
        return type_(**kwargs)

    return convert
