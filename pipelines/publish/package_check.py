"""Frictionless validation of a release, in proportion to what changed since the last one.

Frictionless reads every row of every table, one Python object per cell: it
cost more than the rest of a publish (40 s of 50 s for 1 000 notices). Most
rows of a refresh are byte for byte rows of the previous release, which passed
the same validation against the same table schema. A row's validity depends
only on its bytes, the schema and the CSV dialect, so those rows need no
second look; what depends on other rows is checked on the full tables:

==========================  ===================================================
Frictionless checks         where a delta validation checks it
==========================  ===================================================
descriptor (profile)        ``datapackage.json`` whole, except the ``sources``
                            entries the previous release listed already (its
                            descriptor matching its SHA256SUMS)
header, labels              Frictionless, on a delta file that starts with the
                            table's own header
cells: type, required,      Frictionless, on the delta rows: the records that
enum, pattern, range;       are not records of the previous release, after the
extra/missing cells,        table's first 100 lines (so the CSV dialect is
blank rows, encoding        sniffed from the same sample as the full file's)
unique, primaryKey          :func:`key_failures` on the full tables
foreignKeys                 the foreign-key gate on the full tables (before
                            anything is written)
bytes, hash                 each written file's size against the descriptor;
                            its hash was taken from the bytes it was written
                            from (given those bytes; else re-read, re-hashed).
                            Checked before anything is written (the GX check
                            does, ``root`` None): the bytes to be written, and
                            the release verifies the files' hashes against them
rows                        the previous release's validated count, minus the
                            records that went, plus the records that came
==========================  ===================================================

The parts both files share (the bytes before the first and after the last
difference) are the same records and are not split at all, so a refresh reads
little more than the changed rows. A table is validated in full when there is
no previous release, when its schema or CSV dialect (as declared, or as
sniffed where a release declared none) differs from the previous release's
or is declared only in part (the rest would be sniffed from the narrowed sample),
when the previous descriptor or file does not match the hash its release
recorded, or when ``POLICY_TASKS_FULL_VALIDATION=1`` (``policy-tasks build
--full-validation``) asks for the whole package.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import mmap
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frictionless
import numpy as np
import polars as pl

from pipelines.publish.delta import release_sums
from pipelines.publish.gate import BlockingFailure, _keys_at
from pipelines.publish.stamps import recorded_sha256
from schemas.tables import TABLES

FULL_VALIDATION_ENV = "POLICY_TASKS_FULL_VALIDATION"
# Frictionless sniffs the CSV dialect from the first 100 lines (formats/csv/parser.py).
SNIFF_LINES = 100
ERROR_LIMIT = 20


def full_validation_requested(flag: bool | None = None) -> bool:
    """An explicit flag wins; otherwise ``POLICY_TASKS_FULL_VALIDATION`` (1/true/yes)."""
    if flag is not None:
        return flag
    return os.environ.get(FULL_VALIDATION_ENV, "").strip().lower() in ("1", "true", "yes")


def _describe(table: str, error: Any) -> BlockingFailure:
    return BlockingFailure(table, "frictionless", f"{error.type}: {error.message}")


def frictionless_failures(descriptor_path: Path, limit: int = ERROR_LIMIT) -> list[BlockingFailure]:
    """Frictionless validation of a whole written package (every row of every table)."""
    report = frictionless.validate(str(descriptor_path))
    if report.valid:
        return []
    out = [_describe(task.name, e) for task in report.tasks for e in task.errors[:limit]]
    out += [_describe("package", e) for e in report.errors[:limit]]
    return out[:limit] or [BlockingFailure("package", "frictionless", "frictionless reported the package invalid")]


# --- content-addressed rows -------------------------------------------------


def csv_records(data: bytes) -> list[bytes]:
    """Split CSV bytes into records (each with its line end); quoted line breaks stay inside.

    A line break ends a record when the quotes before it are balanced: Polars
    quotes with ``"`` and doubles quotes inside a field, no escape character.
    """
    lines = data.split(b"\n")
    last = lines.pop() if lines else b""  # after the final line break: normally empty
    records: list[bytes] = []
    pending: list[bytes] = []
    inside = False
    for line in lines:
        pending.append(line)
        if line.count(b'"') % 2:
            inside = not inside
        if not inside:
            records.append(b"\n".join(pending) + b"\n")
            pending = []
    if pending or last:
        pending.append(last)
        records.append(b"\n".join(pending))
    return records


def _common_prefix(a: bytes, b: bytes, chunk: int = 1 << 16) -> int:
    """Length of the longest common prefix (compared 64 KiB at a time, then bisected).

    Small slices: each slice is a copy, and a megabyte copy lands in freshly mapped memory
    whose page faults cost ten times the comparison (0.14 s against 0.015 s for 100 MB).
    """
    n, lo = min(len(a), len(b)), 0
    while lo < n:
        hi = min(lo + chunk, n)
        if a[lo:hi] == b[lo:hi]:
            lo = hi
            continue
        while hi - lo > 1:  # a[:lo] == b[:lo]; they differ before hi
            mid = (lo + hi) // 2
            if a[lo:mid] == b[lo:mid]:
                lo = mid
            else:
                hi = mid
        return lo
    return n


def _common_suffix(a: bytes, b: bytes, limit: int, chunk: int = 1 << 16) -> int:
    """Length of the longest common suffix, at most ``limit``."""
    la, lb, n = len(a), len(b), 0
    while n < limit:
        m = min(n + chunk, limit)
        if a[la - m : la - n] == b[lb - m : lb - n]:
            n = m
            continue
        while m - n > 1:  # the last n bytes agree; the last m do not
            mid = (n + m) // 2
            if a[la - mid : la - n] == b[lb - mid : lb - n]:
                n = mid
            else:
                m = mid
        return n
    return n


_QUOTE = ord('"')
_COUNT_CHUNK = 1 << 20


def _count_quotes(data: bytes | mmap.mmap, start: int, end: int) -> int:
    """``data.count(b'"', start, end)``, in NumPy a megabyte at a time (also on a memory map).

    ``bytes.count`` tests one byte at a time: 0.085 s for the 240 MB before the
    first change of a thousand notices' tables, on the critical path of an
    add. The comparison vectorised takes a third of that; the chunks keep its
    temporary small (a big one lands in fresh pages, faulted in one by one).
    """
    if end - start < _COUNT_CHUNK:
        return data[start:end].count(b'"') if isinstance(data, mmap.mmap) else data.count(b'"', start, end)
    view = np.frombuffer(data, dtype=np.uint8)
    return sum(
        int(np.count_nonzero(view[lo : min(lo + _COUNT_CHUNK, end)] == _QUOTE))
        for lo in range(start, end, _COUNT_CHUNK)
    )


def _boundary_before(data: bytes, pos: int) -> tuple[int, int]:
    """The start of the record that holds byte ``pos`` (or ``pos``, when a record starts there).

    Also returns the number of quotes before that start, so later scans need not count from 0.
    """
    quotes = _count_quotes(data, 0, pos)
    while True:
        nl = data.rfind(b"\n", 0, pos)
        if nl < 0:
            return 0, 0
        quotes -= data.count(b'"', nl + 1, pos)
        if quotes % 2 == 0:
            return nl + 1, quotes
        pos = nl


def _boundary_after(data: bytes, pos: int, at: int = 0, quotes_at: int = 0) -> int | None:
    """The first record start at or after ``pos`` (the end of the data counts).

    ``quotes_at``: the number of quotes in ``data[:at]``, for some ``at <= pos``.
    """
    quotes = quotes_at + data.count(b'"', at, pos)
    if (pos == 0 or data[pos - 1 : pos] == b"\n") and quotes % 2 == 0:
        return pos
    while True:
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl + 1
        quotes += data.count(b'"', pos, end)
        if quotes % 2 == 0:
            return end
        if nl < 0:
            return None  # a quote left open at the end
        pos = end


def _split(data: bytes) -> list[bytes] | None:
    records = csv_records(data)
    return records if b"".join(records) == data else None


@dataclass(frozen=True)
class Delta:
    """The records of one table that Frictionless has to read."""

    data: bytes  # the delta file: header, the dialect-sniffing lines, then the records to check
    offsets: list[int]  # where each record of ``data`` starts in the table's file
    rows: int  # data rows of the whole table
    reason: str  # "delta", or why the whole table is read

    def positions(self, table: bytes) -> list[int]:
        """The record number (0 = header) in ``table`` of each record of the delta (for reports)."""
        starts, offset = {}, 0
        for i, record in enumerate(csv_records(table)):
            starts[offset] = i
            offset += len(record)
        return [starts.get(o, -1) for o in self.offsets]


def _offsets(records: list[bytes], start: int = 0) -> list[int]:
    out = []
    for record in records:
        out.append(start)
        start += len(record)
    return out


def _whole(new: bytes, reason: str) -> Delta:
    records = csv_records(new)
    return Delta(new, _offsets(records), len(records) - 1, reason)


def _head_end(new: bytes) -> int | None:
    """End of the first whole records holding at least SNIFF_LINES line breaks (the sniffing sample)."""
    pos = 0
    for _ in range(SNIFF_LINES):
        nl = new.find(b"\n", pos)
        if nl < 0:
            return len(new)
        pos = nl + 1
    return _boundary_after(new, pos)


def _set_delta(new: bytes, old: bytes) -> Delta:
    """Every record of ``new`` that is not a record of ``old`` (both files split in full)."""
    records = _split(new)
    old_records = _split(old)
    if records is None or old_records is None:
        return _whole(new, "records do not re-join")
    if not old_records or old_records[0] != records[0]:
        return _whole(new, "header differs from the previous release")
    seen = set(old_records[1:])
    offsets = _offsets(records)
    keep, lines = 0, 0
    while keep < len(records) and lines < SNIFF_LINES:
        lines += records[keep].count(b"\n")
        keep += 1
    chosen = list(range(keep)) + [i for i in range(keep, len(records)) if records[i] not in seen]
    return Delta(b"".join(records[i] for i in chosen), [offsets[i] for i in chosen], len(records) - 1, "delta")


def _spliced_delta(new: bytes, old: bytes, old_rows: int) -> Delta | None:
    """The same as :func:`_set_delta` without splitting the parts both files share.

    The bytes before the first difference and after the last one are the same
    records in both files (the same bytes, cut at the same record boundaries);
    only the records in between are split and compared. None when the files do
    not line up (a quote left open): the caller then splits them in full.
    """
    prefix = _common_prefix(new, old)
    suffix = _common_suffix(new, old, min(len(new), len(old)) - prefix)
    header_end = new.find(b"\n") + 1
    head_end = _head_end(new)
    if not header_end or prefix < header_end or head_end is None:
        return None
    # A boundary of old too: the bytes before it are the same, and so is their count of quotes.
    start, quotes = _boundary_before(new, prefix)
    end_new = _boundary_after(new, len(new) - suffix, start, quotes)
    if end_new is None:
        return None
    end_old = end_new - len(new) + len(old)
    # A slice (the changed middle: small): ``old`` may be a memory map, which has no count().
    if end_old < start or (quotes + old[start:end_old].count(b'"')) % 2:
        return None
    if end_old and old[end_old - 1 : end_old] != b"\n":
        return None
    mid_new, mid_old = _split(new[start:end_new]), _split(old[start:end_old])
    head = _split(new[:head_end])
    if mid_new is None or mid_old is None or head is None:
        return None
    seen = set(mid_old)
    offsets = _offsets(head)
    chosen = list(head)
    for offset, record in zip(_offsets(mid_new, start), mid_new, strict=True):
        if offset >= head_end and record not in seen:
            offsets.append(offset)
            chosen.append(record)
    return Delta(b"".join(chosen), offsets, old_rows - len(mid_old) + len(mid_new), "delta")


def table_delta(new: bytes, old: bytes | None, why_full: str | None = None, old_rows: int | None = None) -> Delta:
    """Header, the lines the dialect is sniffed from, and every record of ``new`` not in ``old``.

    ``old_rows`` (the row count ``old``'s release validated) lets the shared
    head and tail of the files go unsplit; without it both are split in full.
    Without ``old`` (or with a reason in ``why_full``) the whole table.
    """
    if why_full or old is None:
        return _whole(new, why_full or "no previous release")
    spliced = _spliced_delta(new, old, old_rows) if old_rows is not None else None
    return spliced or _set_delta(new, bytes(old))  # split in full: a memory map is copied


def sniffed_dialect(data: bytes) -> tuple[Any, ...]:
    """The CSV dialect Frictionless reads ``data`` with, sniffed as its CSV parser does.

    Same sample (the first 100 lines of the text stream, ``newline=""``), same
    candidate delimiters, same override of a sniffed ``'`` quote, same fields
    taken from the sniffer (frictionless/formats/csv/parser.py).
    """
    # Through the 100th line feed: at least the first 100 lines (a lone \r ends one too), not a
    # copy of the whole file (``data`` may be a memory map).
    end = 0
    for _ in range(SNIFF_LINES):
        nl = data.find(b"\n", end)
        if nl < 0:
            end = len(data)
            break
        end = nl + 1
    head = io.BytesIO(data[:end])
    sample = "".join(itertools.islice(io.TextIOWrapper(head, "utf-8", newline=""), SNIFF_LINES))
    try:
        config: Any = csv.Sniffer().sniff(sample, ",\t;|")
    except csv.Error:
        config = csv.excel
    quote = '"' if config.quotechar == "'" else config.quotechar
    # Frictionless takes these from the sniffer (and keeps its own doublequote, True).
    return (config.delimiter, quote, config.escapechar, config.skipinitialspace)


# What Frictionless reads a CSV with when the descriptor leaves it unsaid; the
# line terminator is left out of comparisons (Python's CSV reader ignores it).
_READ_DEFAULTS = {"header": True, "doubleQuote": True, "escapeChar": None}
_SNIFFED_FIELDS = ("delimiter", "quoteChar", "escapeChar", "skipInitialSpace")
_NOT_READ = ("lineTerminator", "$schema")


def read_dialect(resource: dict[str, Any], data: bytes) -> dict[str, Any] | None:
    """The dialect Frictionless reads a resource's file with: as declared, else as sniffed.

    Declared values win over sniffed ones (``set_not_defined`` in Frictionless'
    CSV parser). None when only part of it is declared: Frictionless then sniffs
    the rest from a sample narrowed by what is declared, which is not modelled
    here, so such a file is compared with nothing (and validated in full).
    """
    declared = resource.get("dialect")
    if declared is None:
        return _READ_DEFAULTS | dict(zip(_SNIFFED_FIELDS, sniffed_dialect(data), strict=True))
    if not isinstance(declared, dict) or not all(k in declared for k in ("delimiter", "quoteChar", "skipInitialSpace")):
        return None
    return _READ_DEFAULTS | {k: v for k, v in declared.items() if k not in _NOT_READ}


def same_dialect(
    new: bytes, old: bytes, new_res: dict[str, Any] | None = None, old_res: dict[str, Any] | None = None
) -> bool:
    """Frictionless reads both files with the same dialect.

    ``new_res``/``old_res``: their resources. Two declared dialects are compared
    as declared (nothing is sniffed); a release from before the dialect was
    declared is sniffed. Files that start with the same lines sniff alike, a
    shortcut taken only when neither declares a dialect.
    """
    new_res, old_res = new_res or {}, old_res or {}
    if "dialect" not in new_res and "dialect" not in old_res:
        head = 64 * 1024
        if new[:head] == old[:head] and new[:head].count(b"\n") >= SNIFF_LINES:
            return True
    new_dialect = read_dialect(new_res, new)
    return new_dialect is not None and new_dialect == read_dialect(old_res, old)


# --- cross-row facts on the full tables ---------------------------------------


def _blank_as_null(df: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """Frictionless reads an empty cell as missing (``missingValues: [""]``)."""
    return df.select(
        [
            pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) if df.schema[c] == pl.String else c
            for c in cols
        ]
    )


def key_failures(frames: dict[str, pl.DataFrame]) -> list[BlockingFailure]:
    """Frictionless' primary-key and unique checks, on the full tables, with its semantics.

    Primary key: no row whose key cells are all missing, no key twice. Unique
    field: no non-missing value twice.
    """
    out: list[BlockingFailure] = []
    for name, spec in TABLES.items():
        df = frames[name]
        pk = list(spec.primary_key)
        keys = _blank_as_null(df, pk)
        all_null = keys.select(pl.all_horizontal(pl.col(c).is_null() for c in pk)).to_series()
        dup = keys.is_duplicated() & ~all_null
        for mask, reason in (
            (all_null, f"primary-key-error: the cells of {pk} are all missing"),
            (dup, f"primary-key-error: {pk} repeats"),
        ):
            if mask.any():  # in Polars; the row numbers only for a failure
                rows = mask.arg_true().to_list()
                out.append(BlockingFailure(name, "frictionless", reason, len(rows), _keys_at(df, name, rows)))
        for col_name, col in spec.schema.columns.items():
            if not col.unique:
                continue
            values = _blank_as_null(df, [col_name]).to_series()
            mask = values.is_duplicated() & values.is_not_null()
            if mask.any():
                rows = mask.arg_true().to_list()
                reason = f"unique-error: {col_name} repeats"
                out.append(BlockingFailure(name, "frictionless", reason, len(rows), _keys_at(df, name, rows)))
    return out


def file_failures(name: str, data: bytes, res: dict[str, Any]) -> list[BlockingFailure]:
    """What Frictionless checks of a file as a whole: its bytes and hash (rows: see the delta)."""
    out = []
    if len(data) != res["bytes"]:
        out.append(BlockingFailure(name, "frictionless", f"byte-count-error: {len(data)} != {res['bytes']}"))
    if hashlib.sha256(data).hexdigest() != res["sha256"]:
        out.append(BlockingFailure(name, "frictionless", "hash-count-error: the file differs from its hash"))
    return out


# --- the validation of a release ------------------------------------------------


@dataclass(frozen=True)
class PackageCheck:
    failures: list[BlockingFailure]
    mode: str  # "full" or "delta"
    rows_validated: int  # rows Frictionless read
    rows_total: int
    full_tables: dict[str, str]  # tables validated in full, and why


def _previous_package(previous: Path | None) -> tuple[dict[str, Any], str | None]:
    """The previous release's descriptor as it was published and validated, or empty and why not.

    Empty (nothing carries over: every table and source is checked) when it is
    missing, cannot be read, or no longer matches the release's SHA256SUMS.
    """
    if previous is None:
        return {}, "no previous release"
    try:
        data = (previous / "datapackage.json").read_bytes()
        package = json.loads(data.decode("utf-8"))
    except (OSError, ValueError):
        return {}, "previous descriptor missing or unreadable"
    if hashlib.sha256(data).hexdigest() != release_sums(previous).get("datapackage.json"):
        return {}, "previous descriptor does not match its recorded hash"
    return (package, None) if isinstance(package, dict) else ({}, "previous descriptor is no object")


def _resources_by_name(package: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r.get("name"): r for r in package.get("resources", []) if isinstance(r, dict)}


def _source_key(source: Any) -> str:
    return json.dumps(source, sort_keys=True, ensure_ascii=False)


def new_sources_only(descriptor: dict[str, Any], old_package: dict[str, Any]) -> dict[str, Any]:
    """The descriptor with only the ``sources`` entries the previous release did not list.

    Each entry is checked on its own against the profile, and the previous
    release's descriptor passed the same check, so its entries need no second
    look (the list has one entry per notice). One entry stays when none is new,
    so the list itself is still checked.
    """
    sources = descriptor.get("sources")
    if not isinstance(sources, list) or not sources:
        return descriptor
    old = {_source_key(s) for s in old_package.get("sources", []) or []}
    fresh = [s for s in sources if _source_key(s) not in old]
    return {**descriptor, "sources": fresh or sources[:1]}


def _old_bytes(
    previous: Path, res: dict[str, Any], old: dict[str, Any] | None, no_base: str | None = None
) -> tuple[bytes | None, str | None]:
    """The previous release's file of this table, when its rows can stand for validated rows.

    ``no_base``: why the previous descriptor cannot be used, when it cannot.
    """
    if old is None:
        return None, no_base or "not in the previous release"
    if old.get("schema") != res["schema"]:
        return None, "table schema changed"
    rel = str(old.get("path", ""))
    path = previous / rel
    if not path.is_file():
        return None, "previous file missing"
    try:
        # Not written since its release hashed it (stamps.py): the hash that release
        # recorded stands, and the file is mapped rather than read and hashed again.
        unchanged = recorded_sha256(previous, rel) == old.get("sha256")
        data: bytes = _mapped(path) if unchanged else path.read_bytes()  # type: ignore[assignment]
    except OSError as exc:
        return None, f"previous file unreadable ({exc.strerror or exc})"
    if not unchanged and hashlib.sha256(data).hexdigest() != old.get("sha256"):
        return None, "previous file does not match its recorded hash"
    return data, None


def _mapped(path: Path) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped read-only (its pages are the page cache's, not a copy)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return b""
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def _map_row(error: Any, positions: list[int]) -> Any:
    """Report a delta row by its row number in the full file."""
    row = getattr(error, "row_number", None)
    if not isinstance(row, int) or not 1 <= row <= len(positions) or positions[row - 1] < 0:
        return error
    import attrs

    try:
        return attrs.evolve(error, row_number=positions[row - 1] + 1)
    except (TypeError, ValueError):
        return error


def delta_check_possible(previous: Path | None, full: bool | None = None) -> bool:
    """Whether :func:`check_package` validates the delta rows (it validates every row otherwise)."""
    return previous is not None and not full_validation_requested(full)


def check_package(
    root: Path | None,
    descriptor: dict[str, Any],
    frames: dict[str, pl.DataFrame],
    previous: Path | None,
    full: bool | None = None,
    limit: int = ERROR_LIMIT,
    written: dict[str, bytes] | None = None,
    work_parent: Path | None = None,
) -> PackageCheck:
    """Validate the package written at ``root`` (``datapackage.json`` in place) against Frictionless.

    Full validation when asked for or without a previous release; otherwise
    the rows new since ``previous`` (see the module doc). The failures name
    table, rows and reason. ``written``: each table's CSV bytes as just
    written (and hashed into the descriptor), so the files need not be read back.

    ``root`` None: nothing is written yet, and the delta is checked from
    ``written`` alone (every table's bytes), in a folder under ``work_parent``;
    whoever writes the files later vouches that they are these bytes (by hash).
    Only where :func:`delta_check_possible` says so.
    """
    resources = descriptor["resources"]
    total = sum(r["rows"] for r in resources)
    if not delta_check_possible(previous, full):
        if root is None:
            raise ValueError("a full validation reads the written package: root is needed")
        failures = frictionless_failures(root / "datapackage.json", limit)
        why = "asked for" if previous is not None else "no previous release"
        return PackageCheck(failures, "full", total, total, dict.fromkeys((r["name"] for r in resources), why))
    with ThreadPoolExecutor(max_workers=2) as pool:
        # The key checks (Polars on the full tables) and reading and hashing the previous
        # release's files release the GIL: they run while Frictionless, which holds it, works.
        keys = pool.submit(key_failures, frames)
        old_package, no_base = _previous_package(previous)
        old_resources = _resources_by_name(old_package)
        olds = {
            res["name"]: pool.submit(_old_bytes, previous, res, old_resources.get(res["name"]), no_base)
            for res in resources
        }
        checked = new_sources_only(descriptor, old_package)
        report = frictionless.Package.validate_descriptor(checked, basepath=str(root or work_parent or "."))
        failures = [_describe("package", e) for e in report.errors[:limit]]
        delta_failures, validated, full_tables = _delta_failures(
            root, descriptor, old_resources, olds, limit, written, work_parent
        )
        failures += keys.result() + delta_failures
    return PackageCheck(failures[:limit] if failures else [], "delta", validated, total, full_tables)


def _delta_failures(
    root: Path | None,
    descriptor: dict[str, Any],
    old_resources: dict[str, dict[str, Any]],
    olds: dict[str, Future[tuple[bytes | None, str | None]]],
    limit: int,
    written: dict[str, bytes] | None,
    work_parent: Path | None,
) -> tuple[list[BlockingFailure], int, dict[str, str]]:
    """Frictionless on the rows new since the previous release, plus the whole-file checks.

    ``olds``: each table's :func:`_old_bytes`, being read. Returns the failures,
    the number of rows validated and the tables validated in full (with why).
    """
    resources = descriptor["resources"]
    failures: list[BlockingFailure] = []
    tables: dict[str, bytes] = {}
    deltas: dict[str, Delta] = {}
    for res in resources:
        name = res["name"]
        if written is not None and name in written:
            new = tables[name] = written[name]
            # Not on disk yet (root None): the writer checks the file's hash against these bytes.
            size = (root / res["path"]).stat().st_size if root is not None else len(new)
            if size != res["bytes"] or len(new) != size:
                failures.append(BlockingFailure(name, "frictionless", f"byte-count-error: {size} != {res['bytes']}"))
        elif root is None:
            raise ValueError(f"{name}: neither written bytes nor a folder to read them from")
        else:
            new = tables[name] = (root / res["path"]).read_bytes()
            failures += file_failures(name, new, res)
        old, why = olds[name].result()
        if old is not None and not same_dialect(new, old, res, old_resources[name]):
            old, why = None, "CSV dialect differs"
        old_rows = old_resources[name].get("rows") if old is not None else None
        delta = deltas[name] = table_delta(new, old, why, old_rows if isinstance(old_rows, int) else None)
        if delta.rows != res["rows"]:
            failures.append(BlockingFailure(name, "frictionless", f"row-count-error: {delta.rows} != {res['rows']}"))
    work = Path(tempfile.mkdtemp(prefix=".tmp-delta-", dir=root.parent if root is not None else work_parent))
    try:
        delta_resources = []
        for res in resources:
            (work / res["path"]).write_bytes(deltas[res["name"]].data)
            schema = {k: v for k, v in res["schema"].items() if k != "foreignKeys"}  # checked on the full tables
            strip = ("bytes", "hash", "sha256", "rows", "schema")  # checked on the full files
            delta_resources.append({**{k: v for k, v in res.items() if k not in strip}, "schema": schema})
        # The delta package without the list of source notices: the descriptor was
        # validated above, and that list (one entry per notice) would be
        # schema-checked again by every step of Frictionless' package validation.
        delta_package = {k: v for k, v in descriptor.items() if k != "sources"} | {"resources": delta_resources}
        (work / "datapackage.json").write_text(json.dumps(delta_package, ensure_ascii=False), encoding="utf-8")
        report = frictionless.validate(str(work / "datapackage.json"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for task in report.tasks:
        if not task.errors:
            continue
        # Report rows by their number in the table's file, not in the delta file.
        positions = deltas[task.name].positions(tables[task.name]) if task.name in deltas else []
        failures += [_describe(task.name, _map_row(e, positions)) for e in task.errors[:limit]]
    failures += [_describe("package", e) for e in report.errors[:limit]]
    validated = sum(len(d.offsets) - 1 for d in deltas.values())
    return failures, validated, {name: d.reason for name, d in deltas.items() if d.reason != "delta"}
