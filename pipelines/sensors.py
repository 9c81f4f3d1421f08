"""Watch raw/: new, changed and removed notice files drive the per-notice partitions.

``raw_notices_sensor`` compares raw/ with the instance (its dynamic partitions
and the ``raw_sha256`` recorded by each partition's last ``raw_notice``
materialisation), so its decisions hold across restarts, CLI builds and
reruns from the UI:

- a new settled file adds its partition and is parsed;
- a file whose bytes changed is parsed again;
- a removed file removes its partition (the next release drops its rows and
  its changelog entry names it);
- a file modified within ``SETTLE_SECONDS`` is left for a later tick.

Partitions to parse are grouped into contiguous ranges, one run per range
(single-run backfill), not one process per notice. File hashes are cached
by stamp (size, inode, modification and change time; see
:func:`pipelines.refresh.scan_files`) so unchanged files are not re-read every tick; the cache is
a file in the state folder and the cursor only its digest, because Dagster
stores the cursor with every tick (a cache of a thousand files in each of
the ~20 000 ticks a week would be gigabytes). Resetting the cursor drops the
cache.

``release_changelog_sensor`` logs each new release in CHANGELOG.md.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg
from dagster import SensorEvaluationContext

from pipelines.assets.partitions import notice_partitions
from pipelines.atomic import write_atomic
from pipelines.automation import notice_job, tables_job
from pipelines.ingest.read import list_notice_files
from pipelines.refresh import (
    SETTLE_SECONDS,
    RawScan,
    RefreshPlan,
    cache_entries,
    contiguous_ranges,
    partition_order_after,
    plan_refresh,
    range_tags,
    scan_files,
    update_changelog,
)
from pipelines.resources import PipelinePaths

__all__ = ["SETTLE_SECONDS", "notice_run_requests", "raw_notices_sensor", "release_changelog_sensor", "scan_raw"]

REASON_TAG = "policy_tasks/reason"
# A failed notice run (a file briefly gone while saved, a killed worker) is run again this often.
NOTICE_RUN_RETRIES = 2
_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def scan_raw(raw_dir: Path, cache: dict | None = None, now: float | None = None) -> RawScan:
    """raw/ now: settled files with their hash, and files still being written (pure apart from reading)."""
    return scan_files(list_notice_files(raw_dir), cache, now)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_scan_cache(path: Path, cursor: str | None) -> dict[str, list]:
    """The previous tick's file cache: the file at ``path``, when the cursor holds its digest."""
    try:
        data = json.loads(cursor) if cursor else {}
        text = path.read_text(encoding="utf-8") if isinstance(data, dict) and data.get("scan") else ""
    except (ValueError, OSError):
        return {}
    if not text or _digest(text) != data["scan"]:  # a reset or older cursor: hash afresh
        return {}
    return cache_entries(json.loads(text))


def save_scan_cache(path: Path, cache: dict[str, list], cursor: str | None = None) -> str:
    """Write the file cache (atomically) and return the cursor that names it.

    ``cursor``: the one the tick started from; when it already names this
    cache (raw/ unchanged, most ticks), nothing is written.
    """
    text = json.dumps(cache, sort_keys=True, ensure_ascii=False)
    named = json.dumps({"scan": _digest(text)})
    if named == cursor and path.is_file():
        return named
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    return named


def keys_in_flight(instance: dg.DagsterInstance, order: list[str]) -> set[str]:
    """Partitions that a queued or running per-notice run already covers."""
    keys: set[str] = set()
    runs = instance.get_runs(dg.RunsFilter(statuses=_IN_FLIGHT, tags={REASON_TAG: "raw/ changed"}), limit=1000)
    for run in runs:
        tags = run.tags
        if "dagster/partition" in tags:
            keys.add(tags["dagster/partition"])
        start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
        if start in order and end in order:
            keys.update(order[order.index(start) : order.index(end) + 1])
    return keys


