"""Keyset pagination in SQL: a cursor holds the sort key of the last row seen."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.errors import BadUserInput, LimitExceeded

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: str | None


def page_request(
    first: int | None, after: str | None, *, default: int, maximum: int
) -> PageRequest:
    """Validate `first` against the configured bounds."""
    if first is None:
        first = default
    if first < 0:
        raise BadUserInput(f"`first` must be zero or more, got {first}")
    if first > maximum:
        raise LimitExceeded(
            f"page size limit exceeded: `first` is {first}, the maximum is {maximum}; "
            "page with `after: pageInfo.endCursor`",
            limit="maxPageSize",
            maximum=maximum,
        )
    return PageRequest(first=first, after=after)


def _encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode()


def _decode(cursor: str, keys: Sequence[InstrumentedAttribute[Any]]) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        out: list[Any] = []
        for key, value in zip(keys, values, strict=True):
            python_type = key.type.python_type
            out.append(datetime.fromisoformat(value) if python_type is datetime else value)
        return out
    except (ValueError, binascii.Error, TypeError, json.JSONDecodeError) as exc:
        raise BadUserInput(
            f"invalid cursor {cursor!r}: pass a `cursor` or `endCursor` from an earlier page"
        ) from exc


async def paginate(
    session: AsyncSession,
    stmt: Select[T],
    keys: Sequence[InstrumentedAttribute[Any]],
    request: PageRequest,
    *,
    descending: bool = False,
) -> Page[T]:
    """One page of `stmt` ordered by `keys` (unique together), after `request.after`."""
    if request.after is not None:
        after = _decode(request.after, keys)
        row = tuple_(*keys)
        bound = tuple_(*[literal(v, k.type) for k, v in zip(keys, after, strict=True)])
        stmt = stmt.where(row < bound if descending else row > bound)
    order = [k.desc() if descending else k.asc() for k in keys]
    rows = list((await session.scalars(stmt.order_by(*order).limit(request.first + 1))).all())
    has_next = len(rows) > request.first
    rows = rows[: request.first]
    cursors = [_encode([getattr(row, k.key) for k in keys]) for row in rows]
    return Page(
        items=rows, cursors=cursors, has_next=has_next, has_previous=request.after is not None
    )


async def count(session: AsyncSession, stmt: Select[Any]) -> int:
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return int(total or 0)
