"""Per-notice rows as Polars frames with exactly the declared columns (see :mod:`pipelines.table_store`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from pipelines.parse.notice import ParsedNotice, Row
from schemas.tables import empty_frame, polars_schema

NOTICE_TABLES = ["notices", "sections", "tasks", "assignments", "targets", "glossary", "warnings"]


def frame(table: str, rows: Sequence[Row | dict[str, Any]]) -> pl.DataFrame:
    """Rows as a frame with exactly the table's declared columns and dtypes.

    Rows are the parser's tuples (values in the model's column order) or dicts keyed by column.
    """
    return pl.DataFrame(rows, schema=polars_schema(table), orient="row") if rows else empty_frame(table)


def records(parsed: ParsedNotice, table: str) -> list[dict[str, Any]]:
    """One table's rows of a parsed notice as dicts keyed by column (for reading, not for bulk work)."""
    names = list(polars_schema(table))
    return [dict(zip(names, row, strict=True)) for row in parsed.rows.get(table, [])]


def as_tuples(table: str, rows: list[Any]) -> list[Row]:
    """A notice's rows as tuples: a notice stored before rows were tuples holds dicts keyed by column."""
    if not rows or not isinstance(rows[0], dict):
        return rows
    names = list(polars_schema(table))
    return [tuple(row.get(c) for c in names) for row in rows]
