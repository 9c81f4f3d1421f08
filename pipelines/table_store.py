"""The rows every parsed notice contributes, kept combined and updated per changed notice.

Combining the tables used to unpickle every parsed notice on every build: with
a thousand notices that was most of what adding one cost. The store keeps each
table's rows from all parsed notices (one Arrow file per table, each row tagged
with its partition key ``_key`` and its position in the notice ``_pos``) and an
index of the notices. An update reads only the partitions whose stored output
changed (by a stamp the IO manager gives), drops the rows of changed and
removed partitions and appends the new ones.

On disk the rows are segments: an update writes one new segment holding the
rows of the partitions it read, plus a new index saying which segment holds
each partition's rows, and commits both by replacing ``store.json``. Adding
one notice to a thousand writes that notice's rows, not the thousand's
(rewriting every table was most of what combining cost). Rows a newer segment
supersedes are filtered out when read. When there are many segments, all but
the largest are merged into one; when superseded rows take up a large part of
them, every live row is compacted into one segment.

:func:`published_tables` turns the store into the published tables: one
notice per content hash (the other copies become rejects), rows ordered by
notice and position, units merged across notices. :func:`combine` does the same
from scratch; both go through the same code, so an incremental build and a
full one give the same tables.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.atomic import write_atomic
from pipelines.combine import NOTICE_TABLES, as_tuples, frame
from schemas.tables import TABLES, polars_schema

ROW_TABLES = [*NOTICE_TABLES, "units"]  # units: per notice here, merged when published
INDEX_SCHEMA = pl.Schema(
    {
        "_key": pl.String,
        "stamp": pl.String,
        "notice_id": pl.String,
        "file_name": pl.String,
        "raw_sha256": pl.String,
        "stage": pl.String,
        "reason": pl.String,
        "parsed": pl.Boolean,
        "segment": pl.String,  # the segment that holds this partition's rows
    }
)
LAYOUT = 2  # bump when the store's layout changes: an old store is then rebuilt
MAX_SEGMENTS = 8  # this many, and an update merges all but the largest into one
MAX_STALE = 0.25  # or when this share of the stored partitions' rows is superseded


def row_schema(table: str) -> pl.Schema:
    return pl.Schema({**polars_schema(table), "_key": pl.String, "_pos": pl.Int64})


def empty_rows() -> dict[str, pl.DataFrame]:
    return {t: pl.DataFrame(schema=row_schema(t)) for t in ROW_TABLES}


def notice_rows(outcomes: Mapping[str, Any]) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """Index rows and table rows (tagged ``_key``/``_pos``) of some parsed outcomes."""
    keys = sorted(outcomes)
    index = []
    for key in keys:
        o = outcomes[key]
        index.append(
            {
                "_key": key,
                "stamp": None,
                "notice_id": o.raw.notice_id,
                "file_name": o.raw.file_name,
                "raw_sha256": o.raw.raw_sha256,
                "stage": o.rejection.stage if o.rejection else None,
                "reason": o.rejection.reason if o.rejection else None,
                "parsed": o.parsed is not None,
                "segment": None,
            }
        )
    rows = {}
    for table in ROW_TABLES:
        parsed = [(key, outcomes[key].parsed.rows[table]) for key in keys if outcomes[key].parsed is not None]
        df = frame(table, [row for _, part in parsed for row in as_tuples(table, part)])
        key_col = [key for key, part in parsed for _ in range(len(part))]
        df = df.with_columns(pl.Series("_key", key_col, dtype=pl.String))
        rows[table] = df.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("_key").alias("_pos"))
    return pl.DataFrame(index, schema=INDEX_SCHEMA), rows


def _kept_and_duplicates(index: pl.DataFrame) -> tuple[list[str], list[dict[str, Any]]]:
    """Keys published and duplicate rejects: one notice per content hash, the first key wins."""
    kept: list[str] = []
    first: dict[str, str] = {}
    rejects: list[dict[str, Any]] = []
    for row in index.sort("_key").iter_rows(named=True):
        digest = row["raw_sha256"]
        if row["parsed"] and digest in first:
            rejects.append(
                {
                    "file_name": row["file_name"],
                    "notice_id": row["notice_id"],
                    "raw_sha256": digest,
                    "stage": "combine",
                    "reason": f"duplicate of notice {first[digest]} (identical bytes, sha256 {digest[:12]}…)",
                }
            )
            continue
        if row["parsed"] and digest:
            first[digest] = row["notice_id"]
        kept.append(row["_key"])
    return kept, rejects


def published_tables(index: pl.DataFrame, rows: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The published tables from the store: deduplicated, ordered, units merged."""
    kept, duplicates = _kept_and_duplicates(index)
    kept_index = index.filter(pl.col("_key").is_in(pl.Series(kept, dtype=pl.String).implode()))
    # Rows in notice order, then in their order within the notice: one integer sort key
    # (the notice's rank, then the position) sorts far faster than two strings and a number.
    order = kept_index.sort(["notice_id", "_key"]).select("_key", pl.int_range(pl.len(), dtype=pl.Int64).alias("_rank"))
    frames = {
        table: rows[table].join(order, on="_key", how="inner").sort(pl.col("_rank") * (1 << 32) + pl.col("_pos"))
        for table in ROW_TABLES
    }
    for table in NOTICE_TABLES:
        frames[table] = frames[table].select(list(polars_schema(table)))
    # One row per unit: the first notice's attributes, the aliases of all notices.
    unit_schema = polars_schema("units")
    frames["units"] = (
        frames["units"]
        .with_columns(pl.col("aliases").str.split("|"))
        .group_by("unit_id", maintain_order=True)
        .agg(
            pl.col("aliases").flatten().unique().sort().str.join("|"),
            *(pl.col(c).first() for c in unit_schema if c not in ("unit_id", "aliases")),
        )
        .sort("unit_id")
        .select(list(unit_schema))
        .cast(dict(unit_schema))
    )
    rejected = kept_index.filter(pl.col("stage").is_not_null()).sort("_key")
    rejects = rejected.select(list(polars_schema("rejects"))).to_dicts()
    frames["rejects"] = frame("rejects", sorted(rejects + duplicates, key=lambda r: r["notice_id"]))
    return {name: frames[name] for name in TABLES}


