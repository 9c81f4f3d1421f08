"""The one Definitions object: assets, checks, jobs, sensors, schedule, automation and resources."""

from __future__ import annotations

import os
import warnings

import dagster as dg

from pipelines.assets import notices, release, tables
from pipelines.automation import (
    TABLES,
    notice_job,
    publish_job,
    tables_automation_sensor,
    tables_job,
    with_table_automation,
)
from pipelines.resources import PipelinePaths
from pipelines.schedules import daily_release
from pipelines.sensors import raw_notices_sensor, release_changelog_sensor
from pipelines.storage import NoticeStorage, TableIOManager

__all__ = ["build_definitions", "defs", "notice_job", "publish_job"]


def build_definitions(
    raw_dir: str | None = None, published_dir: str | None = None, storage_dir: str | None = None
) -> dg.Definitions:
    """Definitions bound to the given folders (defaults: env vars, then raw/ and published/)."""
    storage = storage_dir or os.environ.get("POLICY_TASKS_STORAGE", ".policy_tasks_state/storage")
    paths = PipelinePaths(
        raw_dir=raw_dir or os.environ.get("POLICY_TASKS_RAW", "raw"),
        published_dir=published_dir or os.environ.get("POLICY_TASKS_PUBLISHED", "published"),
        state_dir=storage,
    )
    resources: dict[str, object] = {
        "paths": paths,
        "io_manager": NoticeStorage(base_dir=storage),
        "table_io_manager": TableIOManager(base_dir=os.path.join(storage, "tables")),
    }
    defs = dg.Definitions(
        assets=dg.load_assets_from_modules([notices, tables, release]),
        asset_checks=dg.load_asset_checks_from_modules([notices, tables, release]),
        jobs=[notice_job, publish_job, tables_job],
        sensors=[raw_notices_sensor, release_changelog_sensor, tables_automation_sensor],
        schedules=[daily_release],
        resources=resources,
    )
    # The tables follow their upstream partitions (declarative automation).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(func=with_table_automation, selection=TABLES)


defs = build_definitions()
