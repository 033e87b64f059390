"""Run metadata in GraphQL: the typed values users log (`runMetadata` on versions, step runs and
pipeline runs), the conditions and the order that lists filter and sort by, and the listing
that pages a metadata sort by its own keyset cursors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast
from weakref import WeakKeyDictionary

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from api.errors import BadUserInput
from api.graphql.context import Info
from api.storage import metadata as metadata_store
from api.storage.pagination import Page, count, page_request

if TYPE_CHECKING:
    from api.graphql.loaders import Loaders
    from api.graphql.types import Connection

T = TypeVar("T")

strawberry.enum(
    metadata_store.MetadataType,
    description="The type a metadata value was logged with: JSON types, plus typed values "
    "URI, PATH, DTYPE (strings) and STORAGE_SIZE (bytes).",
)
strawberry.enum(metadata_store.Owner, name="MetadataOwner", description="What metadata is on.")
strawberry.enum(
    metadata_store.Op,
    name="MetadataOp",
    description="How a metadata filter compares: a number operand compares numbers, a string "
    "operand strings (by their first 256 characters), any other JSON operand other values by "
    "their JSON text. CONTAINS, STARTSWITH and ENDSWITH match strings (case-sensitive), IN "
    "any of a list, EXISTS that the key is present (value false: absent).",
)
MetadataType = metadata_store.MetadataType
MetadataOwner = metadata_store.Owner
MetadataOp = metadata_store.Op


@strawberry.type(description="A value logged under a key (apart from extracted metadata).")
class MetadataEntry:
    key: str
    value: JSON | None
    type: MetadataType
    logged_at: datetime | None = strawberry.field(
        description="When this value was logged (logging the key again replaces it)."
    )

    @classmethod
    def from_value(cls, item: metadata_store.MetadataValue) -> MetadataEntry:
        return cls(
            key=item.key, value=cast(JSON, item.value), type=item.type, logged_at=item.logged_at
        )


@strawberry.input(description="One value to log; `type` unset: inferred from the JSON value.")
class MetadataEntryInput:
    key: str
    value: JSON | None = None
    type: MetadataType | None = None


@strawberry.input(description="Keep the rows whose metadata `key` compares to `value` by `op`.")
class MetadataCondition:
    key: str
    op: MetadataOp = MetadataOp.EQ
    value: JSON | None = None

    def to_condition(self) -> metadata_store.Condition:
        return metadata_store.checked_condition(self.key, self.op, self.value)


@strawberry.input(
    description="Order by the value of a metadata key: only rows that have the key, numbers "
    "first, then strings, then other values, ties by id; `desc` reverses it all."
)
class MetadataOrder:
    metadata: str
    desc: bool = False


def logged_values(
    metadata: JSON | None, entries: Sequence[MetadataEntryInput] | None
) -> list[metadata_store.MetadataValue]:
    """The values of `metadata` (an object of plain JSON values) and of typed `entries`,
    checked together before anything is written."""
    if metadata is not None and not isinstance(metadata, dict):
        raise BadUserInput(
            f"`metadata` is a JSON object of keys and values, got {type(metadata).__name__}"
        )
    plain = cast(dict[str, Any], metadata or {})
    given: list[tuple[object, Any, Any]] = [(k, v, None) for k, v in plain.items()]
    given += [(e.key, e.value, e.type) for e in entries or ()]
    return metadata_store.checked_values(given)


# Per request (its Loaders): one loader of run metadata per owner kind.
_LOADERS: WeakKeyDictionary[
    Loaders, dict[metadata_store.Owner, DataLoader[str, list[metadata_store.MetadataValue]]]
] = WeakKeyDictionary()


def metadata_loader(
    info: Info, owner: metadata_store.Owner
) -> DataLoader[str, list[metadata_store.MetadataValue]]:
    loaders = _LOADERS.setdefault(info.context.loaders, {})
    loader = loaders.get(owner)
    if loader is None:
        db = info.context.db

        async def fetch(keys: list[str]) -> list[list[metadata_store.MetadataValue]]:
            async with db.read() as session:
                found = await metadata_store.read(session, owner, keys)
            return [found.get(key, []) for key in keys]

        loader = loaders[owner] = DataLoader(load_fn=fetch)
    return loader


def resolve_run_metadata(
    info: Info, owner: metadata_store.Owner, owner_id: str
) -> list[MetadataEntry]:
    """The logged values of one owner, by key (typed as the list, awaited by graphql-core)."""
    future = metadata_loader(info, owner).load(owner_id)

    async def later() -> list[MetadataEntry]:
        return [MetadataEntry.from_value(item) for item in await future]

    return cast(list[MetadataEntry], later())


async def _filtered_for_listing(
    info: Info,
    stmt: Any,
    owner: metadata_store.Owner,
    owner_id: Any,
    checked: Sequence[metadata_store.Condition],
) -> Any:
    """A list in its usual order filtered by metadata: on PostgreSQL with subqueries (its
    planner chooses well); on SQLite the few matching ids when there are few, else a test of
    each row in list order (see `metadata_store.few_matches`)."""
    if info.context.db.dialect != "sqlite":
        return metadata_store.filtered(stmt, owner, owner_id, checked)
    async with info.context.db.read() as session:
        few = await metadata_store.few_matches(session, owner, checked)
    if few is None:
        return metadata_store.filtered(stmt, owner, owner_id, checked, correlated=True)
    return stmt.where(owner_id.in_(few))


async def listing(
    info: Info,
    stmt: Any,
    keys: Sequence[Any],
    convert: Callable[[Any], T],
    first: int | None,
    after: str | None,
    *,
    owner: metadata_store.Owner,
    owner_id: Any,
    conditions: Sequence[MetadataCondition] | None,
    order: MetadataOrder | None,
    descending: bool = False,
) -> Connection[T]:
    """A connection of `stmt` filtered by metadata `conditions`; ordered by `keys` as usual,
    or by the metadata key of `order` (then its cursors hold that key's value)."""
    from api.graphql.types import connection, connection_of

    if conditions is not None and len(conditions) > metadata_store.MAX_CONDITIONS:
        raise BadUserInput(
            f"{len(conditions)} metadata conditions; the limit is {metadata_store.MAX_CONDITIONS}"
        )
    checked = [c.to_condition() for c in conditions or ()]
    if order is None:
        if checked:
            stmt = await _filtered_for_listing(info, stmt, owner, owner_id, checked)
        return await connection(info, stmt, keys, convert, first, after, descending=descending)
    key = metadata_store.check_key(order.metadata)
    query = metadata_store.SortedQuery(stmt, owner, owner_id, key, order.desc, checked)
    settings = info.context.settings
    request = page_request(
        first, after, default=settings.default_page_size, maximum=settings.max_page_size
    )
    db = info.context.db
    async with db.read() as session:
        page: Page[Any] = await metadata_store.paginate_sorted(session, query, request)

    async def count_rows() -> int:
        async with db.read() as session:
            return await count(session, metadata_store.sorted_count_stmt(query))

    return connection_of(page, convert, count_rows)
