"""Incremental builds: parse once per content, idempotent reruns, removals, one run per backfill.

The tests of this module share one state folder and run in order: a first
build of three notices, a rebuild of the same folder, a rerun of one
partition, then a removal.
"""

import csv
import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import frictionless
import pytest

from pipelines.cli import _instance, build
from pipelines.definitions import build_definitions
from pipelines.refresh import SHA_BY_EVENT, contiguous_ranges, input_changes, materialised_sha256
from pipelines.schedules import release_decision
from tests.conftest import SAMPLES

TABLE_NAMES = ["notices", "sections", "tasks", "assignments", "units", "targets", "glossary", "rejects"]
KEYS = {p: SAMPLES[p].stem for p in ("001", "003", "004")}


def _rows(release, table):
    with open(release / f"{table}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _notice_runs(instance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(job_name="notice_job")))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("refresh")
    raw = base / "raw"
    raw.mkdir()
    for prefix in KEYS:
        shutil.copy(SAMPLES[prefix], raw / SAMPLES[prefix].name)
    logs: list[str] = []
    first = build(raw, base / "published", base / "state", log=logs.append)
    return {"base": base, "raw": raw, "first": first, "logs": logs}


def test_first_build_parses_every_notice_in_one_run(world):
    instance = _instance(world["base"] / "state")
    runs = _notice_runs(instance)
    assert len(runs) == 1  # three partitions, one single-run backfill
    assert runs[0].tags["dagster/asset_partition_range_start"] == KEYS["001"]
    assert runs[0].tags["dagster/asset_partition_range_end"] == KEYS["004"]
    assert set(materialised_sha256(instance)) == set(KEYS.values())
    assert "3 new or changed to parse" in world["logs"][-1] or any("3 new or changed" in m for m in world["logs"])


def test_rebuild_parses_nothing_and_returns_the_same_release(world, monkeypatch):
    import pipelines.refresh as refresh

    # The notices were copied in just before the first build looked at them: without
    # the margin for the file system's coarse clock, their hashes are reused.
    monkeypatch.setattr(refresh, "RACY_NS", 0)
    hashed: list[int] = []
    real = refresh.sha256_bytes
    monkeypatch.setattr(refresh, "sha256_bytes", lambda data: hashed.append(1) or real(data))
    logs: list[str] = []
    again = build(world["raw"], world["base"] / "published", world["base"] / "state", log=logs.append)
    assert hashed == []  # no file of raw/ read again
    assert again == world["first"]
    assert any("0 new or changed to parse" in m for m in logs)
    assert len(_notice_runs(_instance(world["base"] / "state"))) == 1  # no new parse run


def test_rerunning_a_partition_is_idempotent_and_wakes_the_tables(world):
    base = world["base"]
    instance = _instance(base / "state")
    defs = build_definitions(str(world["raw"]), str(base / "published"), str(base / "state" / "storage"))
    before = materialised_sha256(instance)
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor
    # what "Materialize" on one partition in the UI does
    result = defs.resolve_job_def("notice_job").execute_in_process(instance=instance, partition_key=KEYS["003"])
    assert result.success
    assert materialised_sha256(instance) == before
    assert not release_decision(instance, base / "published").publish  # same inputs: nothing to release
    # declarative automation: the tables follow the updated partition
    evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    requested = {name for name in [*TABLE_NAMES, "release"] if evaluation.get_num_requested(dg.AssetKey(name))}
    assert {"tasks", "assignments", "notices"} <= requested
    assert "release" not in requested  # the release is the schedule's, never automatic


def test_parse_records_are_read_from_the_instance_once_and_kept_by_event(world, monkeypatch):
    """A plan reads each materialisation's recorded hash once; an entry is believed only for its partition."""
    instance = _instance(world["base"] / "state")
    recorded = materialised_sha256(instance)
    cache_file = Path(instance.root_directory) / SHA_BY_EVENT
    entries = json.loads(cache_file.read_text(encoding="utf-8"))
    # One entry per partition: the hash the instance recorded when it read that file.
    assert sorted(key for key, _, _ in entries.values()) == sorted(recorded)
    assert {key: digest for key, digest, _ in entries.values()} == recorded
    assert recorded[KEYS["001"]] == hashlib.sha256(SAMPLES["001"].read_bytes()).hexdigest()

    fetched: list[object] = []
    fetch = instance.fetch_materializations
    monkeypatch.setattr(instance, "fetch_materializations", lambda *a, **k: fetched.append(a) or fetch(*a, **k))
    assert materialised_sha256(instance) == recorded
    assert fetched == []  # nothing read from the event log again

    # Entries moved to other partitions (or made up) are not believed: the instance is read.
    keys = sorted(recorded)
    swapped = {sid: [keys[(keys.index(key) + 1) % len(keys)], "0" * 64, st] for sid, (key, _, st) in entries.items()}
    cache_file.write_text(json.dumps(swapped), encoding="utf-8")
    assert materialised_sha256(instance) == recorded
    assert len(fetched) == 1
    cache_file.write_text("not json", encoding="utf-8")
    assert materialised_sha256(instance) == recorded
    assert json.loads(cache_file.read_text(encoding="utf-8")) == entries  # rewritten whole


def test_removed_notice_drops_its_rows_and_the_changelog_says_so(world):
    base = world["base"]
    with _instance(base / "state") as before:
        runs_before = len(_notice_runs(before))
    (world["raw"] / SAMPLES["003"].name).unlink()
    logs: list[str] = []
    release = build(world["raw"], base / "published", base / "state", log=logs.append)
    assert release != world["first"]
    assert not [t for t in _rows(release, "tasks") if t["notice_id"] == KEYS["003"]]
    assert [t for t in _rows(world["first"], "tasks") if t["notice_id"] == KEYS["003"]]
    assert {n["notice_id"] for n in _rows(release, "notices")} == {KEYS["001"], KEYS["004"]}
    changelog = (base / "published" / "policy-tasks" / "CHANGELOG.md").read_text(encoding="utf-8")
    newest = changelog.split("\n## ")[1]
    assert release.name in newest and f"Removed: `{KEYS['003']}`" in newest
    instance = _instance(base / "state")
    assert KEYS["003"] not in instance.get_dynamic_partitions("notices")
    assert len(_notice_runs(instance)) == runs_before  # the removal parsed nothing
    # Published after a delta validation (the rows new since the first release), yet valid as a whole.
    meta = instance.get_latest_materialization_event(dg.AssetKey("release")).asset_materialization.metadata
    assert meta["frictionless_validation"].value.startswith("delta: ")
    assert meta["great_expectations"].value == "recorded by the check"
    report = frictionless.validate(str(release / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldNumber", "type", "note"])


def test_notice_paths_come_from_one_listing_of_raw(tmp_path, monkeypatch):
    """A backfill of N partitions lists raw/ once, not once per key (O(N) instead of O(N²))."""
    import pipelines.resources as resources

    raw = tmp_path / "raw"
    raw.mkdir()
    for prefix in KEYS:
        shutil.copy(SAMPLES[prefix], raw / SAMPLES[prefix].name)
    listings: list[object] = []
    real = resources.list_notice_files
    monkeypatch.setattr(resources, "list_notice_files", lambda d: listings.append(d) or real(d))
    paths = resources.PipelinePaths(raw_dir=str(raw))
    assert [paths.notice_path(key).name for key in KEYS.values()] == [SAMPLES[p].name for p in KEYS]
    assert len(listings) == 1
    shutil.copy(SAMPLES["000"], raw / SAMPLES["000"].name)  # lands after the listing: found on a second look
    assert paths.notice_path(SAMPLES["000"].stem) == raw / SAMPLES["000"].name
    assert len(listings) == 2
    (raw / SAMPLES["000"].name).unlink()
    with pytest.raises(dg.Failure, match="no file"):
        paths.notice_path(SAMPLES["000"].stem)


def test_contiguous_ranges_and_input_changes():
    assert contiguous_ranges(list("abcdef"), ["b", "c", "e"]) == [("b", "c"), ("e", "e")]
    assert contiguous_ranges(list("abc"), []) == []
    changes = input_changes({"a": "1", "b": "2"}, {"b": "3", "c": "4"})
    assert (changes.added, changes.removed, changes.changed) == (["c"], ["a"], ["b"])


def test_a_run_that_fails_after_reading_a_notice_leaves_it_to_parse(tmp_path, monkeypatch):
    """raw_notice was materialised, parsed_notice never was: the notice is not counted as parsed."""
    import pipelines.assets.notices as notice_assets

    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SAMPLES["001"], raw / SAMPLES["001"].name)

    def killed(_outcome):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(notice_assets, "parse_stage", killed)
    with pytest.raises(SystemExit, match="parsed_notice"):
        build(raw, tmp_path / "published", tmp_path / "state", log=lambda _m: None)
    instance = _instance(tmp_path / "state")
    assert instance.get_latest_materialization_event(dg.AssetKey("raw_notice")) is not None  # the file was read…
    assert materialised_sha256(instance) == {}  # …but it was never parsed

    monkeypatch.undo()
    logs: list[str] = []
    release = build(raw, tmp_path / "published", tmp_path / "state", log=logs.append)
    assert any("1 new or changed to parse" in m for m in logs)
    assert [row["notice_id"] for row in _rows(release, "notices")] == [KEYS["001"]]
    assert set(materialised_sha256(instance)) == {KEYS["001"]}


def test_a_partition_not_parsed_yet_is_left_out_of_a_publish(tmp_path):
    from pipelines.assets.partitions import notice_partitions

    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SAMPLES["001"], raw / SAMPLES["001"].name)
    build(raw, tmp_path / "published", tmp_path / "state", log=lambda _m: None)
    # A second file lands: the sensor adds its partition, and its run is still queued
    # when the daily publish starts.
    shutil.copy(SAMPLES["003"], raw / SAMPLES["003"].name)
    instance = _instance(tmp_path / "state")
    instance.add_dynamic_partitions(notice_partitions.name, [KEYS["003"]])
    defs = build_definitions(str(raw), str(tmp_path / "published"), str(tmp_path / "state" / "storage"))
    result = defs.resolve_job_def("publish_job").execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    notices = instance.get_latest_materialization_event(dg.AssetKey("notices")).asset_materialization
    assert notices.metadata["notices_not_parsed_yet"].value == 1
    latest = (tmp_path / "published" / "policy-tasks" / "latest").resolve()
    assert [row["notice_id"] for row in _rows(latest, "notices")] == [KEYS["001"]]


def test_a_second_build_of_the_same_state_waits_for_the_first(tmp_path):
    import subprocess
    import sys
    import textwrap

    from tests.conftest import ROOT

    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SAMPLES["001"], raw / SAMPLES["001"].name)
    state = tmp_path / "state"
    other = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from pipelines.cli import state_lock
        with state_lock(Path({str(state)!r})):
            print("locked", flush=True)
            time.sleep(2)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", other], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"  # another build holds the state folder
        logs: list[str] = []
        release = build(raw, tmp_path / "published", state, log=logs.append)
        assert logs[0] == f"waiting for another build of {state} to finish"
        assert holder.poll() == 0  # it went on only once the other had finished
        assert [row["notice_id"] for row in _rows(release, "notices")] == [KEYS["001"]]
    finally:
        holder.kill()
        holder.wait()


