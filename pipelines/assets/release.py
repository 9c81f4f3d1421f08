"""The release: all tables written as a validated Frictionless data package.

Before it, one blocking Great Expectations check per table (the suites of
:mod:`pipelines.publish.expectations`): a failure stops ``release`` in the same
run, so ``latest`` stays where it was. The check is the one place GX runs in a
build: it records its outcomes and data docs under the Dagster instance, and
``release`` publishes that record instead of validating a second time (it
runs the suites itself only when no record of the same content exists, e.g.
when ``release`` is materialised without its checks).
"""

from pathlib import Path

import dagster as dg
import polars as pl
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from pipelines.publish.expectations import GxOutcome
from pipelines.publish.release import record_expectations, write_release
from pipelines.resources import PipelinePaths
from schemas.tables import TABLES

SHOW = 20


def gx_check_name(table: str) -> str:
    return f"{table}_great_expectations"


def gx_records_dir(instance: dg.DagsterInstance) -> Path:
    """Where the check leaves its validation for ``release`` (shared by the steps of a run)."""
    return Path(instance.root_directory) / "gx-validated"


def _failures_md(outcome: GxOutcome) -> dg.MetadataValue:
    """Which rows failed which expectation, as a Markdown table for the UI."""
    if outcome.passed:
        return dg.MetadataValue.md("*(all expectations met)*")
    lines = ["| expectation | why | rows | first keys |", "|---|---|---:|---|"]
    for f in outcome.failures[:SHOW]:
        keys = "; ".join(", ".join(str(v) for v in k.values()) for k in f.keys[:5]).replace("|", "/")
        lines.append(f"| {f.expectation} | {f.reason.replace('|', '/')} | {f.n_rows} | {keys} |")
    return dg.MetadataValue.md("\n".join(lines))


def gx_check_result(outcome: GxOutcome) -> dg.AssetCheckResult:
    """One table's suite as an asset check result; the description names table, rows and reason."""
    summary = "; ".join(
        f"{f.reason} ({f.n_rows} rows, e.g. {', '.join(str(v) for v in f.keys[0].values()) if f.keys else '-'})"
        for f in outcome.failures[:5]
    )
    return dg.AssetCheckResult(
        asset_key=outcome.table,
        check_name=gx_check_name(outcome.table),
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{outcome.table}: " + (summary or f"{outcome.n_expectations} expectations met"),
        metadata={
            "expectations": outcome.n_expectations,
            "failed_expectations": len(outcome.failures),
            "failures": _failures_md(outcome),
        },
    )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            gx_check_name(name),
            asset=name,
            blocking=True,
            description=f"{name} meets its Great Expectations suite (derived from the model, plus research checks)",
        )
        for name in TABLES
    ],
    ins={name: dg.AssetIn(name) for name in TABLES},
)
def great_expectations_suites(context: AssetCheckExecutionContext, paths: PipelinePaths, **tables: pl.DataFrame):
    """Run every table's GX suite; cross-table expectations need all tables at once."""
    outcomes = record_expectations(dict(tables), gx_records_dir(context.instance), paths.published)
    for outcome in outcomes.values():
        if not outcome.passed:
            context.log.warning(f"GX failed on {outcome.table}: {[f.describe() for f in outcome.failures]}")
        yield gx_check_result(outcome)


def schema_checks_passed_in_run(context: AssetExecutionContext) -> bool:
    """Whether every table's blocking schema check passed in this very run.

    Then the tables ``release`` loads are the ones those checks saw, and it
    need not check them again. A release run on its own (tables materialised
    by an earlier run) checks them itself.
    """
    keys = [dg.AssetCheckKey(dg.AssetKey(name), f"{name}_schema") for name in TABLES]
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    return all(
        key in latest and latest[key].run_id == context.run.run_id and latest[key].status.value == "SUCCEEDED"
        for key in keys
    )


@dg.asset(
    ins={name: dg.AssetIn(name) for name in TABLES},
    group_name="release",
    kinds={"frictionless", "duckdb", "parquet"},
)
def release(context: AssetExecutionContext, paths: PipelinePaths, **tables: pl.DataFrame) -> dg.MaterializeResult:
    """Write ``published/<dataset>/<version>/`` atomically; ``latest`` moves only on success."""
    result = write_release(
        dict(tables),
        paths.published,
        gx_records=gx_records_dir(context.instance),
        tables_checked=schema_checks_passed_in_run(context),
    )
    context.log.info(
        f"release {'written' if result.new else 'unchanged'}: {result.path}"
        + (f" (GX {result.expectations}; Frictionless {result.frictionless})" if result.new else "")
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "version": result.version,
            "created": result.created,
            "new_release": result.new,
            "previous_version": result.previous or "",
            "great_expectations": result.expectations or "unchanged release",
            "frictionless_validation": result.frictionless or "unchanged release",
            "readme": dg.MetadataValue.path(str(result.path / "README.md")),
            "data_docs": dg.MetadataValue.path(str(result.path / "gx-docs" / "index.html")),
            **{f"rows_{name}": df.height for name, df in tables.items()},
        }
    )
