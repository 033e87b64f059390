"""Run metadata: values users log on artifact versions, step runs and pipeline runs, kept apart
from the metadata materializers extract (`ArtifactVersion.metadata_`).

Each owner kind has its table (`models.VersionRunMetadata`, ...); a row is one key of one owner,
and logging a key again replaces its value (latest wins). Filters and the sort by one key read
the index (key, sort_group, num_value, text_value, owner_id) as one range: a number operand
compares numbers only, a string operand strings only (by their first 256 characters), any other
JSON operand (a bool, list, object or null) other values by their canonical JSON text."""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    false,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from api import rules
from api.errors import BadUserInput
from api.rules import RuleError
from api.storage.base import dialect_insert, utcnow
from api.storage.models import (
    ArtifactVersion,
    PipelineRun,
    PipelineRunMetadata,
    StepRun,
    StepRunMetadata,
    VersionRunMetadata,
)
from api.storage.pagination import Page, PageRequest

TEXT_PREFIX = 256  # characters of a string that filters and sorts read
MAX_VALUE_JSON = 65_535  # characters of a value's JSON text
MAX_KEYS = 1_000  # keys logged in one call
MAX_CONDITIONS = 50  # metadata conditions in one filter
MAX_ONE_OF = 1_000  # values of one IN condition


class MetadataType(StrEnum):
    """The type a value was logged with; `URI`, `PATH`, `DTYPE` (strings) and `STORAGE_SIZE`
    (a number of bytes) are typed values stored with their type."""

    STRING = "STRING"
    INT = "INT"
    FLOAT = "FLOAT"
    BOOL = "BOOL"
    LIST = "LIST"
    DICT = "DICT"
    TUPLE = "TUPLE"
    SET = "SET"
    NULL = "NULL"
    URI = "URI"
    PATH = "PATH"
    DTYPE = "DTYPE"
    STORAGE_SIZE = "STORAGE_SIZE"


class Owner(StrEnum):
    ARTIFACT_VERSION = "ARTIFACT_VERSION"
    STEP_RUN = "STEP_RUN"
    PIPELINE_RUN = "PIPELINE_RUN"


class Op(StrEnum):
    EQ = "EQ"
    NE = "NE"
    GT = "GT"
    GTE = "GTE"
    LT = "LT"
    LTE = "LTE"
    CONTAINS = "CONTAINS"
    STARTSWITH = "STARTSWITH"
    ENDSWITH = "ENDSWITH"
    IN = "IN"
    EXISTS = "EXISTS"


MetadataTable = type[VersionRunMetadata] | type[StepRunMetadata] | type[PipelineRunMetadata]
TABLES: dict[Owner, MetadataTable] = {
    Owner.ARTIFACT_VERSION: VersionRunMetadata,
    Owner.STEP_RUN: StepRunMetadata,
    Owner.PIPELINE_RUN: PipelineRunMetadata,
}
NUMBERS = frozenset({MetadataType.INT, MetadataType.FLOAT, MetadataType.STORAGE_SIZE})
STRINGS = frozenset({MetadataType.STRING, MetadataType.URI, MetadataType.PATH, MetadataType.DTYPE})
LISTS = frozenset({MetadataType.LIST, MetadataType.TUPLE, MetadataType.SET})
GROUP_NUMBER, GROUP_STRING, GROUP_OTHER = 0, 1, 2


@dataclass(frozen=True)
class MetadataValue:
    key: str
    value: Any
    type: MetadataType
    logged_at: datetime | None = None


@dataclass(frozen=True)
class Condition:
    key: str
    op: Op
    value: Any = None


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def infer_type(value: Any) -> MetadataType:
    if value is None:
        return MetadataType.NULL
    if isinstance(value, bool):
        return MetadataType.BOOL
    if isinstance(value, int):
        return MetadataType.INT
    if isinstance(value, float):
        return MetadataType.FLOAT
    if isinstance(value, str):
        return MetadataType.STRING
    if isinstance(value, list):
        return MetadataType.LIST
    if isinstance(value, dict):
        return MetadataType.DICT
    raise BadUserInput(f"a metadata value is JSON, got {type(value).__name__} {value!r}")


