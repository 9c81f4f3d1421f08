"""What changed, and what a refresh must redo: shared by the sensor, the schedule and the CLI.

The Dagster instance is the record of what was parsed: each ``raw_notice``
materialisation carries the ``raw_sha256`` of the bytes it read, and it counts
once ``parsed_notice`` was materialised after it (a run that failed midway read
the file but parsed nothing). A notice is (re)parsed when its file's hash
differs from that record, so per-notice work happens once per content,
whoever asks for it (sensor, schedule, CLI, UI).

The published release is the record of what was released: ``notices.csv`` and
``rejects.csv`` name every input with its hash, so "anything changed since the
last release" is a comparison of two small maps, and the changelog entry of a
new release says which notices came, went or changed.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster import DagsterEventType

from pipelines.assets.partitions import notice_partitions
from pipelines.atomic import write_atomic
from pipelines.ingest.read import sha256_bytes
from pipelines.publish.descriptor import DATASET
from pipelines.publish.release import publish_lock
from pipelines.publish.stamps import file_stamp

RAW_ASSET = dg.AssetKey("raw_notice")
PARSED_ASSET = dg.AssetKey("parsed_notice")
NOTICE_ASSETS = ("raw_notice", "cleaned_notice", "parsed_notice")

# A file modified more recently than this may still be being written.
SETTLE_SECONDS = 2.0
# A file's recorded hash is reused only when the file last changed this long
# before the look that hashed it: a write just after the hash could otherwise
# carry an earlier change time from the file system's coarse clock.
RACY_NS = 1_000_000_000

# SQLite allows a limited number of bound parameters per statement.
_CHUNK = 500
# Beside the instance's own files: which raw_sha256 each raw_notice materialisation
# recorded, by event (see materialised_sha256).
SHA_BY_EVENT = "raw_sha256_by_event.json"

CHANGELOG = "CHANGELOG.md"
_CHANGELOG_STATE = ".changelog.json"


# ---------------------------------------------------------------------------
# raw/: which files are there, settled, with which content
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RawScan:
    """raw/ as seen now: settled files with their hash, and files still being written."""

    digests: dict[str, str]  # key → sha256, settled files only
    unsettled: list[str]  # keys of files still being written (left for a later look)
    cache: dict[str, list] = field(default_factory=dict)  # key → [size, mtime_ns, sha256 or None if unsettled]

    @property
    def present(self) -> set[str]:
        return set(self.digests) | set(self.unsettled)


def _cache_entry_ok(entry: object) -> bool:
    """A :func:`scan_files` cache entry: stamp (4 ints), hash (None while unsettled), time of the look."""
    return (
        isinstance(entry, list)
        and len(entry) == 6
        and all(isinstance(v, int) for v in (*entry[:4], entry[5]))
        and (entry[4] is None or isinstance(entry[4], str))
    )


def cache_entries(data: object) -> dict[str, list]:
    """The well-formed entries of a :func:`scan_files` cache read from JSON (others are hashed afresh)."""
    return {k: v for k, v in data.items() if _cache_entry_ok(v)} if isinstance(data, dict) else {}


def scan_files(
    files: Mapping[str, Path],
    cache: Mapping[str, list] | None = None,
    now: float | None = None,
    settle_seconds: float = SETTLE_SECONDS,
) -> RawScan:
    """Hash the settled files; a file that still carries the stamp it was hashed with is not read again.

    The stamp is the file's size, inode, modification and change time
    (:func:`pipelines.publish.stamps.file_stamp`): any write moves the change
    time, which no tool can set back. As for the release's files, a hash
    counts only for a file changed before the look that took it, here by
    ``RACY_NS`` (file-system clocks tick coarsely); any other file is read again.

    A file modified within ``settle_seconds`` is reported as unsettled and not
    hashed: a notice is never built from half a file. So is one stamped in the
    future (clock skew, files unpacked from an archive) until a later look,
    with ``cache`` from this one, finds it unchanged.
    """
    now = time.time() if now is None else now
    looked_at = time.time_ns()  # before any file is read
    cache = cache or {}
    digests: dict[str, str] = {}
    unsettled: list[str] = []
    new_cache: dict[str, list] = {}
    for key, path in files.items():
        try:
            stamp = file_stamp(path)
        except FileNotFoundError:  # removed between listing and stat
            continue
        seen = cache.get(key)
        unchanged = _cache_entry_ok(seen) and seen[:4] == stamp
        if settle_seconds > 0 and now - stamp[2] / 1e9 < settle_seconds and not unchanged:
            unsettled.append(key)
            new_cache[key] = [*stamp, None, looked_at]  # compared at the next look
            continue
        if unchanged and seen[4] is not None and stamp[3] < seen[5] - RACY_NS:
            digest, hashed_at = seen[4], seen[5]
        else:
            digest, hashed_at = sha256_bytes(path.read_bytes()), looked_at
        digests[key] = digest
        new_cache[key] = [*stamp, digest, hashed_at]
    return RawScan(digests, unsettled, new_cache)


def load_cache(path: Path) -> dict[str, list]:
    """A :func:`scan_files` cache saved as JSON; empty when missing or unreadable."""
    try:
        return cache_entries(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------------------
# The instance: what was parsed, from which bytes
# ---------------------------------------------------------------------------


def materialised_sha256(instance: dg.DagsterInstance, keys: Iterable[str] | None = None) -> dict[str, str]:
    """``raw_sha256`` of each partition's last complete parse (batched queries).

    That is the latest ``raw_notice`` materialisation, when a ``parsed_notice``
    materialisation came after it. Partitions never parsed to the end are
    absent from the result, so they are run again.
    """
    wanted = set(keys) if keys is not None else None
    if wanted is not None and not wanted:
        return {}
    latest = instance.get_latest_storage_id_by_partition(
        RAW_ASSET, DagsterEventType.ASSET_MATERIALIZATION, partitions=wanted
    )
    parsed = instance.get_latest_storage_id_by_partition(
        PARSED_ASSET, DagsterEventType.ASSET_MATERIALIZATION, partitions=wanted
    )
    # Storage ids grow with time: a parse older than the last read is not the parse of that read.
    latest = {key: storage_id for key, storage_id in latest.items() if parsed.get(key, -1) > storage_id}
    # A materialisation is never rewritten: what it recorded is read from the
    # instance once and kept (loading a thousand events was most of a plan's
    # time). An entry counts only for the event it was read from: its storage id,
    # partition, run and time (a wiped event log hands the same ids out again).
    cache_file = _sha_cache_file(instance)
    stamps = _event_stamps(instance, list(latest.values())) if cache_file is not None else None
    if stamps is None:  # no folder, or a storage that cannot name its events: no cache
        cache_file, stamps = None, {}
    cached = _read_sha_cache(cache_file) if cache_file is not None else {}
    out: dict[str, str] = {}
    by_id: dict[int, str] = {}
    for key, storage_id in latest.items():
        hit = cached.get(str(storage_id))
        if hit is not None and hit[0] == key and hit[2] == stamps.get(storage_id):
            out[key] = hit[1]
        else:
            by_id[storage_id] = key
    ids = sorted(by_id)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=RAW_ASSET, storage_ids=chunk), limit=len(chunk)
        ).records
        for record in records:
            mat = record.asset_materialization
            value = mat.metadata.get("raw_sha256") if mat else None
            key = by_id.get(record.storage_id)
            if key is not None and value is not None:
                out[key] = str(value.value)
                if record.storage_id in stamps:
                    cached[str(record.storage_id)] = [key, out[key], stamps[record.storage_id]]
    if ids and cache_file is not None:
        _write_sha_cache(cache_file, cached, set(instance.get_dynamic_partitions(notice_partitions.name)))
    return out


def _sha_cache_file(instance: dg.DagsterInstance) -> Path | None:
    """Where the instance keeps its files (the cache goes with them when the instance is deleted)."""
    try:
        return Path(instance.root_directory) / SHA_BY_EVENT
    except Exception:  # an instance without a local folder: no cache
        return None


def _event_stamps(instance: dg.DagsterInstance, ids: list[int]) -> dict[int, str] | None:
    """Run id and time of events by storage id, without reading their bodies; None for a storage that cannot say.

    Dagster's SQL event logs (SQLite, Postgres) keep both in columns of their
    event table, which the asset index refers to by the same ids.
    """
    import sqlalchemy as sa
    from dagster._core.storage.event_log.schema import SqlEventLogStorageTable as Events
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        return None
    out: dict[int, str] = {}
    try:
        with storage.index_connection() as conn:
            for i in range(0, len(ids), _CHUNK):
                query = sa.select(Events.c.id, Events.c.run_id, Events.c.timestamp).where(
                    Events.c.id.in_(ids[i : i + _CHUNK])
                )
                out.update({int(row[0]): f"{row[1]}|{row[2]}" for row in conn.execute(query)})
    except Exception:  # another layout of the event table: no cache, the events are read
        return None
    return out


def _read_sha_cache(path: Path) -> dict[str, list[str]]:
    """``{storage id: [partition key, raw_sha256, run id|time]}``; empty when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, list) and len(v) == 3 and all(isinstance(x, str) for x in v)}


