"""raw_notices_sensor on a temporary raw/: which partitions it adds or deletes, which runs it asks for."""

import hashlib
import os
import time

import dagster as dg
import pytest

from pipelines.resources import PipelinePaths
from pipelines.sensors import load_scan_cache, raw_notices_sensor, scan_raw

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _write(raw, name: str, text: str, age: float = 60.0):
    path = raw / name
    path.write_text(text, encoding="utf-8")
    past = time.time() - age
    os.utime(path, (past, past))
    return path


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture(scope="module")
def shared_instance(tmp_path_factory):
    """One instance for the module (creating one costs seconds); each test starts it empty."""
    base = tmp_path_factory.mktemp("dagster")
    with dg.instance_for_test(temp_dir=str(base)) as instance:
        yield instance


@pytest.fixture
def setup(tmp_path, shared_instance):
    instance = shared_instance
    for key in instance.get_dynamic_partitions("notices"):
        instance.delete_dynamic_partition("notices", key)
    instance.wipe_assets([dg.AssetKey("raw_notice"), dg.AssetKey("parsed_notice")])
    raw = tmp_path / "raw"
    raw.mkdir()
    return raw, instance


def _paths(raw) -> PipelinePaths:
    return PipelinePaths(raw_dir=str(raw), published_dir="unused", state_dir=str(raw.parent / "state"))


def _tick(instance, raw, cursor=None):
    """One sensor evaluation, applied the way the daemon applies it (partitions only; runs are not executed)."""
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"paths": _paths(raw)},
    )
    result = raw_notices_sensor(context)
    adds, deletes = [], []
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            adds += list(request.partition_keys)
            instance.add_dynamic_partitions("notices", list(request.partition_keys))
        else:
            deletes += list(request.partition_keys)
            for key in request.partition_keys:
                instance.delete_dynamic_partition("notices", key)
    return result, adds, deletes


