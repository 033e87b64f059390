"""Schema extensions: error codes and masking, the operation's scope, and request limits.

Error reporting: domain errors keep their message and get `extensions.code`; anything
unexpected is logged with the request id and masked, so no trace or SQL reaches a client.
Limits and scopes come from the per-request context (its `settings` and `principal`), so one
schema serves servers and embedded stores with different configurations."""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from graphql.validation.rules import overlapping_fields_can_be_merged
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types.graphql import OperationType

from api.auth import Principal, Scope, forbidden
from api.errors import ApiError, BadRequest, BadUserInput, LimitExceeded
from api.settings import Settings

if TYPE_CHECKING:
    from strawberry.types import ExecutionContext

log = logging.getLogger("lineageql.api")

# graphql-core's rule that fields of one name can be merged compares every pair of them: its
# work grows with the square of the fields a document repeats, and it stops (the document is
# refused) once it has spent this budget. Its default, 500,000, costs about half a second of
# CPU; the documents the SDK sends spend at most 16, GraphiQL's introspection query none.
# With the field limit (Settings.max_fields, checked before validation) no document can make
# validation cost more than a few tens of milliseconds.
OVERLAP_BUDGET = 10_000
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = OVERLAP_BUDGET

# What is worked out once per document text (its cost, its validation errors) is kept in
# bounded LRU caches shared by every request of the process: at most this many texts each, of at
# most this many characters (a longer text is worked out again at each request). The SDK sends
# about 60 distinct documents of a few hundred characters.
TEXT_CACHE_SIZE = 512
TEXT_CACHE_MAX_CHARS = 64 * 1024

VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
INTERNAL = "INTERNAL_SERVER_ERROR"


def convert_error(
    error: GraphQLError, request_id: str | None, embedded: bool = False
) -> GraphQLError:
    """`error` with its code and the request id (`requestId`; not on LIMIT_EXCEEDED errors,
    whose extensions are the limit and its maximum); an unexpected one logged under
    `request_id` and masked. Idempotent: a converted error converts to itself."""
    converted = _convert_error(error, request_id, embedded)
    extensions = converted.extensions or {}
    if (
        request_id is None
        or "requestId" in extensions
        or extensions.get("code") == LimitExceeded.code
    ):
        return converted
    return _with_extensions(converted, {**extensions, "requestId": request_id})


def _convert_error(error: GraphQLError, request_id: str | None, embedded: bool) -> GraphQLError:
    original = error.original_error
    if isinstance(original, ApiError):
        return _with_extensions(error, original.extensions)
    if original is None or isinstance(original, GraphQLError):
        return limit_error(error) or ensure_code(error)
    if (error.extensions or {}).get("code") == INTERNAL:
        return error  # converted (and logged) already
    if embedded:  # the caller is this process: it gets the exception (as the cause), no log
        log.debug("unexpected error in request %s at %s", request_id, error.path, exc_info=original)
        message = (
            f"Unexpected error in the embedded store ({type(original).__name__}: {original}); "
            "the exception is chained as this error's cause"
        )
    else:
        log.error("unexpected error in request %s at %s", request_id, error.path, exc_info=original)
        message = "Unexpected error; the server log has the details under this request id."
    return GraphQLError(
        message,
        nodes=error.nodes,
        path=error.path,
        original_error=original,  # not in the formatted answer: it never reaches a client
        extensions={"code": INTERNAL, "requestId": request_id},
    )


def ensure_code(error: GraphQLError) -> GraphQLError:
    """`error` if it has a code; else the same error coded as a syntax or validation error."""
    if error.extensions and "code" in error.extensions:
        return error
    code = PARSE_FAILED if error.message.startswith("Syntax Error") else VALIDATION_FAILED
    if error.message.endswith("Validation aborted."):
        return GraphQLError(
            f"{error.message} The document repeats fields too often (or has too many errors) "
            "to be validated at a bounded cost; send fewer fields of the same name.",
            nodes=error.nodes,
            extensions={**(error.extensions or {}), "code": code},
        )
    return _with_extensions(error, {**(error.extensions or {}), "code": code})


