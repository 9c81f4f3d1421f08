"""Per-notice rows as Polars frames with exactly the declared columns (see :mod:`pipelines.table_store`)."""

from __future__ import annotations

import polars as pl

from pipelines.parse.notice import Row
from schemas.tables import empty_frame, polars_schema

NOTICE_TABLES = ["notices", "sections", "tasks", "assignments", "targets", "glossary", "warnings"]


def frame(table: str, rows: list[Row]) -> pl.DataFrame:
    """Rows as a frame with exactly the table's declared columns and dtypes."""
    return pl.DataFrame(rows, schema=polars_schema(table), orient="row") if rows else empty_frame(table)
