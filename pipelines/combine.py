"""Per-notice rows as Polars frames with exactly the declared columns (see :mod:`pipelines.table_store`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import polars as pl

from pipelines.parse.notice import COLUMNS
from schemas.tables import empty_frame, polars_schema

NOTICE_TABLES = ["notices", "sections", "tasks", "assignments", "targets", "glossary", "warnings"]


@cache
def _checked_schema(table: str) -> pl.Schema:
    """The table's schema, once the parser's row order is known to be its column order."""
    schema = polars_schema(table)
    if table in COLUMNS and COLUMNS[table] != tuple(schema):
        raise RuntimeError(
            f"the parser's {table} rows hold {COLUMNS[table]}, the model declares {tuple(schema)}: "
            "keep pipelines/parse/notice.py COLUMNS in the model's order"
        )
    return schema


def frame(table: str, rows: Sequence[tuple[Any, ...] | dict[str, Any]]) -> pl.DataFrame:
    """Rows as a frame with exactly the table's declared columns and dtypes.

    Rows are the parser's tuples (values in column order) or dicts keyed by column.
    """
    return pl.DataFrame(rows, schema=_checked_schema(table), orient="row") if rows else empty_frame(table)