def _with_extensions(error: GraphQLError, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A least-recently-used cache of at most `maxsize` entries, safe to share between threads
    (each embedded store runs its own event loop thread; a server worker one)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        with self._lock:
            try:
                value = self._entries[key]
            except KeyError:
                pass
            else:
                self._entries.move_to_end(key)
                return value
        value = compute()  # outside the lock: two threads may both compute a miss, same value
        with self._lock:
            self._entries[key] = value
            if len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _cacheable(text: object) -> bool:
    return isinstance(text, str) and len(text) <= TEXT_CACHE_MAX_CHARS


# Document text -> its cost. The cost depends on the text alone (a text parses to one
# document whatever the settings); the verdict, the cost against the request's limits, is
# worked out at each request, so a store or server with other limits never reuses one.
_COSTS: BoundedCache[str, DocumentCost] = BoundedCache(TEXT_CACHE_SIZE)

# (document text, parse options) -> the document.
_DOCUMENTS: BoundedCache[tuple[Any, ...], DocumentNode] = BoundedCache(TEXT_CACHE_SIZE)

# (document text, schema, validation rules) -> the validation errors.
_VALIDATIONS: BoundedCache[tuple[Any, ...], tuple[GraphQLError, ...]] = BoundedCache(
    TEXT_CACHE_SIZE
)


def cached_document_cost(text: str | None, document: DocumentNode) -> DocumentCost:
    """`document_cost(document)`, computed once per text (`document` is `text` parsed)."""
    if not _cacheable(text):
        return document_cost(document)
    assert text is not None
    return _COSTS.get_or_compute(text, lambda: document_cost(document))


def cached_parse(text: str, parse_options: dict[str, Any]) -> DocumentNode:
    """`text` parsed with `parse_options` (the token limit), once per text and options. A
    syntax error is raised again at each request (errors are not cached)."""
    if not _cacheable(text):
        return parse(text, **parse_options)
    key = (text, *sorted(parse_options.items()))
    return _DOCUMENTS.get_or_compute(key, lambda: parse(text, **parse_options))


def cached_validation(
    text: str | None,
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
) -> list[GraphQLError]:
    """`validate_document(schema, document, rules)` (Strawberry's: the rules given and
    Strawberry's own two), once per document text, schema and rules; `document` is `text`
    parsed. Every rule runs on a miss, custom ones included: they are part of the key."""
    if not _cacheable(text):
        return validate_document(schema, document, rules)
    key = (text, schema, rules)
    return list(
        _VALIDATIONS.get_or_compute(key, lambda: tuple(validate_document(schema, document, rules)))
    )


class RequestPipeline(SchemaExtension):
    """Everything the schema does around executing a request, in one extension (Strawberry
    builds every extension's hooks again at each phase of each request: one extension costs
    a fraction of five):

    - parsing and validation, cached by the document's text (`cached_parse`,
      `cached_validation`). Strawberry's ParserCache keys by the text too, but its
      ValidationCache keys by the parsed document, which graphql-core hashes by walking every
      node of it at every request;
    - the document limits of the context's settings, all checked before the document is
      validated (validation, and graphql-core's overlapping-fields rule in particular, costs
      more than linear time in the fields a document selects): tokens, while parsing (the
      parser stops counting at the maximum); right after parsing, the document's cost
      (`document_cost`, once per text: fields selected once fragments are expanded, aliases,
      query depth) against the limits (at every request: other settings, other verdicts), and
      which operation to run (a document with several needs `operationName`); after
      validation, introspection where it is disabled;
    - the operation's scope: mutations need `write` (`check_scope`);
    - error codes: domain errors keep their message and get `extensions.code`, unexpected ones
      are logged and masked (`convert_error`).
    """

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        settings = _settings(context.context)
        if settings is not None:
            context.parse_options["max_tokens"] = settings.max_tokens
        yield
        result = context.result
        if result is None or not result.errors:
            return
        request_id = getattr(context.context, "request_id", None)
        embedded = bool(getattr(context.context, "embedded", False))
        result.errors = [convert_error(error, request_id, embedded) for error in result.errors]

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            options = cast(dict[str, Any], context.parse_options)
            context.graphql_document = cached_parse(context.query, options)
        yield
        # Raised, not stored: the validation hook would replace stored errors. Strawberry
        # turns an error raised here into the operation's only error.
        document = context.graphql_document
        if document is None:
            return
        # The name the request gave; `operation_name` defaults to the first operation's.
        name = getattr(context, "_provided_operation_name", context.operation_name)
        operation_error = select_operation_error(document, name)
        if operation_error is not None:
            raise operation_error
        settings = _settings(context.context)
        if settings is not None:
            check_json_value(context.variables or {}, settings.max_json_depth, "variables")
            errors = cost_limit_errors(cached_document_cost(context.query, document), settings)
            if errors:
                raise errors[0]

    def on_validate(self) -> Iterator[None]:
        # All before the yield: Strawberry reads the errors before the after-yield part runs.
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        schema = context.schema._schema
        errors = cached_validation(context.query, schema, document, context.validation_rules)
        settings = _settings(context.context)
        if not errors and settings is not None and not settings.introspection:
            errors = introspection_errors(schema, document, context.query)
        if not errors:
            errors = check_scope(context)
        context.pre_execution_errors = errors
        yield


REQUIRED_SCOPE: dict[OperationType, Scope] = {
    OperationType.QUERY: "read",
    OperationType.MUTATION: "write",
    OperationType.SUBSCRIPTION: "read",
}


def check_scope(execution_context: ExecutionContext) -> list[GraphQLError]:
    """Refuse an operation the request's token may not run: mutations need `write`.

    The principal is the context's `principal`: set by the HTTP server, absent in-process
    (whoever runs the schema in-process holds the database anyway). A refusal also sets
    HTTP 403 when the context has the HTTP `response`."""
    context = execution_context.context
    principal: Principal | None = getattr(context, "principal", None)
    if principal is None:
        return []
    operation = execution_context.operation_type
    scope = REQUIRED_SCOPE[operation]
    if principal.allows(scope):
        return []
    error = forbidden(principal, scope, f"a {operation.value}")
    response = getattr(context, "response", None)
    if response is not None:
        response.status_code = 403
    return [GraphQLError(error.message, original_error=error, extensions=error.extensions)]


def _settings(context: object) -> Settings | None:
    settings = getattr(context, "settings", None)
    return settings if isinstance(settings, Settings) else None


# --- the cost of a document, in linear time ---------------------------------------------------


@dataclass(frozen=True)
class DocumentCost:
    """What a document asks for once every fragment spread is expanded.

    `depth` is the deepest operation's field nesting, counted as Strawberry's depth limiter
    counts it (a leaf field is 0 deep, a field with a selection one more than its deepest
    child; introspection fields do not count); `aliases` and `fields` are totals over the
    operations (and over fragments no operation uses, which validation still walks)."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0


_ZERO = DocumentCost()


def document_cost(document: DocumentNode) -> DocumentCost:
    """The cost of `document`, in time linear in its size: each fragment is costed once, after
    the fragments it spreads, and a spread adds that cost (a number, however large the
    expansion it stands for). A spread closing a cycle, or of an unknown fragment, adds
    nothing; validation reports both."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    costs = _fragment_costs(fragments)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    used: set[str] = set()
    pending = [name for op in operations for name in _spread_names(op.selection_set)]
    while pending:
        name = pending.pop()
        if name in fragments and name not in used:
            used.add(name)
            pending.extend(_spread_names(fragments[name].selection_set))
    parts = [_selection_cost(op.selection_set, costs) for op in operations]
    parts += [cost for name, cost in costs.items() if name not in used]
    return DocumentCost(
        depth=max((p.depth for p in parts[: len(operations)]), default=0),
        aliases=sum(p.aliases for p in parts),
        fields=sum(p.fields for p in parts),
    )


def _fragment_costs(fragments: dict[str, FragmentDefinitionNode]) -> dict[str, DocumentCost]:
    """Each fragment's cost, computed once, the spread fragments first (an explicit stack, so
    that a long chain of fragments cannot exhaust Python's recursion limit)."""
    spreads = {name: _spread_names(f.selection_set) for name, f in fragments.items()}
    costs: dict[str, DocumentCost] = {}
    for root in fragments:
        if root in costs:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(spreads[root]))]
        on_path = {root}
        while stack:
            name, remaining = stack[-1]
            for spread in remaining:
                if spread in fragments and spread not in costs and spread not in on_path:
                    stack.append((spread, iter(spreads[spread])))
                    on_path.add(spread)
                    break
            else:
                stack.pop()
                on_path.discard(name)
                costs[name] = _selection_cost(fragments[name].selection_set, costs)
    return costs


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    """The fragments spread anywhere inside `selection_set` (not inside those fragments)."""
    names: list[str] = []
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append(selection.selection_set)
    return names


