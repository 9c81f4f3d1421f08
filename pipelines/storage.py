"""An IO manager that stores one pickle per partition, also in single-run backfills.

Dagster's filesystem IO manager refuses an output covering several partitions;
a single-run backfill over many notices produces exactly that, as a
``{partition_key: value}`` mapping. This one writes each partition to its own
file, so later runs (and the tables) load them one by one.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from upath import UPath

from pipelines.atomic import write_atomic
from pipelines.publish.stamps import file_stamp


class PartitionFiles(Mapping[str, Any]):
    """``{partition key: stored value}`` read lazily, with a stamp per stored file.

    The tables take every parsed notice as input but read only those whose
    file changed since they last combined it; the stamp (modification time,
    change time and size) changes whenever a partition is written again.
    """

    def __init__(self, folder: Path, keys: list[str], extension: str) -> None:
        self._folder, self._keys, self._ext = folder, list(keys), extension

    def _path(self, key: str) -> Path:
        return self._folder / f"{key}{self._ext}"

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return pickle.loads(self._path(key).read_bytes())

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def stamps(self) -> dict[str, str]:
        # The change time too: a tool that restores the modification time of a
        # same-size rewrite cannot set it back (os.utime leaves it alone).
        stats = {key: self._path(key).stat() for key in self._keys}
        return {key: f"{st.st_mtime_ns}-{st.st_ctime_ns}-{st.st_size}" for key, st in stats.items()}


class PartitionedPickleIOManager(dg.UPathIOManager):
    extension = ".pkl"

    @staticmethod
    def _local(path: UPath) -> bool:
        return path.protocol in ("", "file", "local")

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        if not self._local(path):
            path.write_bytes(data)
            return
        write_atomic(Path(str(path)), data)  # the tables (another run) never read half a pickle

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        return pickle.loads(path.read_bytes())

    def load_input(self, context: dg.InputContext) -> Any:
        # Every partition of an upstream (the tables take all notices) comes as
        # a lazy mapping when the store is on the local disk: a reader loads
        # only what it needs. Same paths as the base class writes.
        keys = context.asset_partition_keys if context.has_asset_partitions else []
        if len(keys) > 1 and self._local(self._base_path):
            folder = Path(str(self._base_path)).joinpath(*context.asset_key.path)
            if (context.definition_metadata or {}).get("allow_missing_partitions"):
                # As the base class does with this input metadata: skip, and say so.
                missing = {k for k in keys if not (folder / f"{k}{self.extension}").is_file()}
                for key in sorted(missing):
                    context.log.warning(self.get_missing_partition_log_message(key))
                keys = [k for k in keys if k not in missing]
            return PartitionFiles(folder, keys, self.extension)
        return super().load_input(context)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if context.has_asset_partitions and len(context.asset_partition_keys) > 1:
            for key, path in self._get_paths_for_partitions(context).items():
                self.make_directory(path.parent)
                self.dump_to_path(context, obj[key], path)
            context.add_output_metadata({"partitions_written": len(context.asset_partition_keys)})
            return
        super().handle_output(context, obj)


class NoticeStorage(dg.ConfigurableIOManagerFactory):
    """Pickles under ``base_dir``, one file per asset partition."""

    base_dir: str

    def create_io_manager(self, context: dg.InitResourceContext) -> PartitionedPickleIOManager:
        return PartitionedPickleIOManager(base_path=UPath(self.base_dir))


# The tables this process wrote, by file: the frame, and the file's stamp once it is
# written (None while its write is under way). A step in the same process (the CLI
# runs a job in one) takes the frame itself instead of a memory map of the file, as
# long as the file is the one written (or is still being written from this frame).
_held: dict[str, tuple[list[int] | None, pl.DataFrame]] = {}
# Table files being written in the background, and the writes that failed, by file.
_writing: dict[str, threading.Thread] = {}
_failed: dict[str, str] = {}
# How long a reader in another process waits for a table file still being written.
WRITER_WAIT_SECONDS = 600.0
log = logging.getLogger(__name__)


def _marker(path: Path) -> Path:
    """Beside a table file while a process writes it; holds the writer's process id."""
    return path.with_name(f".{path.name}.writing")


