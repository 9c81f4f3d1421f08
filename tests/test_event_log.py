"""The pooled SQLite event log: what one process writes, another reads, and the other way round."""

import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg

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