def _selection_cost(
    selection_set: SelectionSetNode, fragments: dict[str, DocumentCost]
) -> DocumentCost:
    """The cost of one selection set, with the costs of the fragments it spreads. Recursion
    follows the nesting within one definition, which the parser bounds."""
    depth = aliases = fields = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields += 1
            aliases += selection.alias is not None
            if selection.selection_set is None:
                continue
            inner = _selection_cost(selection.selection_set, fragments)
            aliases += inner.aliases
            fields += inner.fields
            if not selection.name.value.startswith("__"):  # introspection: not counted
                depth = max(depth, 1 + inner.depth)
        else:
            if isinstance(selection, InlineFragmentNode):
                inner = _selection_cost(selection.selection_set, fragments)
            else:
                assert isinstance(selection, FragmentSpreadNode)
                inner = fragments.get(selection.name.value, _ZERO)
            depth = max(depth, inner.depth)
            aliases += inner.aliases
            fields += inner.fields
    return DocumentCost(depth, aliases, fields)


def cost_limit_errors(cost: DocumentCost, settings: Settings) -> list[GraphQLError]:
    """LIMIT_EXCEEDED for a document over the field, alias or depth limit (the first one)."""
    if cost.fields > settings.max_fields:
        return [
            _limit(
                f"field limit exceeded: the document selects {_count(cost.fields)} fields once "
                f"its fragments are expanded, the maximum is {settings.max_fields} "
                "(LINEAGEQL_MAX_FIELDS); ask for fewer fields, or split the document into "
                "several requests",
                "maxFields",
                settings.max_fields,
            )
        ]
    if cost.aliases > settings.max_aliases:
        return [
            _limit(
                f"alias limit exceeded: the document has {_count(cost.aliases)} aliases, the "
                f"maximum is {settings.max_aliases} (LINEAGEQL_MAX_ALIASES); split it into "
                "several requests",
                "maxAliases",
                settings.max_aliases,
            )
        ]
    if cost.depth > settings.max_query_depth:
        return [
            _limit(
                "query depth limit exceeded: the document nests fields deeper than the maximum "
                f"of {settings.max_query_depth} (LINEAGEQL_MAX_QUERY_DEPTH); ask for "
                "less at once and follow ids with further queries",
                "maxQueryDepth",
                settings.max_query_depth,
            )
        ]
    return []