def _fits(value: Any, kind: MetadataType) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == MetadataType.INT:
        return number and isinstance(value, int)
    if kind == MetadataType.STORAGE_SIZE:
        return number and isinstance(value, int) and value >= 0
    if kind == MetadataType.FLOAT:
        return number
    if kind in STRINGS:
        return isinstance(value, str)
    if kind == MetadataType.BOOL:
        return isinstance(value, bool)
    if kind in LISTS:
        return isinstance(value, list)
    if kind == MetadataType.DICT:
        return isinstance(value, dict)
    return value is None


def check_key(key: object) -> str:
    try:
        name = rules.check_name(key, "metadata key")
        name.encode("utf-8")
    except RuleError as exc:
        raise BadUserInput(str(exc)) from None
    except UnicodeEncodeError:
        raise BadUserInput(f"metadata key {key!r} holds a lone surrogate") from None
    return name


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)


def checked_value(key: object, value: Any, kind: MetadataType | str | None) -> MetadataValue:
    """A value to store, or BAD_USER_INPUT naming the key and what is wrong with it."""
    name = check_key(key)
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise BadUserInput(
            f"metadata {name!r}: the value is not JSON (no NaN, infinity or non-JSON objects): "
            f"{value!r}"
        ) from None
    if len(text) > MAX_VALUE_JSON:
        raise BadUserInput(
            f"metadata {name!r}: the value's JSON is {len(text)} characters long; the limit "
            f"is {MAX_VALUE_JSON}"
        )
    for piece in _strings(value):
        if "\x00" in piece:  # PostgreSQL holds no NUL in text or jsonb
            raise BadUserInput(f"metadata {name!r}: the value holds a NUL character")
        try:
            piece.encode("utf-8")
        except UnicodeEncodeError:
            raise BadUserInput(
                f"metadata {name!r}: the value holds a lone surrogate, which is not text"
            ) from None
    if kind is None:
        resolved = infer_type(value)
    else:
        try:
            resolved = MetadataType(kind)
        except ValueError:
            raise BadUserInput(
                f"metadata {name!r}: unknown type {kind!r}; one of "
                f"{', '.join(t.value for t in MetadataType)}"
            ) from None
    if not _fits(value, resolved):
        raise BadUserInput(
            f"metadata {name!r}: a {resolved.value} value cannot be {value!r}"
            + (" (a whole number of bytes, 0 or more)" if resolved == "STORAGE_SIZE" else "")
        )
    if resolved in NUMBERS:
        try:
            float(value)
        except OverflowError:
            raise BadUserInput(f"metadata {name!r}: {value} is too large a number") from None
    return MetadataValue(key=name, value=value, type=resolved)


def checked_values(
    entries: Sequence[tuple[object, Any, MetadataType | str | None]],
) -> list[MetadataValue]:
    """Every entry checked before anything is written; a key given twice is refused."""
    if len(entries) > MAX_KEYS:
        raise BadUserInput(f"{len(entries)} metadata keys in one call; the limit is {MAX_KEYS}")
    values = [checked_value(key, value, kind) for key, value, kind in entries]
    seen: set[str] = set()
    for item in values:
        if item.key in seen:
            raise BadUserInput(f"metadata key {item.key!r} is given twice")
        seen.add(item.key)
    return values


def sort_columns(item: MetadataValue) -> tuple[int, float, str]:
    """(sort_group, num_value, text_value) of a value: what the index orders it by."""
    if item.type in NUMBERS:
        return GROUP_NUMBER, float(item.value), ""
    if item.type in STRINGS:
        return GROUP_STRING, 0.0, cast(str, item.value)[:TEXT_PREFIX]
    return GROUP_OTHER, 0.0, canonical_json(item.value)[:TEXT_PREFIX]


async def write(
    session: AsyncSession, owner: Owner, owner_id: str, values: Sequence[MetadataValue]
) -> None:
    """Store the values on one owner in one statement; a key logged before is replaced."""
    if not values:
        return
    table = TABLES[owner]
    now = utcnow()
    rows = []
    for item in values:
        group, number, text = sort_columns(item)
        rows.append(
            {
                "owner_id": owner_id,
                "key": item.key,
                "value": item.value,
                "type": item.type.value,
                "sort_group": group,
                "num_value": number,
                "text_value": text,
                "logged_at": now,
            }
        )
    inserting = dialect_insert(session, table).values(rows)
    changed = {
        name: inserting.excluded[name]
        for name in ("value", "type", "sort_group", "num_value", "text_value", "logged_at")
    }
    await session.execute(
        inserting.on_conflict_do_update(index_elements=["owner_id", "key"], set_=changed)
    )


