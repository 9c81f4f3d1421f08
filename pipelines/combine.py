"""Combine per-notice rows into the published tables (Polars frames)."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from pipelines.parse.notice import ParsedNotice, Row
from schemas.tables import empty_frame, polars_schema

NOTICE_TABLES = ["notices", "sections", "tasks", "assignments", "targets", "glossary", "warnings"]


def frame(table: str, rows: list[Row]) -> pl.DataFrame:
    """Rows as a frame with exactly the table's declared columns and dtypes."""
    return pl.DataFrame(rows, schema=polars_schema(table), orient="row") if rows else empty_frame(table)


def combine_table(table: str, parsed: Iterable[ParsedNotice]) -> pl.DataFrame:
    """One table from all parsed notices, in a stable order (notice id, then position)."""
    ordered = sorted(parsed, key=lambda p: p.notice_id)
    return frame(table, [row for p in ordered for row in p.rows[table]])


def combine_units(parsed: Iterable[ParsedNotice]) -> pl.DataFrame:
    """The unit registry: one row per unit id, aliases merged across notices."""
    merged: dict[str, Row] = {}
    for p in sorted(parsed, key=lambda p: p.notice_id):
        for row in p.rows["units"]:
            entry = merged.setdefault(row["unit_id"], {**row, "aliases": set()})
            entry["aliases"].update(row["aliases"].split("|"))
    rows = [{**r, "aliases": "|".join(sorted(r["aliases"]))} for r in merged.values()]
    return frame("units", sorted(rows, key=lambda r: r["unit_id"]))