def _write_sha_cache(path: Path, cached: dict[str, list[str]], partitions: set[str]) -> None:
    """Keep the newest entry of each current partition (older events of a partition are never asked for again)."""
    newest: dict[str, tuple[int, str, str]] = {}
    for storage_id, (key, digest, stamp) in cached.items():
        if key in partitions and storage_id.isdigit() and int(storage_id) > newest.get(key, (-1, "", ""))[0]:
            newest[key] = (int(storage_id), digest, stamp)
    try:
        write_atomic(path, json.dumps({str(i): [key, d, st] for key, (i, d, st) in sorted(newest.items())}))
    except OSError:  # a cache only: the next plan reads the instance again
        pass


def last_sha256(instance: dg.DagsterInstance, key: str) -> str | None:
    """The raw SHA-256 of a partition's last complete parse."""
    return materialised_sha256(instance, [key]).get(key)


def stale_keys(instance: dg.DagsterInstance, digests: Mapping[str, str]) -> list[str]:
    """Keys whose content hash differs from what was last parsed (new files included), in key order."""
    done = materialised_sha256(instance, digests)
    return sorted(key for key, digest in digests.items() if done.get(key) != digest)


def notices_to_run(instance: dg.DagsterInstance, files: dict[str, Path]) -> list[str]:
    """Partition keys whose file is new or changed since it was last parsed."""
    return stale_keys(instance, scan_files(files, settle_seconds=0).digests)