def test_runs_that_write_the_tables_are_queued_one_at_a_time(tmp_path):
    """The daemon's runs share the tables handed between steps: the run queue serialises them."""
    from pipelines.automation import TABLES_RUN_TAG, tables_automation_sensor

    ((key, value),) = TABLES_RUN_TAG.items()
    instance = _instance(tmp_path / "state")
    assert {"key": key, "limit": 1} in instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
    defs = build_definitions(str(tmp_path / "raw"), str(tmp_path / "published"), str(tmp_path / "state" / "storage"))
    for job in ("publish_job", "tables_job"):  # the schedule's, the sensor's after a removal
        assert defs.resolve_job_def(job).tags[key] == value
    assert tables_automation_sensor.run_tags[key] == value  # declarative automation's


def test_a_wiped_event_log_that_hands_out_the_same_ids_again_is_read_anew(tmp_path):
    """The cache of recorded hashes names each event by id, partition, run and time: a reused id is not enough."""
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.add_dynamic_partitions("notices", ["a"])

        def parsed(sha: str) -> None:
            instance.report_runless_asset_event(
                dg.AssetMaterialization("raw_notice", partition="a", metadata={"raw_sha256": sha})
            )
            instance.report_runless_asset_event(dg.AssetMaterialization("parsed_notice", partition="a"))

        parsed("old")
        assert materialised_sha256(instance) == {"a": "old"}
        first_id = instance.get_latest_storage_id_by_partition(
            dg.AssetKey("raw_notice"), dg.DagsterEventType.ASSET_MATERIALIZATION
        )["a"]
        instance.wipe_assets([dg.AssetKey("raw_notice"), dg.AssetKey("parsed_notice")])
        parsed("new")
        again = instance.get_latest_storage_id_by_partition(
            dg.AssetKey("raw_notice"), dg.DagsterEventType.ASSET_MATERIALIZATION
        )["a"]
        assert again == first_id  # the situation this guards against
        assert materialised_sha256(instance) == {"a": "new"}


