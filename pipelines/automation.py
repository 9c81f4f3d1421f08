"""Jobs and declarative automation: how the graph keeps itself up to date.

- Per-notice assets are driven by ``raw_notices_sensor`` (new/changed files).
  A removed file updates no partition, so that sensor also runs ``tables_job``.
- The tables follow their upstream: ``notice_tables`` is requested when any
  ``parsed_notice`` partition was updated, once no partition is missing or in
  progress, and only when every upstream blocking check passed.
- The release is published by the daily schedule (``daily_release``) when
  what would be published differs from the latest release; its blocking
  checks on the tables stop the release in the same run.
"""

import dagster as dg

# Runs that write the tables handed between steps (one set of files per state
# folder) carry this tag; the run queue starts one of them at a time
# (``run_queue`` in the build's dagster.yaml), so a release never reads tables
# another run rewrote after its checks.
TABLES_RUN_TAG = {"policy_tasks/tables": "write"}

notice_job = dg.define_asset_job(
    "notice_job",
    selection=dg.AssetSelection.groups("notices"),
    description="Decode, clean and parse notices (one partition each; single-run backfills).",
)
publish_job = dg.define_asset_job(
    "publish_job",
    selection=dg.AssetSelection.groups("tables", "release"),
    description="Combine all parsed notices into the tables, check them, publish a release.",
    tags=TABLES_RUN_TAG,
)

TABLES = dg.AssetSelection.groups("tables")
tables_job = dg.define_asset_job(
    "tables_job",
    selection=TABLES,
    description="Combine all parsed notices into the tables and check them (after a notice was removed).",
    tags=TABLES_RUN_TAG,
)

# eager: any upstream partition updated, none missing or in progress, not already running.
TABLES_CONDITION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager_on_checked_upstream")


def with_table_automation(spec: dg.AssetSpec) -> dg.AssetSpec:
    return spec.replace_attributes(automation_condition=TABLES_CONDITION)


tables_automation_sensor = dg.AutomationConditionSensorDefinition(
    "tables_automation_sensor",
    target=TABLES,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Rebuild the tables when parsed notices change (declarative automation).",
    run_tags=TABLES_RUN_TAG,
)
