"""The one Definitions object: assets, checks, jobs, sensor and resources."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.assets import notices, release, tables
from pipelines.resources import PipelinePaths
from pipelines.sensors import raw_notices_sensor
from pipelines.storage import NoticeStorage

notice_job = dg.define_asset_job(
    "notice_job",
    selection=dg.AssetSelection.groups("notices"),
    description="Decode, clean and parse notices (one partition each; single-run backfills).",
)
publish_job = dg.define_asset_job(
    "publish_job",
    selection=dg.AssetSelection.groups("tables", "release"),
    description="Combine all parsed notices into the tables, check them, publish a release.",
)


def build_definitions(
    raw_dir: str | None = None, published_dir: str | None = None, storage_dir: str | None = None
) -> dg.Definitions:
    """Definitions bound to the given folders (defaults: env vars, then raw/ and published/)."""
    paths = PipelinePaths(
        raw_dir=raw_dir or os.environ.get("POLICY_TASKS_RAW", "raw"),
        published_dir=published_dir or os.environ.get("POLICY_TASKS_PUBLISHED", "published"),
    )
    storage = storage_dir or os.environ.get("POLICY_TASKS_STORAGE", ".policy_tasks_state/storage")
    resources: dict[str, object] = {"paths": paths, "io_manager": NoticeStorage(base_dir=storage)}
    return dg.Definitions(
        assets=dg.load_assets_from_modules([notices, tables, release]),
        asset_checks=dg.load_asset_checks_from_modules([notices, tables, release]),
        jobs=[notice_job, publish_job],
        sensors=[raw_notices_sensor],
        resources=resources,
    )


defs = build_definitions()
