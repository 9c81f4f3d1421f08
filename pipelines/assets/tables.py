"""The published tables, combined from every parsed notice and checked.

One multi-asset loads the parsed notices once and emits the eight tables; its
blocking checks (Pandera models, foreign keys) stop the release when a table
is wrong, and say which rows failed.
"""

from collections.abc import Mapping

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from pipelines.publish.release import prepare_release
from pipelines.resources import PipelinePaths
from pipelines.storage import PartitionFiles
from pipelines.table_store import TableStore
from pipelines.validate import CheckOutcome, check_all, check_declared_counts
from schemas.tables import TABLES

PREVIEW = 10


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
        dg.AssetCheckSpec(
            f"{name}_schema",
            asset=name,
            blocking=True,
            description=f"{name} matches its Pandera model"
            + (" and every foreign key resolves" if spec.foreign_keys else ""),
        )
        for name, spec in TABLES.items()
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
        name: dg.AssetOut(
            description=f"{spec.title_en} ({spec.title_zh}): {spec.description_en}",
            kinds={"polars"},
            io_manager_key="table_io_manager",
        )
        for name, spec in TABLES.items()
    },
    # A partition added but not parsed yet (its run is queued) is left out with
    # a warning, so a publish meanwhile is not blocked by it.
    ins={
        "parsed_notice": dg.AssetIn(
            partition_mapping=dg.AllPartitionMapping(), metadata={"allow_missing_partitions": True}
        )
    },
    check_specs=_check_specs(),
    group_name="tables",
    can_subset=False,
)
def notice_tables(context: AssetExecutionContext, paths: PipelinePaths, parsed_notice: object):
    """Combine every notice's rows into the published tables and check them.

    The combined rows persist between runs (:mod:`pipelines.table_store`):
    only notices whose parsed output was written since are read again.
    """
    if isinstance(parsed_notice, Mapping):
        outcomes = parsed_notice
    else:  # a single partition arrives as its value
        keys = context.asset_partition_keys_for_input("parsed_notice")
        outcomes = {keys[0]: parsed_notice} if keys and parsed_notice is not None else {}
    stamps = parsed_notice.stamps() if isinstance(parsed_notice, PartitionFiles) else None
    unparsed = len(context.asset_partition_keys_for_input("parsed_notice")) - len(outcomes)
    frames, update = TableStore(paths.table_store).update(outcomes, stamps)
    # The GX check step encodes these very tables next: start that now, beside the writes and checks below.
    prepare_release(frames, paths.published)
    context.log.info(
        f"combined {len(outcomes)} notice(s): {update.read} read, {update.kept} kept from the store, "
        f"{update.removed} removed"
        + (f" (store rebuilt: {update.rebuilt})" if update.rebuilt else "")
        + (f"; {unparsed} not parsed yet, left out" if unparsed else "")
    )
    for row in frames["rejects"].filter(pl.col("stage") == "combine").iter_rows(named=True):
        context.log.warning(f"REJECTED {row['file_name']}: [combine] {row['reason']}")
    for name in TABLES:
        df = frames[name]
        meta: dict[str, object] = {"dagster/row_count": df.height, "preview": _preview(df)}
        if name == "notices":
            meta |= {
                "notices_read": update.read,
                "notices_from_store": update.kept,
                "notices_removed": update.removed,
                "notices_not_parsed_yet": unparsed,
            }
        yield dg.Output(df, output_name=name, metadata=meta)
    for outcome in check_all(frames):
        yield _check_result(outcome, outcome.name.rsplit("_schema", 1)[0])
    yield _check_result(check_declared_counts(frames["notices"]), "notices", dg.AssetCheckSeverity.WARN)
