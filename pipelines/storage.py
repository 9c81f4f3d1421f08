"""An IO manager that stores one pickle per partition, also in single-run backfills.

Dagster's filesystem IO manager refuses an output covering several partitions;
a single-run backfill over many notices produces exactly that, as a
``{partition_key: value}`` mapping. This one writes each partition to its own
file, so later runs (and the tables) load them one by one.
"""

from __future__ import annotations

import os
import pickle
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


# The tables this process wrote, by file, with the file's stamp just after: a step in
# the same process (the CLI runs a job in one) loads the frame itself instead of a
# memory map of the file, as long as the file still carries that stamp.
_held: dict[str, tuple[list[int], pl.DataFrame]] = {}


class TableIOManager(dg.ConfigurableIOManager):
    """The published tables between steps: one uncompressed Arrow IPC file per table.

    Pickling a Polars frame copies it through Python; Arrow IPC is written in
    one pass and read back memory-mapped, which matters for the three steps
    (tables, their GX check, the release) that pass every table along.

    A step in the process that wrote a table gets the very frame back while
    the file is as written (same size, inode and times): the steps after then
    see the object the tables step built, so comparing it with what was
    encoded ahead (:func:`pipelines.publish.release.prepare_release`) is an
    identity test instead of reading every cell of a memory map (and faulting
    its pages in).
    """

    base_dir: str

    def _path(self, key: dg.AssetKey) -> Path:
        return Path(self.base_dir).joinpath(*key.path).with_suffix(".arrow")

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        obj.write_ipc(tmp, compression="uncompressed")
        os.replace(tmp, path)  # a reader sees the old table or the new one, never half of one
        _held[str(path)] = (file_stamp(path), obj)

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        path = self._path(context.asset_key)
        held = _held.get(str(path))
        try:
            if held is not None and file_stamp(path) == held[0]:
                return held[1]
        except OSError:
            pass
        return pl.read_ipc(path, memory_map=True)
