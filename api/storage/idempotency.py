"""Idempotent creation: a mutation that creates something may carry a key its client chose
before sending it. The first request with a key records what it created under the key, in the
same transaction; a repeat (a retry after a lost answer) gets that back instead of a second
row. A key names one operation: reusing it for another is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import BadUserInput, Conflict
from api.storage.base import utcnow
from api.storage.models import ArtifactVersion, IdempotencyKey, PipelineRun, StepRun

MAX_KEY = 128
Created = TypeVar("Created", PipelineRun, StepRun, ArtifactVersion)
KEEP_KEYS = timedelta(days=7)  # how long a retry with the same key is recognised


def check_key(key: str | None) -> str | None:
    if key is not None and not (0 < len(key) <= MAX_KEY and key.isprintable()):
        raise BadUserInput(
            f"clientKey must be 1 to {MAX_KEY} printable characters (got {len(key)}); a UUID "
            "chosen before the first attempt is a good key"
        )
    return key


async def replay(
    session: AsyncSession, key: str | None, operation: str, model: type[Created]
) -> Created | None:
    """What an earlier request with `key` created (a `model` row), or None when it is new."""
    if check_key(key) is None:
        return None
    found = await session.get(IdempotencyKey, key)
    if found is None:
        return None
    if found.operation != operation:
        raise Conflict(
            f"clientKey {key!r} was already used for {found.operation}, not {operation}; "
            "choose a new key for each request",
            reason="IDEMPOTENCY_KEY_REUSED",
        )
    created = await session.get(model, found.result_id)
    if created is None:
        raise Conflict(
            f"the {model.__name__} this clientKey created ({found.result_id}) was deleted "
            "since; send the request again with a new key",
            reason="IDEMPOTENCY_KEY_REUSED",
        )
    return created


async def remember(session: AsyncSession, key: str | None, operation: str, result_id: str) -> None:
    """Record `key` for what this request created (in the request's transaction)."""
    if key is None:
        return
    session.add(
        IdempotencyKey(key=key, operation=operation, result_id=result_id, created_at=utcnow())
    )
    try:
        await session.flush()
    except IntegrityError as exc:  # the same key, in a request still being processed
        raise Conflict(
            f"a request with clientKey {key!r} is being processed right now; retry it shortly",
            reason="IDEMPOTENCY_KEY_IN_PROGRESS",
        ) from exc


async def purge(session: AsyncSession, older_than: timedelta = KEEP_KEYS) -> None:
    """Forget keys older than `older_than` (one indexed delete; run once per pipeline run)."""
    await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - older_than)
    )
