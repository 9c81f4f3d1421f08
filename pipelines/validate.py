"""Validation of the combined tables: Pandera models and foreign keys.

Pure functions over Polars frames; the Dagster asset checks report what these
return, so the same checks run in tests without Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from schemas.tables import TABLES

PREVIEW_ROWS = 20


@dataclass(frozen=True)
class CheckOutcome:
    """Result of one check: passed or not, how many rows failed, and a preview of them."""

    name: str
    passed: bool
    n_failures: int
    failures: pl.DataFrame
    description: str


def check_schema(table: str, df: pl.DataFrame) -> CheckOutcome:
    """Validate a table against its Pandera model (all failures, not the first)."""
    try:
        TABLES[table].model.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return CheckOutcome(
            f"{table}_schema", False, cases.height, cases.head(PREVIEW_ROWS), f"{table} violates its Pandera model"
        )
    except pa.errors.SchemaError as exc:  # structural errors (missing column) come alone
        return CheckOutcome(f"{table}_schema", False, 1, pl.DataFrame({"error": [str(exc)]}), f"{table}: {exc}")
    return CheckOutcome(f"{table}_schema", True, 0, pl.DataFrame(), f"{table} matches its Pandera model")


def check_foreign_keys(table: str, frames: dict[str, pl.DataFrame]) -> CheckOutcome:
    """Every non-null foreign key of ``table`` exists in the table it points to."""
    spec = TABLES[table]
    bad: list[pl.DataFrame] = []
    for fk in spec.foreign_keys:
        col, ref_col = fk.fields[0], fk.ref_fields[0]
        child = frames[table].filter(pl.col(col).is_not_null())
        known = frames[fk.ref_table].select(pl.col(ref_col).alias(col)).unique()
        missing = child.join(known, on=col, how="anti")
        if missing.height:
            bad.append(
                missing.select(
                    pl.lit(f"{col} → {fk.ref_table}.{ref_col}").alias("foreign_key"),
                    pl.col(col).cast(pl.String).alias("value"),
                )
            )
    failures = pl.concat(bad) if bad else pl.DataFrame()
    return CheckOutcome(
        f"{table}_foreign_keys",
        not bad,
        failures.height,
        failures.head(PREVIEW_ROWS),
        f"foreign keys of {table} {'resolve' if not bad else 'do not resolve'}: "
        + ", ".join(f"{fk.fields[0]}→{fk.ref_table}" for fk in spec.foreign_keys),
    )


def check_table(table: str, frames: dict[str, pl.DataFrame]) -> CheckOutcome:
    """One table's Pandera model and its foreign keys, as one outcome named ``<table>_schema``.

    One check per table, not two: in Dagster every check costs a few events,
    and the keys are part of a table's schema (as in its Frictionless schema).
    """
    schema = check_schema(table, frames[table])
    if not TABLES[table].foreign_keys:
        return schema
    keys = check_foreign_keys(table, frames)
    parts = [o for o in (schema, keys) if not o.passed]
    failures = (
        pl.concat(
            [o.failures.with_columns(pl.all().cast(pl.String)) for o in parts if o.failures.width], how="diagonal"
        )
        if parts
        else pl.DataFrame()
    )
    description = "; ".join(o.description for o in parts) or f"{table} matches its Pandera model; {keys.description}"
    return CheckOutcome(f"{table}_schema", not parts, sum(o.n_failures for o in parts), failures, description)


def check_all(frames: dict[str, pl.DataFrame]) -> list[CheckOutcome]:
    """The schema check (model and foreign keys) of every table."""
    return [check_table(name, frames) for name in TABLES]


def check_declared_counts(notices: pl.DataFrame) -> CheckOutcome:
    """Notices that declare their own size (43个方面82项重点工作) against the parsed count."""
    off = notices.filter(
        pl.col("declared_task_count").is_not_null() & (pl.col("declared_task_count") != pl.col("n_tasks"))
    )
    return CheckOutcome(
        "notices_declared_task_count",
        off.height == 0,
        off.height,
        off.select("notice_id", "title", "declared_task_count", "n_tasks").head(PREVIEW_ROWS),
        "parsed task count equals the count the notice declares",
    )
