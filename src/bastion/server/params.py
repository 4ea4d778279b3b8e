"""Path and query parameters the routes share: row ids and offsets within what the database
holds, so an id no row can have is refused as invalid (422) before any query is built, never
passed to the driver (a 64-bit overflow in SQLite, an out-of-range int4 in PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

__all__ = ["MAX_OFFSET", "MAX_ROW_ID", "Cursor", "EventSeq", "Offset", "RowId"]

MAX_ROW_ID = 2**31 - 1  # the ids are INTEGER columns: int4 on PostgreSQL
MAX_OFFSET = 2**53  # past any table or file this server holds; exact in every JSON reader

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
EventSeq = Annotated[int, Path(ge=0, le=MAX_OFFSET)]  # the audit log counts from 0 (BIGINT)
Cursor = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
