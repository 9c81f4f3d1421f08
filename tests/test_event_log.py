"""The pooled SQLite event log: what one process writes, another reads, and the other way round."""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
from dagster._core.events.log import EventLogEntry

from pipelines.cli import _instance
from pipelines.event_log import PooledSqliteEventLogStorage

ROOT = Path(__file__).resolve().parents[1]


@dg.asset
def counted() -> int:
    return 1


def _materializations(instance: dg.DagsterInstance) -> int:
    return len(instance.fetch_materializations(dg.AssetKey("counted"), limit=100).records)


def test_build_state_uses_the_pooled_event_log_and_another_process_shares_it(tmp_path):
    state = tmp_path / "state"
    instance = _instance(state)
    assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
    assert dg.materialize([counted], instance=instance).success
    # A second process (the UI, or a run launched by the daemon) on the same files.
    other = textwrap.dedent(
        f"""
        import dagster as dg
        from tests.test_event_log import counted, _materializations
        instance = dg.DagsterInstance.from_config({str(state)!r})
        assert type(instance.event_log_storage).__name__ == "PooledSqliteEventLogStorage"
        assert _materializations(instance) == 1, "the first process's event is not visible"
        assert dg.materialize([counted], instance=instance).success
        """
    )
    subprocess.run([sys.executable, "-c", other], cwd=ROOT, check=True, capture_output=True)
    assert _materializations(instance) == 2  # the other process's event, through the open connection
    assert dg.materialize([counted], instance=instance).success
    assert _materializations(instance) == 3


def test_wipe_closes_the_connections_before_removing_the_run_files(tmp_path):
    instance = _instance(tmp_path / "state")
    assert dg.materialize([counted], instance=instance).success
    instance.wipe()
    assert _materializations(instance) == 0
    assert dg.materialize([counted], instance=instance).success
    assert _materializations(instance) == 1


def test_a_dagster_yaml_of_ones_own_is_left_alone(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    instance = _instance(state)
    assert (state / "dagster.yaml").read_text(encoding="utf-8") == "telemetry:\n  enabled: false\n"
    assert not isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)


def _message(run_id: str, text: str) -> EventLogEntry:
    return EventLogEntry(error_info=None, level=20, user_message=text, run_id=run_id, timestamp=time.time())


def test_a_watcher_sees_a_running_runs_events_as_they_are_written(tmp_path):
    # The UI streams a running run's log through watch(); with the connections
    # kept open the events land in the -wal file, not the .db file.
    writer = PooledSqliteEventLogStorage(str(tmp_path))
    reader = PooledSqliteEventLogStorage(str(tmp_path))
    run_id = "r" * 36
    writer.store_event(_message(run_id, "started"))
    seen: list[str] = []
    reader.watch(run_id, None, lambda entry, _cursor: seen.append(entry.user_message))
    try:
        time.sleep(0.5)  # the observer thread starts watching
        for k in range(5):
            writer.store_event(_message(run_id, f"step {k}"))
        deadline = time.monotonic() + 10
        while len(seen) < 6 and time.monotonic() < deadline:
            time.sleep(0.1)
        # Still running: the writer has not closed its connections.
        assert seen == ["started"] + [f"step {k}" for k in range(5)]
    finally:
        reader.dispose()
        writer.dispose()


def test_the_index_is_synced_and_a_runs_own_file_is_not(tmp_path):
    """What the next build reads (the index) keeps SQLite's WAL advice; a run's event stream is never synced."""
    instance = _instance(tmp_path / "state")
    with instance:
        result = dg.materialize([counted], instance=instance)
        storage = instance.event_log_storage
        levels = {}
        for shard in ("index", result.run_id):
            with storage._connect(shard) as conn:
                levels[shard] = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert levels == {"index": 1, result.run_id: 0}  # NORMAL, OFF


def test_runs_files_are_copies_of_one_set_up_by_dagster_once(tmp_path, monkeypatch):
    """Dagster sets up the index and one empty run file; every run's file is a copy; all read back."""
    from pipelines import event_log

    monkeypatch.setattr(event_log, "_empty_run_file", None)
    setups = []
    real = PooledSqliteEventLogStorage._initdb

    def counted_initdb(self, engine, *args, **kwargs):
        setups.append(engine.url.database)
        return real(self, engine, *args, **kwargs)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "_initdb", counted_initdb)
    instance = _instance(tmp_path / "state")
    with instance:
        runs = [dg.materialize([counted], instance=instance).run_id for _ in range(3)]
        assert _materializations(instance) == 3
        for run_id in runs:
            kinds = {r.event_log_entry.dagster_event_type for r in instance.get_records_for_run(run_id).records}
            assert dg.DagsterEventType.RUN_SUCCESS in kinds
    run_files = [path for path in setups if not path.endswith("index.db")]
    assert len(run_files) == 1 and run_files[0].endswith("template.db")  # not one per run
