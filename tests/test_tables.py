"""Combining per-notice outcomes into the published tables."""

from pipelines.ingest.read import read_notice
from pipelines.stages import clean_stage, parse_stage
from pipelines.table_store import combine
from pipelines.validate import check_all
from tests.conftest import SAMPLES


def test_the_same_bytes_under_two_names_publish_once(tmp_path):
    original = SAMPLES["003"]
    copy = tmp_path / "zz_copy.txt"
    copy.write_bytes(original.read_bytes())
    outcomes = {p.stem: parse_stage(clean_stage(read_notice(p))) for p in (original, copy)}
    frames = combine(outcomes)
    assert frames["notices"].height == 1
    assert frames["tasks"].height == 114
    rejects = frames["rejects"].to_dicts()
    assert [(r["file_name"], r["stage"]) for r in rejects] == [("zz_copy.txt", "combine")]
    assert original.stem in rejects[0]["reason"] and "duplicate" in rejects[0]["reason"]
    assert all(outcome.passed for outcome in check_all(frames))


def test_all_samples_pass_every_blocking_check():
    outcomes = {p.stem: parse_stage(clean_stage(read_notice(p))) for p in SAMPLES.values()}
    frames = combine(outcomes)
    failed = [o.name for o in check_all(frames) if not o.passed]
    assert failed == []
    assert frames["rejects"].height == 0


def test_a_table_has_one_schema_check_that_covers_its_model_and_its_foreign_keys():
    import polars as pl

    outcomes = {p.stem: parse_stage(clean_stage(read_notice(p))) for p in SAMPLES.values()}
    frames = combine(outcomes)
    assert [o.name for o in check_all(frames)] == [f"{name}_schema" for name in frames]
    # A unit id no unit has, and a role the model does not allow, in the same table: both are reported.
    assignments = frames["assignments"]
    frames["assignments"] = assignments.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("u-missing")).otherwise("unit_id").alias("unit_id"),
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("boss")).otherwise("role").alias("role"),
    )
    failed = {o.name: o for o in check_all(frames) if not o.passed}
    assert list(failed) == ["assignments_schema"]
    outcome = failed["assignments_schema"]
    assert outcome.n_failures == 2
    assert "Pandera" in outcome.description and "unit_id→units" in outcome.description
    assert "u-missing" in outcome.failures.get_column("value").to_list()
    assert "boss" in outcome.failures.get_column("failure_case").to_list()


def test_a_table_written_in_this_process_is_loaded_as_written_until_the_file_changes(tmp_path):
    """The IO manager hands back the frame it wrote while its file is untouched, and the file once it is not."""
    import os

    import dagster as dg
    import polars as pl

    from pipelines.storage import TableIOManager, wait_for_table_writes

    manager = TableIOManager(base_dir=str(tmp_path))
    key = dg.AssetKey("tasks")
    written = pl.DataFrame({"task_id": ["n:t001", "n:t002"], "text": ["推进改革", "加强监管"]})
    manager.handle_output(dg.build_output_context(asset_key=key), written)
    loaded = manager.load_input(dg.build_input_context(asset_key=key))
    assert loaded is written

    wait_for_table_writes()
    path = tmp_path / "tasks.arrow"
    assert pl.read_ipc(path).equals(written)
    other = pl.DataFrame({"task_id": ["n:t003"], "text": ["另一个进程写的"]})
    other.write_ipc(path.with_name("elsewhere.arrow"), compression="uncompressed")
    os.replace(path.with_name("elsewhere.arrow"), path)  # another process's run rewrote it
    reloaded = manager.load_input(dg.build_input_context(asset_key=key))
    assert reloaded is not written and reloaded.equals(other)


def _table_io(tmp_path):
    import dagster as dg

    from pipelines.storage import TableIOManager

    return TableIOManager(base_dir=str(tmp_path)), dg.AssetKey("tasks"), tmp_path / "tasks.arrow"


def test_a_reader_in_another_process_waits_while_a_table_file_is_still_being_written(tmp_path):
    """A run in another process must not take the previous table for the one being written."""
    import subprocess
    import sys
    import threading

    import dagster as dg
    import polars as pl

    manager, key, path = _table_io(tmp_path)
    old = pl.DataFrame({"task_id": ["n:t001"], "text": ["上次的表"]})
    new = pl.DataFrame({"task_id": ["n:t001", "n:t002"], "text": ["上次的表", "这次新增"]})
    old.write_ipc(path)
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # a live writer process
    marker = path.with_name(".tasks.arrow.writing")
    marker.write_text(str(writer.pid), encoding="ascii")

    def finish_writing() -> None:
        new.write_ipc(path.with_name("tmp.arrow"))
        path.with_name("tmp.arrow").replace(path)
        marker.unlink()

    timer = threading.Timer(0.3, finish_writing)
    timer.start()
    try:
        loaded = manager.load_input(dg.build_input_context(asset_key=key))
    finally:
        timer.join()
        writer.kill()
        writer.wait()
    assert loaded.equals(new)


def test_a_marker_left_by_a_writer_that_died_does_not_block_readers(tmp_path, monkeypatch):
    import subprocess
    import sys

    import dagster as dg
    import polars as pl

    import pipelines.storage

    monkeypatch.setattr(pipelines.storage, "WRITER_WAIT_SECONDS", 5.0)  # a reader that waited would fail, not hang
    manager, key, path = _table_io(tmp_path)
    table = pl.DataFrame({"task_id": ["n:t001"], "text": ["推进改革"]})
    table.write_ipc(path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # a writer that exited mid-write
    dead.wait()
    path.with_name(".tasks.arrow.writing").write_text(str(dead.pid), encoding="ascii")
    assert manager.load_input(dg.build_input_context(asset_key=key)).equals(table)


def test_a_table_file_that_could_not_be_written_is_removed_and_reported(tmp_path, monkeypatch):
    """The materialisation is recorded before the file is written: a failed write must not leave the old table."""
    import dagster as dg
    import polars as pl
    import pytest

    from pipelines.storage import wait_for_table_writes

    manager, key, path = _table_io(tmp_path)
    pl.DataFrame({"task_id": ["n:t000"], "text": ["上次的表"]}).write_ipc(path)

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_ipc", disk_full)
    manager.handle_output(dg.build_output_context(asset_key=key), pl.DataFrame({"task_id": ["n:t001"], "text": ["新"]}))
    with pytest.raises(OSError, match=r"tasks\.arrow.*No space left"):
        wait_for_table_writes()
    assert not path.exists() and not path.with_name(".tasks.arrow.writing").exists()
    with pytest.raises(FileNotFoundError):
        manager.load_input(dg.build_input_context(asset_key=key))
    wait_for_table_writes()  # reported once: nothing left to raise
