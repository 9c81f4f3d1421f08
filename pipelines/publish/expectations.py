"""Great Expectations suites per table: derived from the Pandera models, plus research checks.

The derived part reads the same declarations as the Frictionless schema (not
null, unique, allowed sets, ranges, patterns, column order). The research part
says what a schema cannot: a task whose text carries an assignment bracket has
at least one unit; a target's value is positive and its range is ordered.

GX takes pandas, not polars, so each table goes through ``.to_pandas()``.
Cross-table facts are added as helper columns (prefix ``check__``) to the frame
GX sees, because a GX batch is one table.

Given a :class:`~pipelines.publish.delta.ReleaseDelta`, the suites run on the
rows that are new or changed since the previous release only (that release
ran the same suites on the rest); the helper columns are still computed from
the full tables. What needs every row at once, uniqueness of keys and fields,
is checked on the full tables by the Pandera models before any of this runs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.parse.assignments import is_assignment, iter_brackets
from pipelines.publish.delta import ReleaseDelta
from pipelines.publish.gx_shortcuts import configurations_built_once, templates_compiled_once, unsaved_configuration
from schemas.tables import TABLES

# GX phones home and draws progress bars unless told not to.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

HELPER_PREFIX = "check__"
MAX_KEYS = 20
# A suite runs first with BASIC results (success, counts): COMPLETE also has GX
# work out every failing row's index, about a fifth more per expectation, and
# only a failed suite needs them. A failed suite is run again with COMPLETE.
FIRST_RESULT_FORMAT = {"result_format": "BASIC"}


@dataclass(frozen=True)
class GxFailure:
    """One failed expectation: which table, which rows (by primary key), why."""

    table: str
    expectation: str
    column: str | None
    n_rows: int
    keys: list[dict[str, Any]]
    reason: str

    def describe(self) -> str:
        keys = "; ".join(", ".join(f"{k}={v}" for k, v in key.items()) for key in self.keys[:5])
        more = f" (+{self.n_rows - 5} more)" if self.n_rows > 5 else ""
        return f"{self.table}: {self.reason} — {self.n_rows} row(s): {keys}{more}"


@dataclass(frozen=True)
class GxOutcome:
    """The suite result of one table."""

    table: str
    passed: bool
    n_expectations: int
    failures: list[GxFailure] = field(default_factory=list)
    rows: int = 0  # rows the suite validated (the delta rows in an incremental publish)


def _has_assignment_bracket(text: str | None) -> bool:
    return bool(text) and any(is_assignment(b.content) for b in iter_brackets(text))


def researcher_view(table: str, frames: dict[str, pl.DataFrame], rows: pl.DataFrame | None = None) -> pl.DataFrame:
    """The table as GX sees it: its columns plus helper columns for cross-table checks.

    ``rows``: only these rows of the table (the helper columns still count over all tables).
    """
    df = frames[table] if rows is None else rows
    if table == "tasks":
        per_task = frames["assignments"].group_by("task_id").agg(pl.len().alias(f"{HELPER_PREFIX}n_units"))
        df = (
            df.join(per_task, on="task_id", how="left")
            .with_columns(
                pl.col(f"{HELPER_PREFIX}n_units").fill_null(0).cast(pl.Int64),
                pl.col("text_simplified")
                .map_elements(_has_assignment_bracket, return_dtype=pl.Boolean)
                .fill_null(False)
                .alias(f"{HELPER_PREFIX}has_bracket"),
            )
            .select([*frames[table].columns, f"{HELPER_PREFIX}n_units", f"{HELPER_PREFIX}has_bracket"])
        )
    return df


def derived_expectations(table: str) -> list[Any]:
    """Expectations read from the Pandera model and the TABLES registry."""
    import great_expectations.expectations as gxe

    spec = TABLES[table]
    schema = spec.schema
    out: list[Any] = []
    for name, col in schema.columns.items():
        if not col.nullable:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=name))
        if col.unique:
            out.append(gxe.ExpectColumnValuesToBeUnique(column=name))
        for check in col.checks:
            stats = check.statistics or {}
            if "allowed_values" in stats:
                out.append(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=list(stats["allowed_values"])))
            elif "pattern" in stats:
                out.append(gxe.ExpectColumnValuesToMatchRegex(column=name, regex=str(stats["pattern"])))
            elif "min_value" in stats:
                strict = check.name == "greater_than"
                out.append(
                    gxe.ExpectColumnValuesToBeBetween(column=name, min_value=stats["min_value"], strict_min=strict)
                )
            elif "max_value" in stats:
                strict = check.name == "less_than"
                out.append(
                    gxe.ExpectColumnValuesToBeBetween(column=name, max_value=stats["max_value"], strict_max=strict)
                )
    # The primary key is unique as a whole even where no single column is.
    if len(spec.primary_key) > 1:
        out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(spec.primary_key)))
    return out


def researcher_expectations(table: str) -> list[Any]:
    """What a researcher relies on that the schema cannot say."""
    import great_expectations.expectations as gxe

    if table == "tasks":
        return [
            # A bracket like (省发展改革委牵头…) that yields no unit means the extraction missed it.
            gxe.ExpectColumnValuesToBeBetween(
                column=f"{HELPER_PREFIX}n_units",
                min_value=1,
                row_condition=f"{HELPER_PREFIX}has_bracket == True",
                condition_parser="pandas",
                meta={"why": "every task with an assignment bracket has at least one unit"},
            ),
        ]
    if table == "targets":
        return [
            gxe.ExpectColumnValuesToBeBetween(
                column="value", min_value=0, strict_min=True, meta={"why": "a target's value is positive"}
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="value_max",
                column_B="value",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta={"why": "a range's upper bound is not below its lower bound"},
            ),
        ]
    if table == "notices":
        return [
            gxe.ExpectColumnValuesToBeBetween(
                column="n_tasks", min_value=1, meta={"why": "a published notice has at least one task"}
            ),
        ]
    return []


def suite_expectations(table: str, columns: list[str]) -> list[Any]:
    """The whole suite of one table: shape, derived, then research expectations."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableColumnsToMatchOrderedList(column_list=columns),
        *derived_expectations(table),
        *researcher_expectations(table),
    ]


