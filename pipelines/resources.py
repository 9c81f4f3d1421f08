"""Where the pipeline reads notices and writes releases (a Dagster resource)."""

import os
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from pipelines.ingest.read import list_notice_files


class PipelinePaths(dg.ConfigurableResource):
    """``raw_dir``: the notices; ``published_dir``: the releases; ``state_dir``: intermediate state."""

    raw_dir: str = os.environ.get("POLICY_TASKS_RAW", "raw")
    published_dir: str = os.environ.get("POLICY_TASKS_PUBLISHED", "published")
    state_dir: str = os.environ.get("POLICY_TASKS_STORAGE", ".policy_tasks_state/storage")

    # raw/ listed once per run (a resource is set up per run), not once per key:
    # a backfill of N partitions would otherwise list N files N times.
    _files: dict[str, Path] | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._files = None

    @property
    def raw(self) -> Path:
        return Path(self.raw_dir)

    @property
    def published(self) -> Path:
        return Path(self.published_dir)

    @property
    def table_store(self) -> Path:
        """The combined rows of every parsed notice (:class:`pipelines.table_store.TableStore`)."""
        return Path(self.state_dir) / "table_store"

    @property
    def raw_scan_cache(self) -> Path:
        """The sensor's hashes of the files in raw/ by stamp (:func:`pipelines.sensors.load_scan_cache`)."""
        return Path(self.state_dir) / "raw_scan.json"

    def notice_files(self, refresh: bool = False) -> dict[str, Path]:
        """Notice files of ``raw_dir`` by partition key, listed once and reused."""
        if refresh or self._files is None:
            self._files = list_notice_files(self.raw)
        return self._files

    def notice_path(self, key: str) -> Path:
        """The file behind a partition key (keys come from file names, never the reverse)."""
        files = self.notice_files()
        if key not in files or not files[key].is_file():  # landed, renamed or removed since the listing
            files = self.notice_files(refresh=True)
        if key not in files:
            raise dg.Failure(f"no file in {self.raw} has partition key {key!r}")
        return files[key]
