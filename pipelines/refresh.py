"""Which notices need (re)parsing: new partitions and files whose bytes changed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.ingest.read import sha256_bytes


def last_sha256(instance: dg.DagsterInstance, key: str) -> str | None:
    """The raw SHA-256 recorded by the last ``raw_notice`` materialisation of a partition."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("raw_notice"), asset_partitions=[key]), limit=1
    ).records
    if not records:
        return None
    mat = records[0].asset_materialization
    value = mat.metadata.get("raw_sha256") if mat else None
    return str(value.value) if value is not None else None


def notices_to_run(instance: dg.DagsterInstance, files: dict[str, Path]) -> list[str]:
    """Partition keys whose file is new or changed since it was last parsed."""
    return [key for key, path in files.items() if last_sha256(instance, key) != sha256_bytes(path.read_bytes())]