_OWNER_ROWS: dict[Owner, Any] = {
    Owner.ARTIFACT_VERSION: ArtifactVersion,
    Owner.STEP_RUN: StepRun,
    Owner.PIPELINE_RUN: PipelineRun,
}


async def owner_exists(session: AsyncSession, owner: Owner, owner_id: str) -> bool:
    """Whether the artifact version, step run or pipeline run `owner_id` exists."""
    row = _OWNER_ROWS[owner]
    return await session.scalar(select(row.id).where(row.id == owner_id)) is not None


async def read(
    session: AsyncSession, owner: Owner, owner_ids: Sequence[str]
) -> dict[str, list[MetadataValue]]:
    """The values of each owner, by key."""
    table = TABLES[owner]
    rows = await session.execute(
        select(table.owner_id, table.key, table.value, table.type, table.logged_at)
        .where(table.owner_id.in_(list(owner_ids)))
        .order_by(table.owner_id, table.key)
    )
    found: dict[str, list[MetadataValue]] = defaultdict(list)
    for owner_id, key, value, kind, logged_at in rows:
        found[owner_id].append(MetadataValue(key, value, MetadataType(kind), logged_at))
    return found


# Text operators that agree on SQLite and PostgreSQL: case-sensitive, no wildcards.
class _TextOp(FunctionElement[bool]):
    type = Boolean()
    inherit_cache = True


class text_contains(_TextOp):
    name = "text_contains"
    inherit_cache = True


class text_startswith(_TextOp):
    name = "text_startswith"
    inherit_cache = True


class text_endswith(_TextOp):
    name = "text_endswith"
    inherit_cache = True


