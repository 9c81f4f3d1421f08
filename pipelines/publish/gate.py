"""The blocking checks a release must pass, as one list of failures a person can act on.

Each failure names the table, the check, the rows (by primary key) and why.
The Pandera and foreign-key checks are those of :mod:`pipelines.validate`; the
GX suites those of :mod:`pipelines.publish.expectations`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandera.polars as pa
import polars as pl

from pipelines.publish.expectations import GxOutcome
from pipelines.validate import check_foreign_keys
from schemas.tables import TABLES

SHOW_ROWS = 5


@dataclass(frozen=True)
class BlockingFailure:
    """One reason not to publish."""

    table: str
    check: str
    reason: str
    n_rows: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        shown = "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in self.rows[:SHOW_ROWS])
        more = f" (+{self.n_rows - SHOW_ROWS} more)" if self.n_rows > SHOW_ROWS else ""
        where = f" — {self.n_rows} row(s): {shown}{more}" if self.n_rows else ""
        return f"{self.table} [{self.check}]: {self.reason}{where}"


def _keys_at(df: pl.DataFrame, table: str, indices: list[int]) -> list[dict[str, Any]]:
    key = [c for c in TABLES[table].primary_key if c in df.columns]
    rows = df.with_row_index("__row").filter(pl.col("__row").is_in(indices))
    return rows.select(key).to_dicts() if key else rows.select("__row").to_dicts()


def pandera_failures(table: str, df: pl.DataFrame) -> list[BlockingFailure]:
    """The table against its Pandera model, one failure per (column, check), with every failing row."""
    try:
        TABLES[table].model.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    except pa.errors.SchemaError as exc:  # structural errors (a missing column) come alone
        return [BlockingFailure(table, "pandera", str(exc))]
    else:
        return []
    out = []
    for (column, check), group in cases.group_by(["column", "check"], maintain_order=True):
        indices = [int(i) for i in group.get_column("index").drop_nulls().to_list()] if "index" in group.columns else []
        examples = ", ".join(
            str(v) for v in group.get_column("failure_case").unique(maintain_order=True).head(3).to_list()
        )
        reason = f"{column or 'table'} fails {check} (e.g. {examples})"
        out.append(
            BlockingFailure(table, "pandera", reason, len(indices) or group.height, _keys_at(df, table, indices))
        )
    return out


def foreign_key_failures(table: str, frames: dict[str, pl.DataFrame]) -> list[BlockingFailure]:
    """Foreign keys of ``table`` that point at nothing, with the rows that hold them."""
    if not TABLES[table].foreign_keys or not check_foreign_keys(table, frames).n_failures:
        return []
    out = []
    df = frames[table]
    for fk in TABLES[table].foreign_keys:
        col, ref_col = fk.fields[0], fk.ref_fields[0]
        known = frames[fk.ref_table].get_column(ref_col).unique()
        bad = df.with_row_index("__row").filter(pl.col(col).is_not_null() & ~pl.col(col).is_in(known.implode()))
        if bad.height:
            values = ", ".join(str(v) for v in bad.get_column(col).unique(maintain_order=True).head(3).to_list())
            reason = f"{col} → {fk.ref_table}.{ref_col} not found (e.g. {values})"
            rows = _keys_at(df, table, bad.get_column("__row").to_list())
            out.append(BlockingFailure(table, "foreign_key", reason, bad.height, rows))
    return out


def gx_failures(outcomes: dict[str, GxOutcome]) -> list[BlockingFailure]:
    """Failed GX expectations as blocking failures."""
    return [
        BlockingFailure(f.table, "great_expectations", f.reason, f.n_rows, f.keys)
        for outcome in outcomes.values()
        for f in outcome.failures
    ]


def table_failures(frames: dict[str, pl.DataFrame]) -> list[BlockingFailure]:
    """Pandera and foreign keys for every table (cheap: run before anything is written)."""
    out: list[BlockingFailure] = []
    for name in TABLES:
        if name not in frames:
            out.append(BlockingFailure(name, "missing", "the table was not given to the release"))
            continue
        out += pandera_failures(name, frames[name])
    if out:  # keys are meaningless in tables that do not match their model
        return out
    for name in TABLES:
        out += foreign_key_failures(name, frames)
    return out