@dataclass(frozen=True)
class RefreshPlan:
    """What to do about raw/: partitions to add and delete, partitions to (re)parse."""

    add: list[str]
    delete: list[str]
    run: list[str]
    parsed: dict[str, str] = field(default_factory=dict)  # key → raw_sha256 last parsed, as planned

    @property
    def empty(self) -> bool:
        return not (self.add or self.delete or self.run)


def plan_refresh(instance: dg.DagsterInstance, scan: RawScan) -> RefreshPlan:
    """Compare raw/ with the instance's partitions and parse records.

    An unsettled file keeps its partition (if any) but is neither added nor run.
    """
    known = instance.get_dynamic_partitions(notice_partitions.name)
    known_set = set(known)
    add = sorted(k for k in scan.digests if k not in known_set)
    delete = [k for k in known if k not in scan.present]
    parsed = materialised_sha256(instance, scan.digests)
    run = sorted(key for key, digest in scan.digests.items() if parsed.get(key) != digest)
    return RefreshPlan(add, delete, run, parsed)


def contiguous_ranges(order: list[str], keys: Iterable[str]) -> list[tuple[str, str]]:
    """The runs of ``keys`` that are contiguous in the partition order."""
    wanted = set(keys)
    ranges: list[tuple[str, str]] = []
    start = prev = None
    for key in order:
        if key in wanted:
            start = start or key
            prev = key
        elif start is not None:
            ranges.append((start, prev))
            start = None
    if start is not None:
        ranges.append((start, prev))
    return ranges


def range_tags(start: str, end: str) -> dict[str, str]:
    """Run tags that make one run cover the partitions ``start..end`` (a single-run backfill)."""
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def partition_order_after(instance: dg.DagsterInstance, plan: RefreshPlan) -> list[str]:
    """The dynamic partition order once ``plan``'s deletions and additions are applied."""
    gone = set(plan.delete)
    return [k for k in instance.get_dynamic_partitions(notice_partitions.name) if k not in gone] + [k for k in plan.add]


# ---------------------------------------------------------------------------
# Releases: what the latest one was built from, and the changelog
# ---------------------------------------------------------------------------


