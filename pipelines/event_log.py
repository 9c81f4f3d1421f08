"""Dagster's SQLite event log, keeping its database connections open.

The stock ``SqliteEventLogStorage`` creates an SQLAlchemy engine, opens a
connection and disposes of both for every event it stores. Closing the last
connection of a WAL database checkpoints it (an fsync), and every new engine
compiles its SQL again. That came to about 25 ms per event here, and a build
of 1,000 notices stores about 6,000 events, so the event log was the largest
cost of a build.

This subclass keeps one pooled engine per database file in use (the index and
the runs being written), at most ``MAX_ENGINES``. The index (the asset
materialisations and checks a refresh reads) has ``synchronous=NORMAL``,
SQLite's advice for WAL: a commit no longer waits for the disk, and a crash of
the machine can lose the last events but never corrupts the database. A run's
own file (its event stream) has ``synchronous=OFF``: SQLite then never syncs
it, not even when it copies its WAL into the file, and those copies had made a
publish wait. On ext4 an fsync also waits for other files' pending writes,
and a release writes 640 MB beside the run (a thousand notices): the commit
that crossed the WAL's checkpoint threshold took 0.3 to 0.7 s. A crash of the
machine (not of the process) while a run is being written may damage that
run's event file; the index, and so what the next build parses again, is
unaffected.

Each run gets a new file, which Dagster set up with SQLAlchemy and Alembic
(create every table, stamp the revision): 60 ms, twice for a build that adds a
notice. Here a run's new file is a copy of one set up that way once per
process (:meth:`PooledSqliteEventLogStorage._new_run_file`). Everything else is
Dagster's own code, so the files stay readable by a stock instance (``dagster
dev`` without this config).

Commits now land in the run's ``-wal`` file, and the ``.db`` file changes only
at SQLite's checkpoints, so the live view of a running run (Dagster's
watcher, which waits for the ``.db`` file to change) also watches the
``-wal`` file here. A stock instance reading these files sees a running run's
events when it ends or is refreshed, not as they come.

It is wired in by the ``dagster.yaml`` that ``policy-tasks build`` writes
into its state folder (:data:`INSTANCE_YAML`).
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from dagster._core.event_api import EventHandlerFn
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS, create_db_conn_string
from dagster._serdes import ConfigurableClassData
from watchdog.events import FileSystemEvent
from watchdog.observers import Observer

_empty_run_file: bytes | None = None  # a run's database file as Dagster sets it up, before any event
MAX_ENGINES = 8  # a long-lived process (the UI) reads many runs: keep only the recent files open

INSTANCE_YAML = """\
# Written by policy-tasks build, which rewrites it while it starts with that line.
# Dagster's SQLite storage, its event log keeping its connections open
# (pipelines/event_log.py). For a storage of your own, replace the whole file.
event_log_storage:
  module: pipelines.event_log
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {base_dir}
# The daemon retries a failed run tagged dagster/max_retries (the sensor's notice
# runs): the sensor asks for a run once per content, so it would not ask again.
run_retries:
  enabled: true
# One run at a time among those that write the tables (pipelines/automation.py).
run_queue:
  tag_concurrency_limits:
    - key: policy_tasks/tables
      limit: 1
"""


def _synchronous(shard: str) -> str:
    """SQLite's sync level for one of the event log's files (see the module doc)."""
    return "NORMAL" if shard == INDEX_SHARD_NAME else "OFF"


class _WalWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watcher of one run's events, woken by its ``-wal`` file as well as its ``.db`` file."""

    @property
    def patterns(self) -> list[str]:
        return [self._log_path, self._log_path + "-wal"]

    def on_modified(self, event: FileSystemEvent) -> None:
        self._process_log()  # the parent's asserts the path is the .db file


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with one open, pooled engine per database file."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._pid = os.getpid()
        super().__init__(base_dir, inst_data)

    def _new_run_file(self, shard: str) -> bool:
        """Create a run's database file as a copy of an empty one Dagster set up; False if it exists.

        The empty file is made once per process, in a temporary folder, by
        Dagster's own ``_initdb`` (so it has this Dagster's tables and Alembic
        stamp), then closed, which folds its WAL into the file. Created with
        O_EXCL: a file another process made first is left to Dagster's check.
        """
        global _empty_run_file
        if _empty_run_file is None:
            with tempfile.TemporaryDirectory(prefix="policy-tasks-eventlog-") as tmp:
                engine = sa.create_engine(create_db_conn_string(tmp, "template"), poolclass=sa.pool.NullPool)
                try:
                    self._initdb(engine)
                finally:
                    engine.dispose()
                with open(os.path.join(tmp, "template.db"), "rb") as fh:
                    _empty_run_file = fh.read()
        try:
            fd = os.open(self.path_for_shard(shard), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(_empty_run_file)
        return True

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _drop_engines(self) -> None:
        """Close every engine; in a forked child, let go of the parent's without closing them."""
        # SQLite connections must not be used across fork(), and closing them
        # in the child would act on the parent's (SQLAlchemy: dispose(close=False)).
        close = os.getpid() == self._pid
        while self._engines:
            self._engines.popitem()[1].dispose(close=close)
        self._pid = os.getpid()

    def _engine(self, shard: str) -> sa.Engine:
        if os.getpid() != self._pid:
            self._drop_engines()
        engine = self._engines.get(shard)
        if engine is None:
            engine = sa.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=sa.pool.QueuePool,
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            pragma = f"PRAGMA synchronous={_synchronous(shard)}"
            sa.event.listen(engine, "connect", lambda dbapi_connection, _record: dbapi_connection.execute(pragma))
            self._engines[shard] = engine
            while len(self._engines) > MAX_ENGINES:
                self._engines.popitem(last=False)[1].dispose()
        self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        # As the parent's, but the engine outlives the call.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                if shard == INDEX_SHARD_NAME or not self._new_run_file(shard):
                    self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _dispose_engines(self) -> None:
        with self._db_lock:
            self._drop_engines()

    def watch(self, run_id: str, cursor: str | None, callback: EventHandlerFn) -> None:
        # As the parent's, with the watcher that also wakes on the -wal file.
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = _WalWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watchdog, self._obs.schedule(watchdog, self._base_dir, recursive=True))

    def wipe(self) -> None:
        self._dispose_engines()  # before the run files are deleted under them
        super().wipe()

    def dispose(self) -> None:
        super().dispose()  # first: it stops the watcher thread, which reads through the engines
        self._dispose_engines()