def _alive(pid: int, path: Path) -> bool:
    """Whether process ``pid`` may still be writing ``path`` (this process: whether its thread for it runs)."""
    if pid == os.getpid():
        thread = _writing.get(str(path))
        return thread is not None and thread.is_alive()
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except PermissionError:
        return True  # it exists, under another user
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    return True


def _write_table(path: Path, frame: pl.DataFrame) -> None:
    """Write ``frame`` over ``path`` (whole: a reader sees the old table or the new), then drop its marker."""
    key = str(path)
    try:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        frame.write_ipc(tmp, compression="uncompressed")
        os.replace(tmp, path)
        _held[key] = (file_stamp(path), frame)
    except BaseException as exc:
        # The materialisation is recorded already: no reader may take the previous table for this one.
        _held.pop(key, None)
        path.unlink(missing_ok=True)
        _failed[key] = f"{type(exc).__name__}: {exc}"
        log.error("writing the table file %s failed: %s", path, _failed[key])
    finally:
        _marker(path).unlink(missing_ok=True)


def _join_writes(keys: list[str]) -> None:
    for key in keys:
        thread = _writing.pop(key, None)
        if thread is not None:
            thread.join()


def wait_for_table_writes(path: Path | None = None) -> None:
    """Wait for this process's table files being written (all, or ``path``'s); raise if one failed."""
    keys = [str(path)] if path is not None else [*_writing, *_failed]
    _join_writes(keys)
    failed = {key: _failed.pop(key) for key in keys if key in _failed}
    if failed:
        raise OSError("table file(s) not written: " + "; ".join(f"{k}: {why}" for k, why in failed.items()))


def _wait_for_writer(path: Path) -> None:
    """Wait while another process (or a thread of this one) is still writing ``path``."""
    marker = _marker(path)
    timeout = WRITER_WAIT_SECONDS
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid = int(marker.read_text(encoding="ascii") or 0)
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            pid = 0  # not a marker of ours (ours are written whole): look again
        if pid and not _alive(pid, path):
            return  # its writer is gone: what the file holds is what it left
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} is still being written by process {pid} after {timeout:.0f} s")
        time.sleep(0.01)


class TableIOManager(dg.ConfigurableIOManager):
    """The published tables between steps: one uncompressed Arrow IPC file per table.

    Pickling a Polars frame copies it through Python; Arrow IPC is written in
    one pass and read back memory-mapped, which matters for the three steps
    (tables, their GX check, the release) that pass every table along.

    The files are written in the background (~300 MB at 1 000 notices): the
    steps after, in this process, take the very frame (an identity test then
    tells :func:`pipelines.publish.release.prepare_release` that it encoded
    these tables), so the GX check starts while the files are written. A
    reader in another process waits while the ``.writing`` marker beside a file
    names a live writer. :func:`wait_for_table_writes` joins the writes (the CLI
    does before it returns) and raises if one failed; a failed write removes
    the file, so that no reader takes the previous table for the new one.
    """

    base_dir: str

    def _path(self, key: dg.AssetKey) -> Path:
        return Path(self.base_dir).joinpath(*key.path).with_suffix(".arrow")

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        wait_for_table_writes(path)  # an earlier write of this file lands first
        write_atomic(_marker(path), str(os.getpid()))  # whole: a reader never finds it empty
        _held[str(path)] = (None, obj)
        thread = threading.Thread(target=_write_table, args=(path, obj), name=f"write-{path.stem}")
        _writing[str(path)] = thread  # not a daemon: the interpreter waits for it before it exits
        thread.start()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # The end of the run (in one process) or of the step (a process per step):
        # the files are whole before this process can exit, whatever exits it.
        _join_writes(list(_writing))

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        path = self._path(context.asset_key)
        held = _held.get(str(path))
        try:
            if held is not None and (held[0] is None or file_stamp(path) == held[0]):
                return held[1]
        except OSError:
            pass
        _wait_for_writer(path)
        return pl.read_ipc(path, memory_map=True)
