"""The published tables, combined from every parsed notice and checked.

One multi-asset loads the parsed notices once and emits the eight tables; its
blocking checks (Pandera models, foreign keys) stop the release when a table
is wrong, and say which rows failed.
"""

from collections.abc import Mapping

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from pipelines.assets.notices import ParsedOutcome
from pipelines.combine import NOTICE_TABLES, combine_table, combine_units, frame
from pipelines.validate import CheckOutcome, check_all, check_declared_counts
from schemas.tables import TABLES

PREVIEW = 10


def drop_duplicates(outcomes: Mapping[str, ParsedOutcome]) -> tuple[dict[str, ParsedOutcome], list[dict]]:
    """Keep one notice per content hash; the other copies become rejects.

    The same bytes under two file names would otherwise publish every task twice.
    The first key in sorted order wins, so the choice is stable across reruns.
    """
    kept: dict[str, ParsedOutcome] = {}
    first: dict[str, str] = {}
    rejects: list[dict] = []
    for key in sorted(outcomes):
        o = outcomes[key]
        digest = o.raw.raw_sha256
        if o.parsed is not None and digest in first:
            rejects.append(
                {
                    "file_name": o.raw.file_name,
                    "notice_id": o.raw.notice_id,
                    "raw_sha256": digest,
                    "stage": "combine",
                    "reason": f"duplicate of notice {first[digest]} (identical bytes, sha256 {digest[:12]}…)",
                }
            )
            continue
        if o.parsed is not None and digest:
            first[digest] = o.raw.notice_id
        kept[key] = o
    return kept, rejects


def table_frames(outcomes: Mapping[str, ParsedOutcome]) -> dict[str, pl.DataFrame]:
    """All tables from the per-notice outcomes (rejections and duplicates go to ``rejects``)."""
    unique, duplicates = drop_duplicates(outcomes)
    parsed = [o.parsed for o in unique.values() if o.parsed is not None]
    frames = {name: combine_table(name, parsed) for name in NOTICE_TABLES}
    frames["units"] = combine_units(parsed)
    rejects = [
        {
            "file_name": o.raw.file_name,
            "notice_id": o.raw.notice_id,
            "raw_sha256": o.raw.raw_sha256,
            "stage": o.rejection.stage,
            "reason": o.rejection.reason,
        }
        for o in unique.values()
        if o.rejection is not None
    ]
    frames["rejects"] = frame("rejects", sorted(rejects + duplicates, key=lambda r: r["notice_id"]))
    return frames


def _preview(df: pl.DataFrame) -> dg.MetadataValue:
    """A Markdown preview of a frame for the UI (long Chinese text shortened)."""
    if df.height == 0:
        return dg.MetadataValue.md("*(no rows)*")
    head = df.head(PREVIEW).with_columns(
        pl.col(c).cast(pl.String).str.slice(0, 40).str.replace_all(r"[\n|]", " ") for c in df.columns
    )
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in head.iter_rows()]
    return dg.MetadataValue.md("\n".join(lines))


def _check_result(
    outcome: CheckOutcome, asset: str, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=outcome.name,
        passed=outcome.passed,
        severity=severity,
        description=outcome.description,
        metadata={"failed_rows": outcome.n_failures, "failures": _preview(outcome.failures)},
    )


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(f"{name}_schema", asset=name, blocking=True, description=f"{name} matches its Pandera model")
        for name in TABLES
    ]
    specs += [
        dg.AssetCheckSpec(
            f"{name}_foreign_keys", asset=name, blocking=True, description=f"every foreign key of {name} resolves"
        )
        for name, spec in TABLES.items()
        if spec.foreign_keys
    ]
    # A self-check in the data, not a gate: a mismatch is a warning to look at.
    specs.append(
        dg.AssetCheckSpec(
            "notices_declared_task_count",
            asset="notices",
            blocking=False,
            description="parsed task count equals the count a notice declares (43个方面82项重点工作)",
        )
    )
    return specs


@dg.multi_asset(
    outs={
        name: dg.AssetOut(description=f"{spec.title_en} ({spec.title_zh}): {spec.description_en}", kinds={"polars"})
        for name, spec in TABLES.items()
    },
    ins={"parsed_notice": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
    check_specs=_check_specs(),
    group_name="tables",
    can_subset=False,
)
def notice_tables(context: AssetExecutionContext, parsed_notice: dict[str, ParsedOutcome]):
    """Combine every notice's rows into the published tables and check them."""
    outcomes = parsed_notice if isinstance(parsed_notice, Mapping) else {}
    frames = table_frames(outcomes)
    for row in frames["rejects"].filter(pl.col("stage") == "combine").iter_rows(named=True):
        context.log.warning(f"REJECTED {row['file_name']}: [combine] {row['reason']}")
    for name in TABLES:
        df = frames[name]
        yield dg.Output(df, output_name=name, metadata={"dagster/row_count": df.height, "preview": _preview(df)})
    for outcome in check_all(frames):
        asset = (
            outcome.name.rsplit("_schema", 1)[0]
            if outcome.name.endswith("_schema")
            else outcome.name.rsplit("_foreign_keys", 1)[0]
        )
        yield _check_result(outcome, asset)
    yield _check_result(check_declared_counts(frames["notices"]), "notices", dg.AssetCheckSeverity.WARN)