def _csv_inputs(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8", newline="") as fh:
        return {row["notice_id"]: row.get("raw_sha256") or "" for row in csv.DictReader(fh)}


def release_inputs(release_dir: Path) -> dict[str, str] | None:
    """``notice_id → raw_sha256`` of every input of a release (notices and rejects); None if absent."""
    if not (release_dir / "datapackage.json").is_file():
        return None
    return {**_csv_inputs(release_dir / "rejects.csv"), **_csv_inputs(release_dir / "notices.csv")}


def latest_release(published_dir: Path) -> Path | None:
    latest = published_dir / DATASET / "latest"
    return latest.resolve() if latest.exists() else None


def parsed_inputs(instance: dg.DagsterInstance, known: Mapping[str, str] | None = None) -> dict[str, str]:
    """``key → raw_sha256`` of what a publish now would combine: current partitions that were parsed.

    ``known``: hashes already read from the instance for some keys (and still
    current); only the other keys are queried.
    """
    keys = instance.get_dynamic_partitions(notice_partitions.name)
    known = {k: known[k] for k in keys if k in known} if known else {}
    return {**known, **materialised_sha256(instance, [k for k in keys if k not in known])}


@dataclass(frozen=True)
class InputChanges:
    added: list[str]
    removed: list[str]
    changed: list[str]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        parts = [
            f"{len(v)} {k}"
            for k, v in (("added", self.added), ("removed", self.removed), ("changed", self.changed))
            if v
        ]
        return ", ".join(parts) or "no change"


def input_changes(before: Mapping[str, str], after: Mapping[str, str]) -> InputChanges:
    """Notices added, removed and changed (by content hash) between two input maps."""
    return InputChanges(
        added=sorted(set(after) - set(before)),
        removed=sorted(set(before) - set(after)),
        changed=sorted(k for k in set(before) & set(after) if before[k] != after[k]),
    )


def _row_counts(release_dir: Path) -> dict[str, int]:
    try:
        descriptor = json.loads((release_dir / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {r["name"]: int(r.get("rows", 0)) for r in descriptor.get("resources", []) if "name" in r}


def changelog_entry(version: str, previous: str | None, changes: InputChanges, rows_before, rows_after) -> str:
    """One Markdown section of CHANGELOG.md."""
    lines = [f"## {version}", ""]
    lines.append(f"Previous release: {previous}." if previous else "First release.")
    lines.append("")
    for label, keys, note in (
        ("Added", changes.added, "new notice"),
        ("Changed", changes.changed, "content changed, rows rebuilt"),
        ("Removed", changes.removed, "file removed from raw/; its rows are dropped from every table"),
    ):
        for key in keys:
            lines.append(f"- {label}: `{key}` ({note})")
    if changes.empty:
        lines.append("- Same inputs as the previous release (rebuilt by a code or reference-data change).")
    if rows_after:
        deltas = [
            f"{name} {rows_before.get(name, 0)} → {n}" if previous else f"{name} {n}" for name, n in rows_after.items()
        ]
        lines += ["", "Rows: " + ", ".join(deltas) + "."]
    return "\n".join(lines) + "\n"


def update_changelog(published_dir: Path) -> InputChanges | None:
    """Log the ``latest`` release in ``<published>/<dataset>/CHANGELOG.md`` unless it is logged already.

    Idempotent: rebuilding the same release adds nothing. The entry compares the
    release with the previously logged one; it names every notice removed, so a
    reader knows why its rows are gone. Returns the changes logged (None: nothing new).
    """
    dataset_dir = published_dir / DATASET
    release = latest_release(published_dir)
    if release is None:
        return None
    with publish_lock(dataset_dir):
        state_path = dataset_dir / _CHANGELOG_STATE
        try:
            previous = json.loads(state_path.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            previous = None
        if previous == release.name:
            return None
        prev_dir = dataset_dir / previous if previous else None
        before = (release_inputs(prev_dir) if prev_dir else None) or {}
        changes = input_changes(before, release_inputs(release) or {})
        entry = changelog_entry(
            release.name, previous, changes, _row_counts(prev_dir) if prev_dir else {}, _row_counts(release)
        )
        path = dataset_dir / CHANGELOG
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        head = "# Changelog\n\nNewest release first. Each entry names the notices added, changed or removed.\n\n"
        body = old[len(head) :] if old.startswith(head) else old
        write_atomic(path, head + entry + ("\n" + body if body else ""))
        write_atomic(state_path, json.dumps({"version": release.name}) + "\n")
        return changes
