"""Publish a release: write, validate, then move into place (all or nothing).

A release is ``<out>/<dataset>/<version>/`` with ``datapackage.json``, one UTF-8
CSV per table, the same CSVs with a BOM for Excel, Parquet, one DuckDB file,
GX data docs, README.md, CITATION.cff, CHANGELOG.md and SHA256SUMS. It is
written to a hidden temporary folder, checked, and renamed into place; only
then does ``latest`` move. A failure leaves the previous release untouched.

What a refresh costs grows with what changed:

- Great Expectations runs once per build. The blocking Dagster check calls
  :func:`record_expectations`, which validates the tables exactly as they will
  be released, renders the data docs from that one validation and records both
  under the Dagster instance; :func:`write_release` given ``gx_records`` reuses
  that record when content and code are the same (and runs the suites itself
  otherwise, as it does for direct callers).
- The data files (CSVs, Excel and Parquet copies, DuckDB) are staged by the
  same check while the suites run (:mod:`pipelines.publish.release_files`):
  GX holds the GIL, the writes mostly do not, so the two overlap on two cores.
  :func:`write_release` takes the staging over with one rename, or writes the
  files itself when there is none for this content and code.
- Frictionless reads only the rows that are not byte for byte rows of the
  previous release (:mod:`pipelines.publish.package_check`); the cross-row
  facts are checked on the full tables. ``full_validation=True`` or
  ``POLICY_TASKS_FULL_VALIDATION=1`` validates every row. The check runs that
  delta validation too, after the suites and while the files are still being
  staged, and records it beside the GX outcomes; ``release`` publishes the
  record when it describes the same package against the same previous release.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.publish.changelog import changelog_markdown, read_release_tables
from pipelines.publish.citation import citation_cff
from pipelines.publish.delta import ReleaseDelta, delta_for_version, release_delta
from pipelines.publish.descriptor import CSV_DIALECT, DATASET, package_descriptor, resource_descriptor
from pipelines.publish.drift import drift
from pipelines.publish.expectations import GxFailure, GxOutcome, validate_tables
from pipelines.publish.gate import BlockingFailure, gx_failures, table_failures
from pipelines.publish.package_check import (
    PackageCheck,
    check_package,
    delta_check_possible,
    frictionless_failures,
    full_validation_requested,
)
from pipelines.publish.release_files import (
    STAGED_PREFIX,
    StageError,
    data_files,
    discard,
    prune_staged,
    quick_gil_handoff,
    stage_files,
    start_data_files,
    take_staged,
    verify_files,
    write_tables,
)
from pipelines.publish.release_readme import DOCS_FOLDER, release_readme
from pipelines.publish.stamps import prune_records, record_release
from schemas.tables import TABLES

LOCK_WAIT_SECONDS = 120
GX_OUTCOMES = "outcomes.json"
GX_NOTE = "validation.json"
PACKAGE_CHECK = "package_check.json"  # Frictionless on the delta rows, run by the check while the files are staged
GX_RECORD_TTL_SECONDS = 24 * 3600  # a record no release consumed (its build failed later) is dropped
ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """The release failed validation or could not be written; nothing was published."""


class ReleaseBlocked(PublishError):
    """A blocking check failed; ``failures`` says which table, which rows and why."""

    def __init__(self, failures: list[BlockingFailure], message: str) -> None:
        super().__init__(message)
        self.failures = failures


@dataclass(frozen=True)
class Release:
    path: Path
    version: str
    created: str
    new: bool  # False when an identical release already existed
    previous: str | None = None  # the version ``latest`` pointed at before
    hashes: dict[str, str] = field(default_factory=dict)  # CSV path → sha256
    expectations: str = ""  # how GX was satisfied: "recorded by the check", "run", "skipped"
    frictionless: str = ""  # "full" or "delta: r of n rows"


def csv_bytes(df: pl.DataFrame) -> bytes:
    """UTF-8 CSV, dates ISO, nulls empty: the same frame always gives the same bytes."""
    buf = io.BytesIO()
    df.write_csv(
        buf,
        separator=CSV_DIALECT["delimiter"],
        line_terminator=CSV_DIALECT["lineTerminator"],
        quote_char=CSV_DIALECT["quoteChar"],
        null_value="",
        date_format="%Y-%m-%d",
    )
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
            # The web address, once the notices table carries one; raw/ path otherwise.
            "url": row.get("source_url"),
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
    """Frictionless validation of a whole written package: one line per error (empty when valid)."""
    return [f"{f.table}: {f.reason}" for f in frictionless_failures(descriptor_path, limit)]


def point_latest(dataset_dir: Path, version: str) -> None:
    """Atomically repoint ``latest`` (a relative symlink) at ``version``."""
    tmp = dataset_dir / f".latest-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(version)
    os.replace(tmp, dataset_dir / "latest")


def previous_release(dataset_dir: Path) -> Path | None:
    """The release ``latest`` points at now (None before the first)."""
    latest = dataset_dir / "latest"
    return latest.resolve() if latest.is_symlink() and latest.resolve().is_dir() else None


def sha256sums(root: Path, known: dict[str, str] | None = None) -> str:
    """``sha256sum -c`` format for every file of the release, sorted by path.

    ``known``: hashes of files whose bytes were hashed as they were written
    (relative path → sha256); the other files are read back.
    """
    known = known or {}
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "SHA256SUMS"):
        rel = path.relative_to(root).as_posix()
        digest = known.get(rel) or hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {rel}")
    return "\n".join(lines) + "\n"


def _reject(failures: list[BlockingFailure], what: str) -> PublishError:
    return ReleaseBlocked(failures, f"{what}; nothing was published:\n" + "\n".join(f.describe() for f in failures))


def table_resources(frames: dict[str, pl.DataFrame], encoded: dict[str, bytes], sha256: dict[str, str]) -> list[dict]:
    """The package's resource of each table's CSV, from its bytes (written or not)."""
    return [
        resource_descriptor(TABLES[name], f"{name}.csv", len(data), sha256[name], frames[name].height)
        for name, data in encoded.items()
    ]


def release_descriptor(content: Content) -> dict[str, Any]:
    """``datapackage.json`` of a release of ``content`` (its resources: each table's CSV, from its bytes)."""
    resources = table_resources(content.frames, content.encoded, content.sha256)
    return package_descriptor(content.version, content.created, resources, sources(content.frames["notices"]))


def _descriptor_sha256(descriptor: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(descriptor, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Content:
    """The tables as they will be released: their CSV bytes, version and timestamp."""

    frames: dict[str, pl.DataFrame]
    encoded: dict[str, bytes]
    version: str
    created: str
    sha256: dict[str, str]  # of each table's CSV

    @property
    def run_time(self) -> dt.datetime:
        return dt.datetime.strptime(self.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


# The tables last encoded in this process, with their CSV bytes and hashes: a
# build's GX check and its release step take the same tables, and encoding them
# (hundreds of MB for a thousand notices) cost about a second each time.
_last_encoded: tuple[dict[str, pl.DataFrame], dict[str, bytes], dict[str, str]] | None = None


def _exact(df: pl.DataFrame) -> pl.DataFrame:
    """Float columns as text: Polars' equality takes -0.0 for 0.0, which a CSV tells apart."""
    floats = [name for name, dtype in df.schema.items() if dtype.is_float()]
    return df.with_columns(pl.col(floats).cast(pl.String)) if floats else df


def _same_frames(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> bool:
    """The same tables, cell for cell (a comparison in Polars takes a small part of an encoding)."""
    return all(
        a[name] is b[name] or (a[name].schema == b[name].schema and _exact(a[name]).equals(_exact(b[name])))
        for name in TABLES
    )


def _encode(frames: dict[str, pl.DataFrame]) -> tuple[dict[str, bytes], dict[str, str]]:
    """Each table's CSV bytes and their SHA-256: reused when these very tables were just encoded."""
    global _last_encoded
    last = _last_encoded  # one read: another thread may replace it meanwhile
    if last is not None and _same_frames(last[0], frames):
        return last[1], last[2]
    encoded = {name: csv_bytes(frames[name]) for name in TABLES}
    sha256 = {name: hashlib.sha256(data).hexdigest() for name, data in encoded.items()}
    # Clones (cheap: the buffers are shared) keep the values encoded even if a caller
    # later changes its frame in place, which would otherwise change the memo's too.
    _last_encoded = ({name: df.clone() for name, df in frames.items()}, encoded, sha256)
    return encoded, sha256


def release_content(frames: dict[str, pl.DataFrame]) -> Content:
    """Order the tables, encode them, and derive the version from their bytes."""
    frames = {name: frames[name] for name in TABLES}
    encoded, sha256 = _encode(frames)
    digest = hashlib.sha256()
    for name, hexdigest in sha256.items():
        digest.update(name.encode() + b"\0" + bytes.fromhex(hexdigest))
    created = created_timestamp(frames["notices"])
    version = f"{created[:10].replace('-', '.')}-{digest.hexdigest()[:8]}"
    return Content(frames, encoded, version, created, sha256)


# --- one GX validation per build ------------------------------------------------


def _code_files() -> tuple[tuple[str, int, int, int, int], ...]:
    """The pipeline's and the models' source files, with what ``stat`` says of them.

    The change time and inode too: a copy that keeps modification times
    (``cp -p``, ``rsync -t``) cannot keep those.
    """
    files = []
    for folder in ("pipelines", "schemas"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            st = path.stat()
            rel = path.relative_to(ROOT).as_posix()
            files.append((rel, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size))
    return tuple(files)


@functools.lru_cache(maxsize=4)
def _fingerprint(files: tuple[tuple[str, int, int, int, int], ...]) -> str:
    digest = hashlib.sha256(importlib.metadata.version("great_expectations").encode())
    for rel, *_stat in files:
        digest.update(rel.encode() + b"\0" + (ROOT / rel).read_bytes())
    return digest.hexdigest()[:16]


def code_fingerprint() -> str:
    """What the suites are made of: GX's version and the source of the pipeline and the models.

    A recorded validation stands for a new one only when this is unchanged.
    The sources are read again only when what ``stat`` says of a file changed.
    """
    return _fingerprint(_code_files())


def gx_record_path(records: Path, version: str) -> Path:
    return records / f"{version}-{code_fingerprint()}"


@dataclass(frozen=True)
class _Ahead:
    """:func:`content_and_delta` of ``frames``, started before the check step asks for it."""

    frames: dict[str, pl.DataFrame]
    out_dir: Path
    latest: Path | None
    result: Future[tuple[Content, ReleaseDelta | None]]


_ahead: _Ahead | None = None


def prepare_release(frames: dict[str, pl.DataFrame], out_dir: Path | None) -> None:
    """Start encoding ``frames`` and comparing them with ``latest`` in a background thread.

    The tables step calls this as soon as it has the tables, and goes on with
    its own work (writing them for the next steps, the schema checks); the
    GX check step, when it asks :func:`content_and_delta` for the same tables,
    gets the result (waiting for it if need be) instead of a second encoding:
    about half a second of Polars and hashing, done beside the schema checks on
    two cores. A daemon thread: a step process that exits first (Dagster's
    multiprocess executor) does not wait for it, and the check step then does
    the work itself.
    """
    global _ahead
    if out_dir is None or full_validation_requested():
        return  # the check step validates every row: it needs no delta, and encodes once anyway
    result: Future[tuple[Content, ReleaseDelta | None]] = Future()
    latest = previous_release(out_dir / DATASET)

    def run() -> None:
        result.set_running_or_notify_cancel()  # nothing cancels it: this only marks it running
        try:
            result.set_result(_content_and_delta(frames, out_dir, latest))
        except BaseException as exc:  # handed to whoever waits; it then does the work itself
            result.set_exception(exc)

    _ahead = _Ahead(frames, out_dir, latest, result)
    threading.Thread(target=run, name="release-ahead", daemon=True).start()


def _prepared(frames: dict[str, pl.DataFrame], out_dir: Path) -> tuple[Content, ReleaseDelta | None] | None:
    """The result :func:`prepare_release` started for these very tables and this ``latest``, if any."""
    global _ahead
    ahead = _ahead
    if ahead is None or ahead.out_dir != out_dir or ahead.latest != previous_release(out_dir / DATASET):
        return None
    if not _same_frames(ahead.frames, frames):
        return None
    _ahead = None
    try:
        return ahead.result.result()
    except Exception as exc:  # e.g. a release folder removed meanwhile: compute again, and fail here if it must
        log.info("the release content prepared ahead failed (%s); computing it again", exc)
        return None


def content_and_delta(frames: dict[str, pl.DataFrame], out_dir: Path | None) -> tuple[Content, ReleaseDelta | None]:
    """:func:`release_content`, and the rows GX has to look at: those new since the release this content builds on.

    That is the release of this very content when it exists (nothing is new),
    else ``latest``; the delta is None (validate everything) without a usable
    base or when full validation is asked for. The comparison with ``latest``
    runs in a thread while the tables are encoded: both are mostly Polars work,
    which releases the GIL, so on two cores it costs no wall time.
    """
    if out_dir is None or full_validation_requested():
        return release_content(frames), None
    prepared = _prepared(frames, out_dir)
    if prepared is not None:
        return prepared
    return _content_and_delta(frames, out_dir, previous_release(out_dir / DATASET))


def _content_and_delta(
    frames: dict[str, pl.DataFrame], out_dir: Path, latest: Path | None
) -> tuple[Content, ReleaseDelta | None]:
    """:func:`content_and_delta` against ``latest``, worked out (the delta beside the encoding)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        early = pool.submit(release_delta, frames, latest) if latest is not None else None
        content = release_content(frames)
        computed = early.result() if early is not None else None
    same = out_dir / DATASET / content.version
    base = same.resolve() if same.is_dir() else latest
    return content, delta_for_version(content.version, content.frames, base, computed if base == latest else None)


def _validation_note(outcomes: dict[str, GxOutcome], delta: ReleaseDelta | None, docs_dir: Path) -> None:
    """``gx-docs/validation.json``: which rows the suites saw, so a reader knows what the docs cover."""
    note = {
        "mode": "delta" if delta is not None else "full",
        "base_release": delta.base.name if delta is not None else None,
        "rows_validated": sum(o.rows for o in outcomes.values()),
        "tables": {t: {"rows_validated": o.rows, "passed": o.passed} for t, o in outcomes.items()},
        "note": "rows unchanged since base_release were validated by that release"
        if delta is not None
        else "every row of every table was validated",
    }
    docs_dir.mkdir(parents=True, exist_ok=True)
    (docs_dir / GX_NOTE).write_text(json.dumps(note, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def run_expectations(content: Content, docs_dir: Path, delta: ReleaseDelta | None) -> dict[str, GxOutcome]:
    """The suites on the release content (on its delta when given), data docs and note in ``docs_dir``."""
    outcomes = validate_tables(
        content.frames, docs_dir=docs_dir, run_name=content.version, run_time=content.run_time, delta=delta
    )
    _validation_note(outcomes, delta, docs_dir)
    return outcomes


def record_expectations(
    frames: dict[str, pl.DataFrame], records: Path, out_dir: Path | None = None
) -> dict[str, GxOutcome]:
    """Run the GX suites on the tables as they will be released; record outcomes and data docs.

    What the blocking Dagster check runs: the one GX validation of a build.
    The record, under ``records``, lets :func:`write_release` publish these
    docs instead of validating again. When that release already exists in
    ``out_dir`` nothing will be written, so no docs are rendered. With a
    previous release in ``out_dir``, only the rows new since it are validated.
    """
    content, delta = content_and_delta(frames, out_dir)
    if out_dir is not None and (out_dir / DATASET / content.version).is_dir():
        return validate_tables(content.frames, delta=delta)
    record = gx_record_path(records, content.version)
    tmp = records / f".tmp-{record.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    staged = staged_path(out_dir, content.version) if out_dir is not None else None
    staging: Future[bool] | None = None  # True once this call staged the data files

    def drop_our_staging() -> None:
        """Remove the staging this call made (no release will take it)."""
        if staged is not None and staging is not None and staging.done() and not staging.exception():
            if staging.result():
                discard(staged)

    try:
        # Leaving the pool's block waits for the staging thread; only then is the switch interval restored.
        with quick_gil_handoff(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage") as pool:
            # The release's data files are written while the suites run: GX holds the GIL,
            # the writes mostly do not, so on two cores the release step is left little to write.
            if staged is not None:
                staging = pool.submit(stage_files, staged, content.frames, content.encoded, content.sha256, delta)
            outcomes = run_expectations(content, tmp / DOCS_FOLDER, delta)
            passed = all(o.passed for o in outcomes.values())
            if out_dir is not None and passed:
                # Still beside the staging thread: Frictionless holds the GIL as GX did.
                record_package_check(tmp, content, out_dir)
        if not passed:
            drop_our_staging()
        (tmp / GX_OUTCOMES).write_text(
            json.dumps([asdict(o) for o in outcomes.values()], ensure_ascii=False, default=str), encoding="utf-8"
        )
        shutil.rmtree(record, ignore_errors=True)
        os.rename(tmp, record)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        drop_our_staging()
        raise
    return outcomes


def record_package_check(record: Path, content: Content, out_dir: Path) -> None:
    """Frictionless on the rows of ``content`` new since ``latest``, before any file is written; kept in ``record``.

    Only where the release would validate a delta (a full validation reads the
    written files, so the release runs it). The release uses the record when
    its descriptor and previous release are these (:func:`recorded_package_check`);
    it publishes the bytes checked here, verified by hash.
    """
    previous = previous_release(out_dir / DATASET)
    if previous is None or not delta_check_possible(previous):
        return
    descriptor = release_descriptor(content)
    try:
        check = check_package(
            None, descriptor, content.frames, previous, written=content.encoded, work_parent=out_dir / DATASET
        )
    except Exception as exc:  # nothing recorded: the release validates the package itself, and fails there if it must
        log.warning("Frictionless ahead of the release did not run (%s); the release will run it", exc)
        return
    item = {"descriptor_sha256": _descriptor_sha256(descriptor), "previous": previous.name, "check": asdict(check)}
    (record / PACKAGE_CHECK).write_text(json.dumps(item, ensure_ascii=False, default=str), encoding="utf-8")


def recorded_package_check(
    records: Path | None, version: str, descriptor: dict[str, Any], previous: Path | None, full: bool | None
) -> PackageCheck | None:
    """The check's Frictionless validation of this very package against this ``previous``, if it recorded one."""
    if records is None or previous is None or not delta_check_possible(previous, full):
        return None
    try:
        item = json.loads((gx_record_path(records, version) / PACKAGE_CHECK).read_text(encoding="utf-8"))
        if item["previous"] != previous.name or item["descriptor_sha256"] != _descriptor_sha256(descriptor):
            return None
        check = item["check"]
        return PackageCheck(
            [BlockingFailure(**f) for f in check["failures"]],
            str(check["mode"]),
            int(check["rows_validated"]),
            int(check["rows_total"]),
            {str(k): str(v) for k, v in check["full_tables"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def staged_path(out_dir: Path, version: str) -> Path:
    """Where the GX check stages the data files of ``version`` for ``release`` (named for this code too)."""
    return out_dir / DATASET / f"{STAGED_PREFIX}{version}-{code_fingerprint()}"


def recorded_expectations(records: Path, version: str) -> tuple[dict[str, GxOutcome], Path] | None:
    """The outcomes and docs folder recorded for ``version`` by this code (None when there is none)."""
    record = gx_record_path(records, version)
    try:
        items = json.loads((record / GX_OUTCOMES).read_text(encoding="utf-8"))
        outcomes = {
            i["table"]: GxOutcome(
                i["table"],
                bool(i["passed"]),
                int(i["n_expectations"]),
                [GxFailure(**f) for f in i["failures"]],
                int(i.get("rows", 0)),
            )
            for i in items
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if set(outcomes) != set(TABLES) or not (record / DOCS_FOLDER / "index.html").is_file():
        return None
    return outcomes, record / DOCS_FOLDER


def prune_gx_records(records: Path | None, version: str | None = None) -> None:
    """Drop the record of ``version`` (consumed) and any record older than a day."""
    if records is None or not records.is_dir():
        return
    now = time.time()
    for path in records.iterdir():
        stale = now - path.stat().st_mtime > GX_RECORD_TTL_SECONDS
        if stale or (version is not None and path.name.startswith(f"{version}-")):
            shutil.rmtree(path, ignore_errors=True)


def _expectations(
    content: Content, tmp: Path, records: Path | None, delta: ReleaseDelta | None
) -> tuple[dict[str, GxOutcome], str]:
    """GX outcomes for the release, its data docs in ``tmp``: recorded by the check, or run now."""
    recorded = recorded_expectations(records, content.version) if records is not None else None
    if recorded is not None:
        outcomes, docs = recorded
        try:
            shutil.copytree(docs, tmp / DOCS_FOLDER)
            return outcomes, "recorded by the check"
        except OSError:  # the record went away meanwhile (pruned by another build): validate here
            shutil.rmtree(tmp / DOCS_FOLDER, ignore_errors=True)
    outcomes = run_expectations(content, tmp / DOCS_FOLDER, delta)
    return outcomes, "run" + (f" on {delta.describe()}" if delta is not None else "")


def write_release(
    frames: dict[str, pl.DataFrame],
    out_dir: Path,
    *,
    expectations: bool = True,
    gx_records: Path | None = None,
    full_validation: bool | None = None,
    repository: str | None = None,
    tables_checked: bool = False,
) -> Release:
    """Check, write, validate and atomically publish a release of all tables.

    Blocking, in order: Pandera models and foreign keys (before anything is
    written), Great Expectations suites, schema drift of the written package,
    Frictionless validation. Any failure raises :class:`ReleaseBlocked` naming
    the table, rows and reason; ``latest`` and earlier releases stay as they were.

    ``expectations``: the release must meet the GX suites. With ``gx_records``
    (where :func:`record_expectations` wrote), a validation of this very
    content by this very code is reused; otherwise the suites run here.
    ``full_validation``: Frictionless reads every row instead of the rows new
    since ``latest`` (default: ``POLICY_TASKS_FULL_VALIDATION``).
    ``tables_checked``: the caller ran the Pandera and foreign-key checks on
    these very frames and they passed (the blocking asset checks of the same
    Dagster run), so they are not run twice.
    """
    failures = [] if tables_checked else table_failures(frames)
    if failures:
        raise _reject(failures, "release blocked by the table checks")
    content = release_content(frames)
    frames, version, created = content.frames, content.version, content.created
    dataset_dir = out_dir / DATASET
    with publish_lock(dataset_dir):
        final = dataset_dir / version
        if final.is_dir():
            point_latest(dataset_dir, version)
            prune_gx_records(gx_records, version)
            discard(staged_path(out_dir, version))  # staged by this build's check while another published it
            return Release(final, version, created, new=False)
        for stale in dataset_dir.glob(".tmp-*"):  # left by a crashed build; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        prune_staged(dataset_dir)
        prune_records(dataset_dir)
        previous = previous_release(dataset_dir)
        delta = delta_for_version(version, frames, previous)
        tmp = dataset_dir / f".tmp-{version}-{os.getpid()}"
        try:
            # Leaving this block waits for the writer threads, so a failure removes a finished tmp.
            with quick_gil_handoff(), ThreadPoolExecutor(max_workers=2) as pool:
                release = _write_and_check(
                    pool,
                    tmp,
                    staged_path(out_dir, version),
                    content,
                    delta,
                    previous,
                    expectations,
                    gx_records,
                    full_validation,
                    repository,
                )
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        point_latest(dataset_dir, version)
        prune_gx_records(gx_records, version)
        return release


def _write_and_check(
    pool: ThreadPoolExecutor,
    tmp: Path,
    staged: Path,
    content: Content,
    delta: ReleaseDelta | None,
    previous: Path | None,
    expectations: bool,
    gx_records: Path | None,
    full_validation: bool | None,
    repository: str | None,
) -> Release:
    """Write the release into ``tmp`` and run its blocking checks (raises on failure).

    The data files come from ``staged`` when the GX check staged them there for
    this content; otherwise the CSVs are written now and the copies and the
    DuckDB file in threads while the checks below run (DuckDB, Parquet and file
    writes release the GIL).
    """
    frames, encoded, version, created = content.frames, content.encoded, content.version, content.created
    descriptor = release_descriptor(content)
    resources = descriptor["resources"]
    tables = {r["path"]: r["sha256"] for r in resources}  # each table's CSV, hashed from its bytes
    taken = take_staged(staged, tmp)
    if taken is None:
        finish = start_data_files(pool, tmp, frames, encoded, delta)
    else:
        # SHA256SUMS vouches for the bytes on disk: staged files written since they were
        # hashed (their stamps say so) are hashed again while the checks run, the table
        # CSVs first, since Frictionless may read them from disk.
        staged_hashes, unchanged = taken

        def verified_tables() -> None:
            """The staged table CSVs are the content's bytes: written anew where they are not."""
            try:
                verify_files(tmp, tables, unchanged)
            except StageError as exc:
                log.warning("%s; writing the table CSVs anew", exc)
                write_tables(tmp, encoded)

        tables_ready = pool.submit(verified_tables)
        others = {rel: d for rel, d in staged_hashes.items() if rel not in tables}
        others_verified = pool.submit(verify_files, tmp, others, unchanged)

        def finish() -> dict[str, str]:
            try:
                return tables | others_verified.result()
            except StageError as exc:
                log.warning("%s; writing the data files anew", exc)
                return start_data_files(pool, tmp, frames, encoded, delta)()

    n_expectations, gx_note = 0, "skipped"
    if expectations:
        gx_delta = None if full_validation_requested(full_validation) else delta
        outcomes, gx_note = _expectations(content, tmp, gx_records, gx_delta)
        failures = gx_failures(outcomes)
        if failures:
            raise _reject(failures, "release blocked by Great Expectations")
        n_expectations = sum(o.n_expectations for o in outcomes.values())
    problems = drift(descriptor)
    if problems:
        raise _reject([BlockingFailure("datapackage", "schema_drift", p) for p in problems], "schema drift")
    (tmp / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    check = recorded_package_check(gx_records, version, descriptor, previous, full_validation)
    frictionless_note = " (recorded by the check)" if check is not None else ""
    if check is None:
        if taken is not None:
            tables_ready.result()  # Frictionless may read them from disk
        check = check_package(tmp, descriptor, frames, previous, full_validation, written=encoded)
    if check.failures:
        raise _reject(check.failures, "release failed Frictionless validation")
    (tmp / "README.md").write_text(release_readme(version, created, frames, n_expectations), encoding="utf-8")
    (tmp / "CITATION.cff").write_text(citation_cff(version, created, repository), encoding="utf-8")
    old_log = previous / "CHANGELOG.md" if previous else None
    (tmp / "CHANGELOG.md").write_text(
        changelog_markdown(
            version,
            created,
            frames,
            previous.name if previous else None,
            delta.old if delta is not None else read_release_tables(previous) if previous else {},
            old_log.read_text(encoding="utf-8") if old_log and old_log.is_file() else None,
            delta,
        ),
        encoding="utf-8",
    )
    if taken is not None:
        tables_ready.result()
    try:
        hashes = tables | finish()
    except StageError as exc:  # a failure to write them fails the release, named
        raise PublishError(str(exc)) from exc
    (tmp / "SHA256SUMS").write_text(sha256sums(tmp, hashes), encoding="utf-8")
    record_release(tmp, version, {rel: hashes[rel] for rel in data_files() if rel in hashes})
    rows = "every row" if check.mode == "full" else f"{check.rows_validated} of {check.rows_total} rows"
    return Release(
        tmp.parent / version,
        version,
        created,
        new=True,
        previous=previous.name if previous else None,
        hashes=tables,
        expectations=gx_note,
        frictionless=f"{check.mode}: {rows}{frictionless_note}",
    )
