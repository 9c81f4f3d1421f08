"""The release: all tables written as a validated Frictionless data package."""

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from pipelines.publish.release import write_release
from pipelines.resources import PipelinePaths
from schemas.tables import TABLES


@dg.asset(
    ins={name: dg.AssetIn(name) for name in TABLES},
    group_name="release",
    kinds={"frictionless"},
)
def release(context: AssetExecutionContext, paths: PipelinePaths, **tables: pl.DataFrame) -> dg.MaterializeResult:
    """Write ``published/<dataset>/<version>/`` atomically; ``latest`` moves only on success."""
    result = write_release(dict(tables), paths.published)
    context.log.info(f"release {'written' if result.new else 'unchanged'}: {result.path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "version": result.version,
            "created": result.created,
            "new_release": result.new,
            **{f"rows_{name}": df.height for name, df in tables.items()},
        }
    )
