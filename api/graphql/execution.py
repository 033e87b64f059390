"""Completing lists of plain objects in one tight loop.

graphql-core completes every field of every list item through the same general machinery
(resolve info, resolver wrapper, leaf completion, awaitable checks): about 5 µs a field here,
so a 2,000-node lineage answer spent more time there than in the database. Most large lists
the API answers hold objects whose selected fields are plain attributes with scalar or enum
types (lineage nodes and edges, runs' steps, tags): for such a list, this execution context
builds each item's answer directly — the attribute, then the type's `serialize`, as the
general path does — and falls back to the general path, for the whole list, whenever anything
is not plain: a field with a resolver, arguments, permissions or extensions, an object-typed
field, a deferred fragment, a value the general path would turn into an error (a null in a
non-null field, a value its scalar refuses), or field middleware. The answer is the same
either way; only the time differs (see tests/api/test_fast_lists.py and bench/README.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    Undefined,
    is_abstract_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

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

    origin: type[Any]
    fields: tuple[_Field, ...]

    def complete(self, item: Any) -> dict[str, Any]:
        if not isinstance(item, self.origin):
            raise _Fallback
        answer: dict[str, Any] = {}
        for field in self.fields:
            if field.attribute is None:
                answer[field.key] = field.typename
                continue
            value = getattr(item, field.attribute)
            if value is None:
                if field.non_null:
                    raise _Fallback
                answer[field.key] = None
                continue
            assert field.serialize is not None
            serialized = field.serialize(value)
            if serialized is None or serialized is Undefined:
                raise _Fallback
            answer[field.key] = serialized
        return answer


class FastListExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with lists of plain objects completed in one loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per request (variables decide @skip/@include): (type name, selection id) -> plan.
        self._plans: dict[tuple[str, int], _Plan | None] = {}

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
        for item in items:
            if item is None:
                answers.append(self._item(None, item, non_null))
                continue
            runtime = self._runtime_type(named, item)
            plan = None if runtime is None else self._plan(runtime, field_details_list)
            if plan is None:
                raise _Fallback
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
        definition = object_type.extensions.get("strawberry-definition")
        origin = getattr(definition, "origin", None)
        if not isinstance(origin, type) or object_type.is_type_of is not None:
            return None
        grouped, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        fields: list[_Field] = []
        for response_key, details in grouped.items():
            node = details[0].node
            if any(detail.defer_usage is not None for detail in details):
                return None
            name = node.name.value
            if name == TYPENAME:
                fields.append(_Field(response_key, None, None, True, object_type.name))
                continue
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
            if not isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
                return None
            fields.append(
                _Field(response_key, strawberry_field.python_name, leaf.serialize, non_null)
            )
        return _Plan(origin, tuple(fields))