def _count(number: int) -> str:
    """A count for a message; an astronomic one (fragments doubling at each level) as a power
    of ten rather than a few hundred digits."""
    return str(number) if number < 10**12 else f"about 10^{len(str(number)) - 1}"


def select_operation_error(document: DocumentNode, name: str | None) -> GraphQLError | None:
    """The error for a document whose operation to run is not clear: several operations and
    no `operationName` (the GraphQL spec requires an error), or a name it does not define."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None and len(operations) > 1:
        named = [op.name.value for op in operations if op.name is not None]
        return _bad_request(
            f"the document defines {len(operations)} operations; say which one to run with "
            f"`operationName` (one of: {', '.join(named) or 'none of them is named'})"
        )
    if name is not None and not any(op.name and op.name.value == name for op in operations):
        return _bad_request(f"the document defines no operation named {name!r} (operationName)")
    return None


def _bad_request(message: str) -> GraphQLError:
    error = BadRequest(message)
    return GraphQLError(message, original_error=error, extensions=error.extensions)


def document_limit_errors(
    schema: GraphQLSchema, document: DocumentNode, settings: Settings
) -> list[GraphQLError]:
    """LIMIT_EXCEEDED errors for a document with too many fields or aliases, or too deep; a
    validation error for introspection where it is disabled."""
    errors = cost_limit_errors(document_cost(document), settings)
    if errors or settings.introspection:
        return errors
    return introspection_errors(schema, document)


def introspection_errors(
    schema: GraphQLSchema, document: DocumentNode, text: str | None = None
) -> list[GraphQLError]:
    """Validation errors for the introspection fields of `document` (`text` parsed, when
    given: the check then runs once per text)."""
    rules = (NoSchemaIntrospectionCustomRule,)
    if _cacheable(text):
        key = (text, schema, rules)
        errors = _VALIDATIONS.get_or_compute(key, lambda: tuple(validate(schema, document, rules)))
    else:
        errors = tuple(validate(schema, document, rules))
    return [
        GraphQLError(
            f"{error.message} Introspection is disabled on this server "
            "(LINEAGEQL_INTROSPECTION=false); the schema is published as schema.graphql.",
            nodes=error.nodes,
            extensions={"code": VALIDATION_FAILED},
        )
        for error in errors
    ]


def _limit(message: str, limit: str, maximum: int) -> GraphQLError:
    error = LimitExceeded(message, limit=limit, maximum=maximum)
    return GraphQLError(message, original_error=error, extensions=error.extensions)


_TOO_MANY_TOKENS = re.compile(r"Document contains more than (\d+) tokens")


def limit_error(error: GraphQLError) -> GraphQLError | None:
    """The parser's "too many tokens" syntax error as a LIMIT_EXCEEDED error, else None."""
    match = _TOO_MANY_TOKENS.search(error.message)
    if match is None:
        return None
    maximum = int(match.group(1))
    message = (
        f"token limit exceeded: the document has more than {maximum} tokens, the maximum "
        "(LINEAGEQL_MAX_TOKENS); send a smaller document"
    )
    return GraphQLError(
        message,
        extensions={"code": LimitExceeded.code, "limit": "maxTokens", "maximum": maximum},
    )


# --- request values: nesting and text ------------------------------------------------------


def json_depth_error(maximum: int) -> LimitExceeded:
    return LimitExceeded(
        f"JSON nesting limit exceeded: the request nests arrays and objects deeper than "
        f"{maximum} levels (LINEAGEQL_MAX_JSON_DEPTH); send flatter values",
        limit="maxJsonDepth",
        maximum=maximum,
    )


def check_json_value(value: object, maximum_depth: int, where: str) -> None:
    """Refuse a decoded JSON value nested deeper than `maximum_depth`, or holding a string (or
    key) that is not valid Unicode text (a lone surrogate such as "\\ud800", which no
    database or file accepts). Iterative: any depth is refused without recursion."""
    stack: list[tuple[object, int, str]] = [(value, 0, where)]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, dict | list):
            if depth >= maximum_depth:
                raise json_depth_error(maximum_depth)
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key, path)
                    stack.append((child, depth + 1, f"{path}.{key}" if path else key))
            else:
                stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadUserInput(
            f"{_short(path)} holds a lone surrogate (such as \\ud800), which is not text: "
            "send valid UTF-8 strings",
            field=_short(path),
        ) from None


def _short(path: str) -> str:
    return path if len(path) <= 200 else path[:200] + "..."