def test_a_process_exits_cleanly_after_its_first_build_froze_the_survivors():
    """The CLI exempts what a first build leaves alive from the collector; exiting still frees it.

    Frozen DuckDB objects that the interpreter never freed made nanobind print
    "leaked instances" to stderr at the end of every command.
    """
    import subprocess
    import sys

    from tests.conftest import ROOT

    script = (
        "import duckdb, gc\n"
        "from pipelines import cli\n"
        "con = duckdb.connect(); con.execute('SELECT 1').fetchall()\n"
        "cli._freeze_survivors()\n"
        "assert gc.get_freeze_count() > 0\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr


def test_polars_keeps_freed_pages_for_a_while_unless_the_user_said_otherwise():
    """The allocator setting is in place before Polars loads; a user's own value is left alone."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    script = "import os, pipelines, polars; print(os.environ.get('_RJEM_MALLOC_CONF'))"
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    ours = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    # Polars puts its own setting first; jemalloc takes the last value of each option.
    assert ours.stdout.strip().endswith(",dirty_decay_ms:30000,muzzy_decay_ms:30000"), ours.stderr
    theirs = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "_RJEM_MALLOC_CONF": "narenas:2"},
        capture_output=True,
        text=True,
    )
    assert theirs.stdout.strip().endswith(",narenas:2") and "30000" not in theirs.stdout, theirs.stderr
