"""A pass's watermark: the oldest transaction that may still write customer rows holds it back;
a declared reader does not (it cannot write, PostgreSQL refuses), so a long training frame read
does not move the mark back over rows the run wrote meanwhile."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.engine.watermarks import READER, declare_reader, watermark_instant


async def _instant(sm: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    async with sm() as s:
        return await watermark_instant(s), await s.scalar(text("SELECT now()"))


async def test_an_open_writer_holds_the_mark_back_to_its_start(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm() as writer:
        started = await writer.scalar(text("SELECT now()"))
        await asyncio.sleep(0.05)
        instant, now = await _instant(sm)
        assert instant == started < now
        await writer.rollback()


async def test_a_declared_reader_does_not_hold_the_mark_back(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm() as reader:
        await declare_reader(reader)
        started = await reader.scalar(text("SELECT now()"))
        await asyncio.sleep(0.05)
        instant, now = await _instant(sm)
        assert started < instant == now
        await reader.rollback()


async def test_a_declared_reader_cannot_write(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm() as reader:
        await declare_reader(reader)
        with pytest.raises(DBAPIError, match="read-only transaction"):
            await reader.execute(text("UPDATE customers SET updated_at = now() WHERE id = -1"))


async def test_the_declaration_ends_with_its_transaction(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm() as s:
        before = await s.scalar(text("SHOW application_name"))
        await s.rollback()
        await declare_reader(s)
        assert await s.scalar(text("SHOW application_name")) == READER
        await s.rollback()
        assert await s.scalar(text("SHOW application_name")) == before != READER
        assert await s.scalar(text("SHOW transaction_read_only")) == "off"
