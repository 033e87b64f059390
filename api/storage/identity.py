"""The identity of the store a database describes: a UUID kept in `store_info`, which the SDK
also writes at the artifact store's root. Prune compares the two before deleting anything."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.storage.base import dialect_insert, new_id
from api.storage.models import StoreInfo

STORE_ID = "store_id"


async def read_store_id(session: AsyncSession) -> str | None:
    value = await session.scalar(select(StoreInfo.value).where(StoreInfo.key == STORE_ID))
    return None if value is None else str(value)


async def create_store_id(session: AsyncSession) -> str:
    """The store's id, created on first use (safe when several processes race)."""
    await session.execute(
        dialect_insert(session, StoreInfo)
        .values(key=STORE_ID, value=new_id())
        .on_conflict_do_nothing(index_elements=["key"])
    )
    found = await read_store_id(session)
    assert found is not None
    return found