def _parsed(instance, key: str, text: str) -> None:
    """Record that a partition was parsed from ``text`` (what a complete notice run records)."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization("raw_notice", partition=key, metadata={"raw_sha256": _sha(text)})
    )
    instance.report_runless_asset_event(dg.AssetMaterialization("parsed_notice", partition=key))


def _covered(request: dg.RunRequest, order: list[str]) -> list[str]:
    if request.partition_key:
        return [request.partition_key]
    start, end = request.tags[RANGE_START], request.tags[RANGE_END]
    return order[order.index(start) : order.index(end) + 1]


def test_new_files_add_partitions_and_one_run_covers_them(setup):
    raw, instance = setup
    for i in range(3):
        _write(raw, f"n{i}.txt", f"notice {i}")
    result, adds, deletes = _tick(instance, raw)
    assert adds == ["n0", "n1", "n2"] and deletes == []
    assert len(result.run_requests) == 1  # a single-run backfill, not one run per notice
    assert _covered(result.run_requests[0], instance.get_dynamic_partitions("notices")) == ["n0", "n1", "n2"]
    assert set(load_scan_cache(_paths(raw).raw_scan_cache, result.cursor)) == {"n0", "n1", "n2"}
    assert len(result.cursor) < 100  # Dagster stores the cursor with every tick: the cache is not in it


def test_same_state_asks_for_the_same_run_again_and_nothing_once_parsed(setup):
    raw, instance = setup
    _write(raw, "a.txt", "alpha")
    first, _, _ = _tick(instance, raw)
    again, adds, _ = _tick(instance, raw, first.cursor)
    assert adds == []
    # not yet parsed: the request repeats with the same run key, which Dagster deduplicates
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in first.run_requests]
    _parsed(instance, "a", "alpha")
    done, adds, deletes = _tick(instance, raw, again.cursor)
    assert done.run_requests == [] and adds == [] and deletes == []


def test_changed_file_reruns_only_its_partition(setup):
    raw, instance = setup
    for name, text in (("a.txt", "alpha"), ("b.txt", "beta")):
        _write(raw, name, text)
    first, _, _ = _tick(instance, raw)
    _parsed(instance, "a", "alpha")
    _parsed(instance, "b", "beta")
    _write(raw, "b.txt", "beta, second edition")
    result, adds, deletes = _tick(instance, raw, first.cursor)
    assert adds == [] and deletes == []
    assert [r.partition_key for r in result.run_requests] == ["b"]


def test_content_changing_back_is_rerun_with_a_new_run_key(setup):
    raw, instance = setup
    _write(raw, "a.txt", "v1")
    r1, _, _ = _tick(instance, raw)
    _parsed(instance, "a", "v1")
    _write(raw, "a.txt", "v2")
    r2, _, _ = _tick(instance, raw, r1.cursor)
    _parsed(instance, "a", "v2")
    _write(raw, "a.txt", "v1")
    r3, _, _ = _tick(instance, raw, r2.cursor)
    keys = [r1.run_requests[0].run_key, r2.run_requests[0].run_key, r3.run_requests[0].run_key]
    assert len(set(keys)) == 3


def test_removed_file_deletes_its_partition(setup):
    raw, instance = setup
    for name in ("a.txt", "b.txt"):
        _write(raw, name, name)
    first, _, _ = _tick(instance, raw)
    _parsed(instance, "a", "a.txt")
    _parsed(instance, "b", "b.txt")
    (raw / "a.txt").unlink()
    result, adds, deletes = _tick(instance, raw, first.cursor)
    assert deletes == ["a"] and adds == []
    # No partition is updated, so automation would not rebuild the tables: the sensor does.
    (request,) = result.run_requests
    assert request.job_name == "tables_job" and request.tags["policy_tasks/removed"] == "1"
    assert instance.get_dynamic_partitions("notices") == ["b"]
    again, _, _ = _tick(instance, raw, result.cursor)
    assert again.run_requests == []  # asked once


def test_file_still_being_written_waits_for_a_later_tick(setup):
    raw, instance = setup
    _write(raw, "a.txt", "half a noti", age=0)  # modified just now
    result, adds, _ = _tick(instance, raw)
    assert adds == [] and result.run_requests == []
    _write(raw, "a.txt", "half a notice, now whole")  # finished, settled
    result, adds, _ = _tick(instance, raw, result.cursor)
    assert adds == ["a"] and [r.partition_key for r in result.run_requests] == ["a"]


def test_file_stamped_in_the_future_is_taken_once_it_stays_unchanged(setup):
    raw, instance = setup
    _write(raw, "a.txt", "alpha", age=-3600)  # clock skew, or unpacked from an archive
    first, adds, _ = _tick(instance, raw)
    assert adds == [] and first.run_requests == []
    assert "1 file(s) in raw/ still being written" in first.skip_reason.skip_message
    second, adds, _ = _tick(instance, raw, first.cursor)  # the next tick: same size, same mtime
    assert adds == ["a"] and [r.partition_key for r in second.run_requests] == ["a"]


def test_known_file_being_rewritten_keeps_its_partition(setup):
    raw, instance = setup
    _write(raw, "a.txt", "alpha")
    first, _, _ = _tick(instance, raw)
    _parsed(instance, "a", "alpha")
    _write(raw, "a.txt", "alph", age=0)
    result, adds, deletes = _tick(instance, raw, first.cursor)
    assert deletes == [] and adds == [] and result.run_requests == []


def test_the_next_tick_reads_no_unchanged_file_and_a_reset_cursor_reads_them_all(setup, monkeypatch):
    import pipelines.refresh as refresh

    raw, instance = setup
    monkeypatch.setattr(refresh, "RACY_NS", 0)  # the file was written just now (see the racy test below)
    _write(raw, "a.txt", "alpha")
    first, _, _ = _tick(instance, raw)
    hashed: list[int] = []
    real = refresh.sha256_bytes
    monkeypatch.setattr(refresh, "sha256_bytes", lambda data: hashed.append(1) or real(data))
    _tick(instance, raw, first.cursor)
    assert hashed == []
    _tick(instance, raw, None)  # "reset cursor" in the UI
    assert hashed == [1]


def test_scan_reuses_hashes_of_files_that_still_carry_their_stamp(tmp_path, monkeypatch):
    import pipelines.refresh as refresh

    monkeypatch.setattr(refresh, "RACY_NS", 0)
    _write(tmp_path, "a.txt", "alpha")
    first = scan_raw(tmp_path)
    assert first.digests == {"a": _sha("alpha")}
    cache = {"a": [*first.cache["a"][:4], "cached", first.cache["a"][5]]}
    assert scan_raw(tmp_path, cache).digests == {"a": "cached"}
    # An entry of the older (size, mtime, hash) form is not believed.
    st = (tmp_path / "a.txt").stat()
    assert scan_raw(tmp_path, {"a": [st.st_size, st.st_mtime_ns, "cached"]}).digests == {"a": _sha("alpha")}


def test_scan_reads_a_same_size_rewrite_that_put_its_mtime_back(tmp_path, monkeypatch):
    import pipelines.refresh as refresh

    monkeypatch.setattr(refresh, "RACY_NS", 0)
    path = _write(tmp_path, "a.txt", "alpha")
    first = scan_raw(tmp_path)
    before = path.stat()
    path.write_text("omega", encoding="utf-8")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `cp -p` or an archive would
    assert scan_raw(tmp_path, first.cache).digests == {"a": _sha("omega")}


def test_scan_reads_again_a_file_changed_just_before_the_look_that_hashed_it(tmp_path):
    """The file system's clock is coarse: a hash taken within RACY_NS of the file's last change is not reused."""
    import pipelines.refresh as refresh

    _write(tmp_path, "a.txt", "alpha")  # its change time is now, whatever its mtime says
    first = scan_raw(tmp_path)
    cache = {"a": [*first.cache["a"][:4], "cached", first.cache["a"][5]]}
    assert scan_raw(tmp_path, cache).digests == {"a": _sha("alpha")}
    # Once the file is older than the look by RACY_NS, its hash is reused.
    old_look = {"a": [*first.cache["a"][:4], "cached", first.cache["a"][3] + refresh.RACY_NS + 1]}
    assert scan_raw(tmp_path, old_look).digests == {"a": "cached"}


def test_a_failed_notice_run_is_one_the_daemon_retries(tmp_path, monkeypatch):
    """The sensor asks once per content (its run key); a run that fails is retried by Dagster."""
    from dagster._daemon.auto_run_reexecution.auto_run_reexecution import should_retry

    import pipelines.assets.notices as notice_assets
    from pipelines.cli import _instance
    from pipelines.definitions import build_definitions

    raw = tmp_path / "raw"
    raw.mkdir()
    _write(raw, "a.txt", "一、总体要求\n(一)做好工作。(省发展改革委牵头)\n")
    instance = _instance(tmp_path / "state")  # the instance `build` and `dagster dev` use
    result, _, _ = _tick(instance, raw)
    (request,) = result.run_requests

    def killed(_outcome):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(notice_assets, "parse_stage", killed)
    defs = build_definitions(str(raw), str(tmp_path / "published"), str(tmp_path / "state" / "storage"))
    run = defs.resolve_job_def("notice_job").execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=request.tags, raise_on_error=False
    )
    assert not run.success
    assert should_retry(instance.get_run_by_id(run.run_id), instance)