def combine(outcomes: Mapping[str, Any]) -> dict[str, pl.DataFrame]:
    """All published tables from the per-notice outcomes, from scratch."""
    index, rows = notice_rows(outcomes)
    return published_tables(index, rows)


@dataclass(frozen=True)
class StoreUpdate:
    """What an update read: partitions parsed anew, removed, and kept from the store."""

    read: int
    removed: int
    kept: int
    rebuilt: str | None = None  # why the whole store was rebuilt, if it was


class TableStore:
    """The combined rows on disk under ``folder`` (Arrow IPC files plus an index)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        # Two runs combining at once (the sensor's and a CLI build) take turns.
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        with open(self.folder.parent / f".{self.folder.name}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _load(self) -> tuple[pl.DataFrame, dict[str, pl.DataFrame], list[dict[str, Any]]] | str:
        """The stored index, the live rows of every segment and the segment list, or why they cannot be used."""
        try:
            meta = json.loads((self.folder / "store.json").read_text(encoding="utf-8"))
            if meta.get("layout") != LAYOUT:
                return "store layout changed"
            index = pl.read_ipc(self.folder / meta["index"], memory_map=False)
            segments = list(meta["segments"])
            # Memory-mapped: the big segment is not copied, only filtered when it has superseded rows.
            parts = {
                seg["name"]: {
                    t: pl.read_ipc(self.folder / seg["name"] / f"{t}.arrow", memory_map=True) for t in ROW_TABLES
                }
                for seg in segments
            }
        except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
            return "no store yet"
        if index.schema != INDEX_SCHEMA or any(
            part[t].schema != row_schema(t) for part in parts.values() for t in ROW_TABLES
        ):
            return "table model changed"
        rows = {t: [] for t in ROW_TABLES}
        for seg in segments:
            live = index.filter(pl.col("segment") == seg["name"]).get_column("_key")
            for t in ROW_TABLES:
                df = parts[seg["name"]][t]
                if live.len() < seg["keys"]:  # some of its partitions were re-read or removed since
                    df = df.filter(pl.col("_key").is_in(live.implode()))
                rows[t].append(df)
        return index, {t: pl.concat(rows[t]) for t in ROW_TABLES}, segments

    def _write_segment(self, rows: dict[str, pl.DataFrame], keys: int) -> dict[str, Any]:
        """Write ``rows`` (of ``keys`` partitions) as a new segment; returns its entry for ``store.json``."""
        name = f"seg-{time.time_ns()}-{os.getpid()}"
        tmp = self.folder / f".tmp-{name}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for table, df in rows.items():
            df.write_ipc(tmp / f"{table}.arrow", compression="uncompressed")
        os.rename(tmp, self.folder / name)
        return {"name": name, "keys": keys}

    def _commit(self, index: pl.DataFrame, segments: list[dict[str, Any]]) -> None:
        """Write the index and make it current by replacing ``store.json`` (a crash leaves the old store)."""
        name = f"index-{time.time_ns()}-{os.getpid()}.arrow"
        index.write_ipc(self.folder / name, compression="uncompressed")
        write_atomic(self.folder / "store.json", json.dumps({"layout": LAYOUT, "index": name, "segments": segments}))
        keep = {"store.json", name, *(seg["name"] for seg in segments)}
        for path in self.folder.iterdir():  # superseded segments and indexes, and what a crash left
            if path.name not in keep:
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)

    def _save(
        self,
        index: pl.DataFrame,
        rows: dict[str, pl.DataFrame],
        new_rows: dict[str, pl.DataFrame],
        segments: list[dict[str, Any]],
    ) -> None:
        """Append ``new_rows`` as a segment, or compact segments when it is time.

        ``index``: every current partition; those read in this update have no segment yet.
        Many segments: all but the largest are merged with the new rows into one,
        so the segment holding most notices is not rewritten for a few (rewriting
        a thousand notices' rows took ~0.8 s, every ``MAX_SEGMENTS`` adds). Many
        stale rows (notices changed or removed since their segment was written):
        every live row goes into one segment.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        live = {seg["name"]: 0 for seg in segments}
        for name, n in index.get_column("segment").value_counts().iter_rows():
            if name in live:
                live[name] = n
        stored = sum(seg["keys"] for seg in segments)
        stale = stored - sum(live.values())
        if (stored and stale / stored > MAX_STALE) or not segments:
            seg = self._write_segment(rows, index.height)  # every live row, one segment
            self._commit(index.with_columns(pl.lit(seg["name"], dtype=pl.String).alias("segment")), [seg])
            return
        segments = [seg for seg in segments if live[seg["name"]]]
        if len(segments) >= MAX_SEGMENTS:
            largest = max(segments, key=lambda seg: live[seg["name"]])
            merged = pl.col("segment").is_null() | (pl.col("segment") != largest["name"])
            keys = index.filter(merged).get_column("_key")
            wanted = keys.implode()
            seg = self._write_segment(
                {t: df.filter(pl.col("_key").is_in(wanted)) for t, df in rows.items()}, keys.len()
            )
            index = index.with_columns(
                pl.when(merged).then(pl.lit(seg["name"])).otherwise(pl.col("segment")).alias("segment")
            )
            self._commit(index, [largest, seg])
            return
        new = index.get_column("segment").null_count()
        if new:
            seg = self._write_segment(new_rows, new)
            segments.append(seg)
            index = index.with_columns(pl.col("segment").fill_null(seg["name"]))
        self._commit(index, segments)

    def update(
        self, outcomes: Mapping[str, Any], stamps: Mapping[str, str] | None
    ) -> tuple[dict[str, pl.DataFrame], StoreUpdate]:
        """Bring the store up to ``outcomes`` and return the published tables.

        ``stamps``: for each key, a token that changes whenever its stored
        outcome is rewritten. Without stamps every outcome is read again.
        """
        with self._lock():
            loaded = self._load() if stamps is not None else "no stamps: every notice is read"
            if isinstance(loaded, str):
                index, rows, segments, why = pl.DataFrame(schema=INDEX_SCHEMA), empty_rows(), [], loaded
            else:
                (index, rows, segments), why = loaded, None
            known = dict(zip(index.get_column("_key").to_list(), index.get_column("stamp").to_list(), strict=True))
            current = set(outcomes)
            todo = sorted(k for k in current if stamps is None or known.get(k) != stamps.get(k) or k not in known)
            gone = sorted(set(known) - current)
            new_index, new_rows = notice_rows({k: outcomes[k] for k in todo})
            if stamps is not None:
                new_index = new_index.with_columns(pl.Series("stamp", [stamps.get(k) for k in todo], dtype=pl.String))
            stale = [k for k in todo if k in known] + gone
            if stale:  # a notice only added leaves the stored rows as they are (no copy)
                drop = pl.Series(stale, dtype=pl.String).implode()
                index = index.filter(~pl.col("_key").is_in(drop))
                rows = {t: rows[t].filter(~pl.col("_key").is_in(drop)) for t in ROW_TABLES}
            index = pl.concat([index, new_index]).sort("_key")
            rows = {t: pl.concat([rows[t], new_rows[t]]) for t in ROW_TABLES}
            if stamps is not None and (todo or gone or why):
                self._save(index, rows, new_rows, [] if why else segments)
            summary = StoreUpdate(len(todo), len(gone), len(current) - len(todo), why)
            return published_tables(index, rows), summary
