"""Watch raw/: new, changed and removed notice files drive the per-notice partitions."""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster import SensorEvaluationContext

from pipelines.assets.partitions import notice_partitions
from pipelines.ingest.read import list_notice_files, sha256_bytes
from pipelines.resources import PipelinePaths

# A file modified more recently than this may still be being written.
SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class RawChanges:
    added: list[str]
    changed: list[str]
    removed: list[str]
    unsettled: list[str]
    state: dict[str, str]  # key → sha256 of what was seen and settled


def scan_raw(raw_dir: Path, previous: dict[str, str], now: float | None = None) -> RawChanges:
    """Compare raw/ with the last seen state (pure apart from reading the files).

    Files still being written (modified within ``SETTLE_SECONDS``) are left for
    the next tick, so no partition is built from half a file.
    """
    now = time.time() if now is None else now
    files = list_notice_files(raw_dir)
    state: dict[str, str] = {}
    added, changed, unsettled = [], [], []
    for key, path in files.items():
        if now - path.stat().st_mtime < SETTLE_SECONDS:
            unsettled.append(key)
            if key in previous:
                state[key] = previous[key]
            continue
        digest = sha256_bytes(path.read_bytes())
        state[key] = digest
        if key not in previous:
            added.append(key)
        elif previous[key] != digest:
            changed.append(key)
    removed = [key for key in previous if key not in files]
    return RawChanges(added, changed, removed, unsettled, state)


@dg.sensor(
    name="raw_notices_sensor",
    asset_selection=["raw_notice", "cleaned_notice", "parsed_notice"],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def raw_notices_sensor(context: SensorEvaluationContext, paths: PipelinePaths) -> dg.SensorResult:
    """Add a partition and request a run per new or changed notice; drop removed ones."""
    previous = json.loads(context.cursor) if context.cursor else {}
    changes = scan_raw(paths.raw, previous)
    requests = [
        dg.RunRequest(partition_key=key, run_key=f"{key}:{changes.state[key]}", tags={"policy_tasks/reason": reason})
        for reason, keys in (("new notice", changes.added), ("notice changed", changes.changed))
        for key in keys
    ]
    dynamic = []
    if changes.added:
        dynamic.append(notice_partitions.build_add_request(changes.added))
    if changes.removed:
        dynamic.append(notice_partitions.build_delete_request(changes.removed))
    return dg.SensorResult(
        run_requests=requests, dynamic_partitions_requests=dynamic, cursor=json.dumps(changes.state, sort_keys=True)
    )