def notice_run_requests(
    plan: RefreshPlan, order: list[str], digests: dict[str, str], previous: dict[str, str], skip: set[str] = frozenset()
) -> list[dg.RunRequest]:
    """One run per contiguous range of partitions to parse.

    The run key names each partition with the hash it will read and the hash
    last parsed, so a tick that sees the same state requests nothing new,
    while a file that changes back to an earlier content is still rerun.
    Dagster launches a run key once, whatever became of the run, so a failed
    run is retried by the daemon (``dagster/max_retries``, with run retries
    enabled in the build's ``dagster.yaml``), not by the sensor.
    """
    requests = []
    for start, end in contiguous_ranges(order, [k for k in plan.run if k not in skip]):
        keys = order[order.index(start) : order.index(end) + 1]
        token = "|".join(f"{k}:{digests[k]}:{previous.get(k, '')}" for k in keys)
        run_key = f"{start}..{end}@{hashlib.sha256(token.encode()).hexdigest()[:16]}"
        new = sum(1 for k in keys if k not in previous)
        tags = {
            REASON_TAG: "raw/ changed",
            "policy_tasks/new": str(new),
            "policy_tasks/changed": str(len(keys) - new),
            "dagster/max_retries": str(NOTICE_RUN_RETRIES),
        }
        if start == end:
            requests.append(dg.RunRequest(run_key=run_key, job_name=notice_job.name, partition_key=start, tags=tags))
        else:
            requests.append(
                dg.RunRequest(run_key=run_key, job_name=notice_job.name, tags={**tags, **range_tags(start, end)})
            )
    return requests


def removal_run_request(removed: list[str], cursor: str | None) -> dg.RunRequest:
    """The tables rebuilt without removed notices: deleting a partition updates nothing automation sees.

    A tick sees a removal once (the partition is gone after it); the run key,
    from the keys and the cursor the tick started from, only spares a tick
    that Dagster evaluates again a second run.
    """
    token = "|".join(sorted(removed)) + "@" + (cursor or "")
    return dg.RunRequest(
        run_key=f"removed@{hashlib.sha256(token.encode()).hexdigest()[:16]}",
        job_name=tables_job.name,
        tags={REASON_TAG: "notice removed", "policy_tasks/removed": str(len(removed))},
    )


@dg.sensor(
    name="raw_notices_sensor",
    jobs=[notice_job, tables_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def raw_notices_sensor(context: SensorEvaluationContext, paths: PipelinePaths) -> dg.SensorResult:
    """Add partitions for new files, parse new and changed ones in single runs, drop removed ones."""
    scan = scan_raw(paths.raw, load_scan_cache(paths.raw_scan_cache, context.cursor))
    instance = context.instance
    plan = plan_refresh(instance, scan)
    order = partition_order_after(instance, plan)
    busy = keys_in_flight(instance, order)
    # plan.parsed: what each file was last parsed from, read by plan_refresh.
    requests = notice_run_requests(plan, order, scan.digests, plan.parsed, skip=busy)
    dynamic = []
    if plan.delete:
        requests.append(removal_run_request(plan.delete, context.cursor))
        dynamic.append(notice_partitions.build_delete_request(plan.delete))
    if plan.add:
        dynamic.append(notice_partitions.build_add_request(plan.add))
    if plan.add or plan.delete or requests or scan.unsettled:
        context.log.info(
            f"raw/: {len(plan.add)} new, {len(plan.run) - len(plan.add)} changed, {len(plan.delete)} removed, "
            f"{len(scan.unsettled)} still being written, {len(busy & set(plan.run))} already running; "
            f"{len(requests)} run(s) requested"
        )
    skip = None
    if not (requests or dynamic):
        skip = f"{len(scan.unsettled)} file(s) in raw/ still being written" if scan.unsettled else "raw/ unchanged"
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=dynamic,
        cursor=save_scan_cache(paths.raw_scan_cache, scan.cache, context.cursor),
        skip_reason=skip,
    )


@dg.asset_sensor(
    asset_key=dg.AssetKey("release"),
    name="release_changelog_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def release_changelog_sensor(
    context: SensorEvaluationContext, asset_event: dg.EventLogEntry, paths: PipelinePaths
) -> dg.SkipReason:
    """After a release is materialised (schedule, UI, automation), log it in CHANGELOG.md."""
    changes = update_changelog(paths.published)
    return dg.SkipReason(f"changelog: {changes.summary()}" if changes else "changelog: release already logged")
