"""Publish a release: write, validate, then move into place (all or nothing).

A release is ``<out>/<dataset>/<version>/`` with ``datapackage.json``, one UTF-8
CSV per table and the same tables as Parquet. It is written to a hidden
temporary folder, validated with Frictionless, and renamed into place; only
then does ``latest`` move. A failure leaves the previous release untouched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frictionless
import polars as pl

from pipelines.publish.descriptor import DATASET, package_descriptor, resource_descriptor
from schemas.tables import TABLES

LOCK_WAIT_SECONDS = 120


class PublishError(RuntimeError):
    """The release failed validation or could not be written; nothing was published."""


@dataclass(frozen=True)
class Release:
    path: Path
    version: str
    created: str
    new: bool  # False when an identical release already existed


def csv_bytes(df: pl.DataFrame) -> bytes:
    """UTF-8 CSV, dates ISO, nulls empty: the same frame always gives the same bytes."""
    buf = io.BytesIO()
    df.write_csv(buf, null_value="", date_format="%Y-%m-%d")
    return buf.getvalue()


def created_timestamp(notices: pl.DataFrame) -> str:
    """Build time from the inputs, not the wall clock, so rebuilds are identical.

    ``SOURCE_DATE_EPOCH`` wins when set (the reproducible-builds convention);
    otherwise the newest notice date.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        moment = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    else:
        dates = notices.get_column("published_date").drop_nulls() if notices.height else pl.Series([], dtype=pl.Date)
        day = dates.max() if dates.len() else dt.date(1970, 1, 1)
        moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sources(notices: pl.DataFrame) -> list[dict[str, Any]]:
    """One ``sources`` entry per notice: what a citation of the input needs."""
    out = []
    for row in notices.iter_rows(named=True):
        entry = {
            "title": row["title"],
            "path": f"raw/{row['file_name']}",
            "issuer": row["issuer"],
            "doc_number": row["doc_number"],
            "date": row["published_date"].isoformat() if row["published_date"] else None,
            "sha256": row["raw_sha256"],
        }
        out.append({k: v for k, v in entry.items() if v is not None})
    return out


@contextlib.contextmanager
def publish_lock(dataset_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """One publisher at a time per dataset; a second one waits, then fails clearly."""
    dataset_dir.mkdir(parents=True, exist_ok=True)
    with open(dataset_dir / ".lock", "w") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() > deadline:
                    raise PublishError(
                        f"another build is publishing to {dataset_dir}; gave up after {wait:.0f} s"
                    ) from exc
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def frictionless_errors(descriptor_path: Path, limit: int = 20) -> list[str]:
    """Frictionless validation of a written package: one line per error (empty when valid)."""
    report = frictionless.validate(str(descriptor_path))
    if report.valid:
        return []
    lines = []
    for task in report.tasks:
        for error in task.errors[:limit]:
            lines.append(f"{task.name}: {error.type}: {error.message}")
    for error in report.errors[:limit]:
        lines.append(f"package: {error.type}: {error.message}")
    return lines[:limit] or ["frictionless reported the package invalid"]


def point_latest(dataset_dir: Path, version: str) -> None:
    """Atomically repoint ``latest`` (a relative symlink) at ``version``."""
    tmp = dataset_dir / f".latest-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(version)
    os.replace(tmp, dataset_dir / "latest")


def write_release(frames: dict[str, pl.DataFrame], out_dir: Path) -> Release:
    """Write, validate and atomically publish a release of all tables."""
    encoded = {name: csv_bytes(frames[name]) for name in TABLES}
    digest = hashlib.sha256()
    for name, data in encoded.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    created = created_timestamp(frames["notices"])
    version = f"{created[:10].replace('-', '.')}-{digest.hexdigest()[:8]}"
    dataset_dir = out_dir / DATASET
    with publish_lock(dataset_dir):
        final = dataset_dir / version
        if final.is_dir():
            point_latest(dataset_dir, version)
            return Release(final, version, created, new=False)
        tmp = dataset_dir / f".tmp-{version}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            (tmp / "parquet").mkdir(parents=True)
            resources = []
            for name, data in encoded.items():
                (tmp / f"{name}.csv").write_bytes(data)
                frames[name].write_parquet(tmp / "parquet" / f"{name}.parquet", statistics=False)
                resources.append(
                    resource_descriptor(
                        TABLES[name], f"{name}.csv", len(data), hashlib.sha256(data).hexdigest(), frames[name].height
                    )
                )
            descriptor = package_descriptor(version, created, resources, sources(frames["notices"]))
            (tmp / "datapackage.json").write_text(
                json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
            errors = frictionless_errors(tmp / "datapackage.json")
            if errors:
                raise PublishError("release failed Frictionless validation:\n" + "\n".join(errors))
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        point_latest(dataset_dir, version)
        return Release(final, version, created, new=True)