def _args(element: _TextOp, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    column, operand = list(element.clauses)
    return compiler.process(column, **kw), compiler.process(operand, **kw)


@compiles(text_contains, "sqlite")
def _sqlite_contains(element: _TextOp, compiler: SQLCompiler, **kw: Any) -> str:
    column, operand = _args(element, compiler, **kw)
    return f"instr({column}, {operand}) > 0"


@compiles(text_contains)
def _pg_contains(element: _TextOp, compiler: SQLCompiler, **kw: Any) -> str:
    column, operand = _args(element, compiler, **kw)
    return f"strpos({column}, {operand}) > 0"


@compiles(text_startswith, "sqlite")
def _sqlite_startswith(element: _TextOp, compiler: SQLCompiler, **kw: Any) -> str:
    column, operand = _args(element, compiler, **kw)
    return f"substr({column}, 1, length({operand})) = {operand}"


@compiles(text_startswith)
def _pg_startswith(element: _TextOp, compiler: SQLCompiler, **kw: Any) -> str:
    column, operand = _args(element, compiler, **kw)
    return f"left({column}, length({operand})) = {operand}"


@compiles(text_endswith, "sqlite")
def _sqlite_endswith(element: _TextOp, compiler: SQLCompiler, **kw: Any) -> str:
    column, operand = _args(element, compiler, **kw)
    return f"substr({column}, -length({operand})) = {operand}"


@compiles(text_endswith)
def _pg_endswith(element: _TextOp, compiler: SQLCompiler, **kw: Any) -> str:
    column, operand = _args(element, compiler, **kw)
    return f"right({column}, length({operand})) = {operand}"


def _operand_columns(value: Any) -> tuple[int, float, str]:
    """(group, number, text) an operand is compared as."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return GROUP_NUMBER, float(value), ""
    if isinstance(value, str):
        return GROUP_STRING, 0.0, value[:TEXT_PREFIX]
    return GROUP_OTHER, 0.0, canonical_json(value)[:TEXT_PREFIX]


def _compared(table: Any, op: Op, value: Any) -> ColumnElement[bool]:
    """`op` against one operand, on the row of `table` (a metadata table or its alias)."""
    group, number, text = _operand_columns(value)
    same_group = table.sort_group == group
    if group == GROUP_NUMBER:
        column: Any = table.num_value
        operand: Any = number
    else:
        # Within a group other than numbers num_value is always 0: saying so keeps the
        # comparison of text_value inside the index range.
        same_group = and_(same_group, table.num_value == 0.0)
        column, operand = table.text_value, text
    if op == Op.EQ:
        return and_(same_group, column == operand)
    if op == Op.NE:  # has the key, and any other value
        return ~and_(same_group, column == operand)
    compare = {
        Op.GT: column > operand,
        Op.GTE: column >= operand,
        Op.LT: column < operand,
        Op.LTE: column <= operand,
    }
    if op in compare:
        return and_(same_group, compare[op])
    raise AssertionError(op)


def condition_clause(table: Any, condition: Condition) -> ColumnElement[bool]:
    """The test of one condition on a row of `table` whose key is `condition.key`."""
    op, value = condition.op, condition.value
    if op == Op.EXISTS:
        return true()
    if op == Op.IN:
        return or_(false(), *(_compared(table, Op.EQ, v) for v in value))
    if op in (Op.CONTAINS, Op.STARTSWITH, Op.ENDSWITH):
        function = {
            Op.CONTAINS: text_contains,
            Op.STARTSWITH: text_startswith,
            Op.ENDSWITH: text_endswith,
        }[op]
        strings = and_(table.sort_group == GROUP_STRING, table.num_value == 0.0)
        return and_(strings, function(table.text_value, literal(value)))
    return _compared(table, op, value)


def checked_condition(key: object, op: Op, value: Any) -> Condition:
    """A filter condition, or BAD_USER_INPUT saying what is wrong with it."""
    name = check_key(key)
    if op == Op.EXISTS:
        if value is not None and not isinstance(value, bool):
            raise BadUserInput(
                f"metadata filter {name!r} EXISTS: the value is true, false or unset"
            )
        return Condition(name, op, True if value is None else value)
    if op == Op.IN:
        if not isinstance(value, list):
            raise BadUserInput(f"metadata filter {name!r} IN: the value is a list of values")
        if len(value) > MAX_ONE_OF:
            raise BadUserInput(
                f"metadata filter {name!r} IN: {len(value)} values; the limit is {MAX_ONE_OF}"
            )
        for item in value:
            checked_value(name, item, None)
        return Condition(name, op, value)
    checked_value(name, value, None)
    if op in (Op.CONTAINS, Op.STARTSWITH, Op.ENDSWITH) and not isinstance(value, str):
        raise BadUserInput(f"metadata filter {name!r} {op.value}: the value is a string")
    if op in (Op.GT, Op.GTE, Op.LT, Op.LTE) and not isinstance(value, int | float | str):
        raise BadUserInput(
            f"metadata filter {name!r} {op.value}: the value is a number or a string"
        )
    if isinstance(value, bool) and op not in (Op.EQ, Op.NE):
        raise BadUserInput(f"metadata filter {name!r} {op.value}: a bool compares with EQ or NE")
    return Condition(name, op, value)


def filtered(
    stmt: Select[Any],
    owner: Owner,
    owner_id: Any,
    conditions: Sequence[Condition],
    *,
    correlated: bool = False,
) -> Select[Any]:
    """`stmt` keeping the owners that meet every condition: each an indexed subquery of the
    owners that meet it (`owner IN (...)`), or with `correlated` a test of each row of `stmt`
    on the metadata table's primary key (`EXISTS (... owner = row)`)."""
    table = TABLES[owner]
    for condition in conditions:
        keyed = select(table.owner_id).where(table.key == condition.key)
        if correlated:
            keyed = keyed.where(table.owner_id == owner_id)
        if condition.op == Op.EXISTS and condition.value is False:
            stmt = stmt.where(~keyed.exists() if correlated else owner_id.not_in(keyed))
            continue
        having = keyed.where(condition_clause(table, condition))
        stmt = stmt.where(having.exists() if correlated else owner_id.in_(having))
    return stmt


FEW_MATCHES = 2_000


async def few_matches(
    session: AsyncSession, owner: Owner, conditions: Sequence[Condition]
) -> list[str] | None:
    """The owners that meet every condition when there are at most FEW_MATCHES of them (read
    from the index), else None.

    A list in creation order filtered by metadata is fastest one of two ways on SQLite: for a
    few matches, look them up and sort them (the index gives them at once); for many, walk the
    list in its order and test each row until a page is full (matches come soon). This probe,
    bounded, says which."""
    table = TABLES[owner]
    positive = [c for c in conditions if not (c.op == Op.EXISTS and c.value is False)]
    if not positive:
        return None
    first, rest = positive[0], [c for c in conditions if c is not positive[0]]
    stmt = select(table.owner_id).where(table.key == first.key, condition_clause(table, first))
    stmt = filtered(stmt, owner, table.owner_id, rest).limit(FEW_MATCHES + 1)
    found = list(await session.scalars(stmt))
    return found if len(found) <= FEW_MATCHES else None


@dataclass(frozen=True)
class SortedQuery:
    """`stmt` (rows of one owner kind) ordered by the value of `key`: only owners that have it,
    numbers first, then strings, then other values, each group by value, ties by owner id."""

    stmt: Select[Any]
    owner: Owner
    owner_id: InstrumentedAttribute[str]
    key: str
    descending: bool
    conditions: Sequence[Condition]

    def joined(self) -> tuple[Select[Any], Any]:
        """The statement joined to the key's rows (filters on the key applied to them, the
        other filters as subqueries), and the joined metadata alias."""
        sort = aliased(TABLES[self.owner])
        stmt = self.stmt.join(sort, and_(sort.owner_id == self.owner_id, sort.key == self.key))
        others = [c for c in self.conditions if c.key != self.key]
        for condition in self.conditions:
            if condition.key == self.key and not (
                condition.op == Op.EXISTS and condition.value is False
            ):
                stmt = stmt.where(condition_clause(sort, condition))
            elif condition.key == self.key:
                stmt = stmt.where(false())
        return filtered(stmt, self.owner, self.owner_id, others), sort


def _encode(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


def _decode(cursor: str, key: str) -> tuple[int, float, str, str]:
    """(group, number, text, owner id) of a cursor of a sort by `key` (one of another sort, or
    of another key, is refused)."""
    try:
        sort_key, group, number, text, owner_id = json.loads(
            base64.urlsafe_b64decode(cursor.encode())
        )
        if not (
            sort_key == key
            and isinstance(group, int)
            and isinstance(number, int | float)
            and isinstance(text, str)
            and isinstance(owner_id, str)
        ):
            raise ValueError
        return group, float(number), text, owner_id
    except (ValueError, binascii.Error, TypeError, json.JSONDecodeError) as exc:
        raise BadUserInput(
            f"invalid cursor {cursor!r}: pass a `cursor` or `endCursor` from an earlier page "
            f"of the same query (a sort by metadata {key!r} has cursors of its own)"
        ) from exc


async def paginate_sorted(
    session: AsyncSession, query: SortedQuery, request: PageRequest
) -> Page[Any]:
    """One page of a query sorted by a metadata key; each cursor holds the key and the row's
    sort columns (group, number, text, owner id), so the next page starts right after it."""
    stmt, sort = query.joined()
    keys = (sort.sort_group, sort.num_value, sort.text_value, sort.owner_id)
    if request.after is not None:
        group, number, text, owner_id = _decode(request.after, query.key)
        # The key leads (it is the same on both sides): the comparison then matches the
        # index's columns from the first, and SQLite reads it as a range of the index.
        row = tuple_(sort.key, *keys)
        bound = tuple_(
            literal(query.key), literal(group), literal(number), literal(text), literal(owner_id)
        )
        stmt = stmt.where(row < bound if query.descending else row > bound)
    order = [k.desc() if query.descending else k.asc() for k in keys]
    stmt = stmt.add_columns(*keys).order_by(*order).limit(request.first + 1)
    rows = list((await session.execute(stmt)).all())
    has_next = len(rows) > request.first
    rows = rows[: request.first]
    return Page(
        items=[row[0] for row in rows],
        cursors=[_encode([query.key, *row[1:]]) for row in rows],
        has_next=has_next,
        has_previous=request.after is not None,
    )


def sorted_count_stmt(query: SortedQuery) -> Select[Any]:
    """The rows a sorted query pages through (for `totalCount`)."""
    stmt, _ = query.joined()
    return stmt
