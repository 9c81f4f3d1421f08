"""What a release adds to the previous one, row by row: the work of an incremental publish.

A refresh that adds one notice to a thousand changes a few hundred rows of
tables that hold hundreds of thousands. The rows that are byte for byte rows of
the previous release were validated by that release, against the same suites,
and already sit in its DuckDB file; only the rest needs another look. This
module finds them.

The previous release is a usable base only when its Parquet files are the ones
its ``SHA256SUMS`` recorded (nobody edited the release) and each table has the
columns and types the models declare now. Otherwise there is no base and every
consumer does the full work.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.tables import TABLES, polars_schema


@dataclass(frozen=True)
class TableDelta:
    """One table against the base: rows that are new or changed, and keys that went."""

    table: str
    new_rows: pl.DataFrame  # rows of the new table that are not rows of the base (all columns compared)
    gone_keys: pl.DataFrame  # primary keys of the base that the new table no longer has
    base_rows: int

    @property
    def empty(self) -> bool:
        return self.new_rows.height == 0 and self.gone_keys.height == 0


@dataclass(frozen=True)
class ReleaseDelta:
    """All tables against the previous release ``base``."""

    base: Path
    tables: dict[str, TableDelta]
    old: dict[str, pl.DataFrame]  # the base's tables (verified against its SHA256SUMS)

    @property
    def rows(self) -> int:
        return sum(d.new_rows.height for d in self.tables.values())

    def describe(self) -> str:
        return f"{self.rows} new or changed row(s) since {self.base.name}"


def release_sums(release: Path) -> dict[str, str]:
    """``{relative path: sha256}`` from a release's SHA256SUMS (empty when missing)."""
    try:
        text = (release / "SHA256SUMS").read_text(encoding="utf-8")
    except OSError:
        return {}
    sums = {}
    for line in text.splitlines():
        digest, _, path = line.partition("  ")
        if path:
            sums[path] = digest
    return sums


# Tables this process wrote to Parquet, by the SHA-256 of each file: the next
# build's previous release is usually the one just written, and decoding its
# Parquet files again (hundreds of MB of text for a thousand notices) was most of
# what reading the base cost. One entry per table, the last written.
_written: dict[str, tuple[str, pl.DataFrame]] = {}


def remember_written(name: str, sha256: str, frame: pl.DataFrame) -> None:
    """``frame`` was just written to a Parquet file whose bytes hash to ``sha256``."""
    # A clone shares the buffers; an in-place edit of the caller's frame does not reach it.
    _written[name] = (sha256, frame.clone())


def base_frames(previous: Path | None) -> dict[str, pl.DataFrame] | None:
    """The previous release's tables when they can stand for validated rows, else None.

    Each Parquet file is read and hashed against the release's SHA256SUMS; a
    file this process wrote (the same hash) is not decoded again.
    """
    if previous is None:
        return None
    sums = release_sums(previous)
    frames: dict[str, pl.DataFrame] = {}
    for name in TABLES:
        rel = f"parquet/{name}.parquet"
        try:
            data = (previous / rel).read_bytes()
        except OSError:
            return None
        digest = hashlib.sha256(data).hexdigest()
        if digest != sums.get(rel):
            return None  # edited or truncated since it was published
        known = _written.get(name)
        df = known[1] if known is not None and known[0] == digest else pl.read_parquet(io.BytesIO(data))
        if df.schema != polars_schema(name):
            return None  # the model changed: nothing carries over
        frames[name] = df
    return frames


def table_delta(table: str, new: pl.DataFrame, old: pl.DataFrame) -> TableDelta:
    """Rows of ``new`` that are not rows of ``old``, and the keys of ``old`` that ``new`` lacks.

    Rows are compared by a 64-bit hash of the whole row, so both big joins are
    on one integer column: joining on the primary key's text columns (or on
    every column) row-encoded and hashed hundreds of thousands of strings per
    table, most of what a refresh's comparison cost. A new or changed row is
    missed only if its hash equals that of some old row (about 1 in 10^13 for
    a million rows).

    The keys that went are found among the few old rows whose hash no new row
    has: an old key that ``new`` still holds, under a changed row, is a key of
    ``new_rows`` (an unchanged row would have kept the old hash). So the join
    on the key's columns is between two small frames.
    """
    key = list(TABLES[table].primary_key)
    new_hash = new.hash_rows().alias("__row_hash")
    old_hash = old.hash_rows().alias("__row_hash")
    new_rows = new.filter(~new_hash.is_in(old_hash))
    old_changed = old.select(key).filter(~old_hash.is_in(new_hash))
    gone = old_changed.join(new_rows.select(key), on=key, how="anti", nulls_equal=True, maintain_order="left")
    return TableDelta(table, new_rows, gone, old.height)


def release_delta(
    frames: dict[str, pl.DataFrame], previous: Path | None, old: dict[str, pl.DataFrame] | None = None
) -> ReleaseDelta | None:
    """Every table of ``frames`` against the previous release (None when it is no usable base).

    ``old``: the previous release's :func:`base_frames`, when the caller read them already.
    """
    old = old if old is not None else base_frames(previous)
    if old is None or previous is None:
        return None
    return ReleaseDelta(previous, {name: table_delta(name, frames[name], old[name]) for name in TABLES}, old)


# The GX check and the release (two steps, often one process) need the same
# delta of the same content: the last one computed is kept.
_LAST: dict[tuple[str, str, int], ReleaseDelta | None] = {}
_MISSING = object()


def delta_for_version(
    version: str,
    frames: dict[str, pl.DataFrame],
    previous: Path | None,
    computed: ReleaseDelta | None = None,
) -> ReleaseDelta | None:
    """The delta of the release ``version`` (its content: ``frames``) against ``previous``.

    Memoised on the version (a hash of the content) and the previous release's
    SHA256SUMS, so a second step publishing the same content does not compare again.
    ``computed``: :func:`release_delta` of these frames against ``previous``,
    when the caller compared them before it knew the version.
    """
    if previous is None:
        return None
    try:
        stamp = (previous / "SHA256SUMS").stat().st_mtime_ns
    except OSError:
        return None
    key = (version, str(previous.resolve()), stamp)
    # One read: another build's clear() between a test and a lookup could not raise KeyError.
    memo = _LAST.get(key, _MISSING)  # None is a result (no usable base)
    if memo is _MISSING:
        memo = computed if computed is not None else release_delta(frames, previous)
        _LAST.clear()
        _LAST[key] = memo
    return memo