def _reason(config: Any) -> str:
    """A readable reason: the research note when there is one, else the expectation and its arguments."""
    why = (config.meta or {}).get("why")
    if why:
        return why
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "column") and v is not None}
    column = config.kwargs.get("column")
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{config.type}({column or ''}{', ' if column and args else ''}{args})"


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _failure(table: str, result: Any, key_cols: list[str]) -> GxFailure:
    config = result.expectation_config
    res = result.result or {}
    rows = res.get("unexpected_index_list") or []
    keys = [{k: _plain(row.get(k)) for k in key_cols if k in row} for row in rows[:MAX_KEYS] if isinstance(row, dict)]
    n_rows = int(res.get("unexpected_count") or len(rows) or 0)
    if config.type == "expect_table_columns_to_match_ordered_list":
        observed = res.get("observed_value")
        return GxFailure(table, config.type, None, 0, [], f"columns {observed} differ from the model")
    return GxFailure(table, config.type, config.kwargs.get("column"), n_rows, keys, _reason(config))


def _quiet_context(docs_dir: Path | None) -> Any:
    import great_expectations as gx

    context = unsaved_configuration(gx.get_context(mode="ephemeral"))
    context.variables.progress_bars = {"globally": False}
    if docs_dir is not None:
        context.add_data_docs_site(
            "release",
            {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return context


def validate_tables(
    frames: dict[str, pl.DataFrame],
    tables: list[str] | None = None,
    docs_dir: Path | None = None,
    run_name: str = "release",
    run_time: dt.datetime | None = None,
    delta: ReleaseDelta | None = None,
) -> dict[str, GxOutcome]:
    """Run each table's suite; with ``docs_dir``, render GX data docs there as static HTML.

    With ``delta``, each suite runs on the table's new or changed rows; a table
    without any is not run (its outcome passes with ``rows=0``).
    """
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    context = _quiet_context(docs_dir)
    source = context.data_sources.add_pandas("tables")
    run_time = run_time or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    outcomes: dict[str, GxOutcome] = {}
    for table in tables or list(TABLES):
        key_cols = list(TABLES[table].primary_key)
        rows = delta.tables[table].new_rows if delta is not None else None
        view = researcher_view(table, frames, rows)
        # Filled before it is added (a suite already in the context stores itself again on
        # every expectation), and whole: add_expectation compares each with all before it.
        suite = gx.ExpectationSuite(name=table, expectations=suite_expectations(table, view.columns))
        # Every suite goes into the context, so the data docs document all of them.
        suite = context.suites.add(suite)
        if rows is not None and rows.height == 0:
            outcomes[table] = GxOutcome(table, True, len(suite.expectations), [], 0)
            continue  # nothing new in this table: the previous release validated every row
        batch_def = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("all")
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=table, data=batch_def, suite=suite)
        )
        # Run directly, not through a Checkpoint: a checkpoint with no actions
        # only adds its own freshness checks (~0.3 s a build). The result is
        # stored all the same, so the data docs, built once below, show it.
        batch = {"dataframe": view.to_pandas()}
        run_id = RunIdentifier(run_name=run_name, run_time=run_time)
        with configurations_built_once():
            result = validation.run(batch_parameters=batch, result_format=FIRST_RESULT_FORMAT, run_id=run_id)
            if not result.success:  # which rows failed: stored over the first result, same run id
                complete = {"result_format": "COMPLETE", "unexpected_index_column_names": key_cols}
                result = validation.run(batch_parameters=batch, result_format=complete, run_id=run_id)
        failures = [_failure(table, r, key_cols) for r in result.results if not r.success]
        outcomes[table] = GxOutcome(table, result.success, len(suite.expectations), failures, view.height)
    if docs_dir is not None:
        # One render of every suite and validation result the run stored.
        with templates_compiled_once():
            context.build_data_docs(site_names=["release"])
        make_docs_reproducible(docs_dir, run_time)
    return outcomes


_STAMP = re.compile(r"\?d=\d{8}T\d{6}\.\d+Z")
_TIME = re.compile(r"\d{8}T\d{6}\.\d{6}Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _renumber_ids(text: str) -> str:
    ids: dict[str, str] = {}
    return _UUID.sub(lambda m: ids.setdefault(m.group(0), str(uuid.UUID(int=len(ids) + 1))), text)


def make_docs_reproducible(docs_dir: Path, run_time: dt.datetime | None = None) -> None:
    """Strip the wall-clock stamps and random element ids GX writes into its HTML.

    Validation times become the run time (which comes from the inputs); ids are
    renumbered per file in order of appearance, so links inside a page still match.
    """
    stamp = (run_time or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    for page in sorted(docs_dir.rglob("*.html")):
        text = _TIME.sub(stamp, _STAMP.sub("", page.read_text(encoding="utf-8")))
        text = _renumber_ids(text)
        page.write_text(text, encoding="utf-8")
