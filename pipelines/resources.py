"""Where the pipeline reads notices and writes releases (a Dagster resource)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pipelines.ingest.read import list_notice_files


class PipelinePaths(dg.ConfigurableResource):
    """``raw_dir``: the notices; ``published_dir``: the releases."""

    raw_dir: str = os.environ.get("POLICY_TASKS_RAW", "raw")
    published_dir: str = os.environ.get("POLICY_TASKS_PUBLISHED", "published")

    @property
    def raw(self) -> Path:
        return Path(self.raw_dir)

    @property
    def published(self) -> Path:
        return Path(self.published_dir)

    def notice_path(self, key: str) -> Path:
        """The file behind a partition key (keys come from file names, never the reverse)."""
        files = list_notice_files(self.raw)
        if key not in files:
            raise dg.Failure(f"no file in {self.raw} has partition key {key!r}")
        return files[key]
