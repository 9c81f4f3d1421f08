"""The data files of a release: each table's CSV, its Excel copy and Parquet copy, and the DuckDB file.

They are most of a release's bytes (about 640 MB for a thousand notices) and
none of its checks reads them back except the CSVs, so they can be written
before the checks are done. :func:`stage_files` does that from the Great
Expectations check, while the suites run (they hold the GIL; these writes
mostly do not), into a hidden folder beside the releases; ``release`` then
takes the folder over with one rename (:func:`take_staged`) instead of writing
the files after the check. When nothing was staged for this content and this
code, ``release`` writes them itself (:func:`write_tables`,
:func:`write_copies`, :func:`write_database`), as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import polars as pl

from pipelines.publish.delta import ReleaseDelta, release_sums, remember_written
from pipelines.publish.duckdb_export import patch_duckdb, write_duckdb
from pipelines.publish.excel import FOLDER as EXCEL_FOLDER
from pipelines.publish.excel import write_excel_csv
from pipelines.publish.release_readme import DUCKDB_FILE
from pipelines.publish.stamps import recorded_sha256, stamp_entries, unchanged
from schemas.tables import TABLES

STAGED_PREFIX = ".staged-"  # a finished staging, named for its version and code
STAGING_PREFIX = ".staging-"  # one being written (uniquely suffixed)
MANIFEST = "staged.json"
STAGE_TTL_SECONDS = 3600  # a staging no release took (its run stopped) is dropped by a later build after this
log = logging.getLogger(__name__)


_handoff_lock = threading.Lock()
_handoff_users = 0
_handoff_saved = 0.0


@contextlib.contextmanager
def quick_gil_handoff(interval: float = 0.0005) -> Iterator[None]:
    """While writer threads run beside Python-bound checks, hand the GIL over every ``interval`` s.

    A writer releases the GIL for each write, hash, Polars or DuckDB call and
    must take it back to go on. While the GX suites or Frictionless (pure
    Python) hold it, each take-back waits for the switch interval, 5 ms by
    default: with hundreds of such calls the writers crawled (the DuckDB patch
    took twice as long beside GX as alone). The interval is process-wide: it is
    restored when the last of the blocks that use it (in any thread) ends.
    """
    global _handoff_users, _handoff_saved
    with _handoff_lock:
        if _handoff_users == 0:
            _handoff_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_handoff_saved, interval))
        _handoff_users += 1
    try:
        yield
    finally:
        with _handoff_lock:
            _handoff_users -= 1
            if _handoff_users == 0:
                sys.setswitchinterval(_handoff_saved)


class StageError(RuntimeError):
    """A data file could not be written; says which."""


def data_files() -> list[str]:
    """Every data file of a release, by path inside it."""
    files = [f"{name}.csv" for name in TABLES]
    files += [f"{EXCEL_FOLDER}/{name}.csv" for name in TABLES]
    files += [f"parquet/{name}.parquet" for name in TABLES]
    return [*files, DUCKDB_FILE]


def write_tables(root: Path, encoded: dict[str, bytes]) -> None:
    """Each table's CSV (the bytes the package describes and Frictionless validates)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, data in encoded.items():
        (root / f"{name}.csv").write_bytes(data)


def write_copies(root: Path, frames: dict[str, pl.DataFrame], encoded: dict[str, bytes]) -> dict[str, str]:
    """The Excel CSV and Parquet copy of each table; returns their SHA-256 by path."""
    (root / "parquet").mkdir(parents=True, exist_ok=True)
    (root / EXCEL_FOLDER).mkdir(exist_ok=True)
    hashes = {}
    for name, data in encoded.items():
        hashes[f"{EXCEL_FOLDER}/{name}.csv"] = write_excel_csv(root / EXCEL_FOLDER / f"{name}.csv", data)
        parquet = root / "parquet" / f"{name}.parquet"
        frames[name].write_parquet(parquet, statistics=False)
        hashes[f"parquet/{name}.parquet"] = file_sha256(parquet)
        remember_written(name, hashes[f"parquet/{name}.parquet"], frames[name])
    return hashes


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, hashed in one call over a memory map.

    One call releases the GIL once: hashing chunk by chunk takes the GIL back
    for every chunk, and while the GX suites run in the main thread each of
    those waits could cost a switch interval (a 150 MB file took seconds).
    """
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return hashlib.sha256(b"").hexdigest()
        try:
            view = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError:  # a file system that cannot map files: hash it chunk by chunk
            return hashlib.file_digest(fh, "sha256").hexdigest()
        with view:
            return hashlib.sha256(view).hexdigest()


def _copy_duckdb(delta: ReleaseDelta, dest: Path) -> bool:
    """Copy the previous release's DuckDB file to ``dest`` when it is the file that release recorded."""
    source, recorded = delta.base / DUCKDB_FILE, release_sums(delta.base).get(DUCKDB_FILE)
    try:
        # The copy is made by the kernel: the file is never read into memory.
        shutil.copyfile(source, dest)
        # Unchanged since the release wrote it, before the copy and still after it (stamps.py):
        # the copy is that file. Otherwise the copy is hashed, over a memory map.
        known = recorded_sha256(delta.base, DUCKDB_FILE)
        digest = known if known == recorded else file_sha256(dest)
    except OSError:
        return False
    return digest == recorded


def write_database(db: Path, frames: dict[str, pl.DataFrame], delta: ReleaseDelta | None = None) -> str:
    """The DuckDB file: the previous release's with the delta applied, else written anew; returns its SHA-256.

    Loading every row with its keys enforced is the slowest write of a release.
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    patched = False
    if delta is not None and _copy_duckdb(delta, db):
        try:
            patched = patch_duckdb(db, delta, frames)
        except (duckdb.Error, ValueError) as exc:  # ValueError: insert_batches found no order for the rows
            # A fresh write enforces the same keys: a real problem with the rows fails it too.
            log.warning("%s: patching the previous release's file failed (%s); writing it anew", DUCKDB_FILE, exc)
    if not patched:
        db.unlink(missing_ok=True)
        write_duckdb(frames, db)
    return file_sha256(db)


def start_data_files(
    pool: ThreadPoolExecutor,
    root: Path,
    frames: dict[str, pl.DataFrame],
    encoded: dict[str, bytes],
    delta: ReleaseDelta | None,
) -> Callable[[], dict[str, str]]:
    """Write the CSVs into ``root`` and start the DuckDB file and the copies in ``pool``'s threads.

    Returns the function that waits for those threads and returns the SHA-256
    of the files they wrote by path; it raises :class:`StageError` naming the
    file that failed. DuckDB, Parquet, hashing and file writes release the GIL,
    so the caller's checks run meanwhile. Leaving ``pool``'s block waits for the
    threads, so a caller that removes ``root`` on failure removes a finished folder.
    """
    root.mkdir(parents=True, exist_ok=True)
    database = pool.submit(write_database, root / DUCKDB_FILE, frames, delta)
    copies = pool.submit(write_copies, root, frames, encoded)
    write_tables(root, encoded)

    def finish() -> dict[str, str]:
        try:
            hashes = {DUCKDB_FILE: database.result()}
        except (OSError, duckdb.Error, ValueError) as exc:
            raise StageError(f"{DUCKDB_FILE} could not be written: {exc}") from exc
        try:
            return hashes | copies.result()
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise StageError(f"the {EXCEL_FOLDER}/ and parquet/ copies could not be written: {exc}") from exc

    return finish


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def discard(folder: Path) -> None:
    """Remove a staging: renamed first, so a release taking it over gets all of it or none.

    (``rmtree`` deletes through an open handle: a folder renamed while it runs
    would go on losing files under its new name, inside a release.)
    """
    doomed = folder.with_name(f".discard-{uuid.uuid4().hex}")
    try:
        os.rename(folder, doomed)
    except OSError:
        return  # taken, or removed, meanwhile
    shutil.rmtree(doomed, ignore_errors=True)


def prune_staged(dataset_dir: Path) -> None:
    """Drop stagings no release took that are over :data:`STAGE_TTL_SECONDS` old (a stopped run's)."""
    for path in [*dataset_dir.glob(f"{STAGED_PREFIX}*"), *dataset_dir.glob(f"{STAGING_PREFIX}*")]:
        if _age(path) > STAGE_TTL_SECONDS:
            discard(path)
    for path in dataset_dir.glob(".discard-*"):  # left by a process that stopped mid-removal
        if _age(path) > STAGE_TTL_SECONDS:
            shutil.rmtree(path, ignore_errors=True)


def stage_files(
    staged: Path,
    frames: dict[str, pl.DataFrame],
    encoded: dict[str, bytes],
    sha256: dict[str, str],
    delta: ReleaseDelta | None,
) -> bool:
    """Write the data files of a release into the folder ``staged`` ahead of its checks.

    ``staged`` names the content and the code (the caller's choice); the files
    are written beside it under a unique name and renamed into place with a
    manifest of their sizes and hashes, so a folder under that name is always
    complete. True when this call made the folder (False when another build of
    the same content had, or on failure). A failure is logged, and what it
    wrote is removed: ``release`` then writes the files itself.
    """
    if staged.is_dir():
        return False
    tmp = staged.with_name(f"{STAGING_PREFIX}{staged.name[len(STAGED_PREFIX) :]}-{uuid.uuid4().hex[:12]}")
    try:
        prune_staged(staged.parent)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="stage") as pool:
            hashes = start_data_files(pool, tmp, frames, encoded, delta)()
        hashes |= {f"{name}.csv": sha256[name] for name in encoded}
        manifest = stamp_entries(tmp, {rel: hashes[rel] for rel in data_files()})  # the stamp starts with the size
        (tmp / MANIFEST).write_text(json.dumps({"files": manifest}, indent=1), encoding="utf-8")
        os.rename(tmp, staged)  # fails when another build renamed the same content first: theirs is as good
        return True
    except Exception as exc:  # the release writes them itself, and fails there if it must
        if not staged.is_dir():
            log.warning("staging the data files in %s failed (%s); the release will write them", staged, exc)
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def verify_files(root: Path, hashes: dict[str, str], unchanged: frozenset[str] = frozenset()) -> dict[str, str]:
    """Check that each file under ``root`` has the SHA-256 ``hashes`` gives it; returns ``hashes``.

    Raises :class:`StageError` naming the first that does not: a staged file
    is published only as the bytes its manifest (and the content) say.
    ``unchanged``: files known not to have been written since they were hashed (stamps.py).
    """
    for rel, digest in hashes.items():
        if rel in unchanged:
            continue
        try:
            found = file_sha256(root / rel)
        except OSError as exc:
            raise StageError(f"{rel} cannot be read: {exc}") from exc
        if found != digest:
            raise StageError(f"{rel} is not the file that was staged")
    return hashes


def take_staged(staged: Path, dest: Path) -> tuple[dict[str, str], frozenset[str]] | None:
    """Move a staging to ``dest`` (which must not exist); the files' SHA-256 by path, None when unusable.

    Also the files that still carry the stamp the manifest recorded when they
    were hashed: not written since (stamps.py), they need no second hashing.

    Usable means: its manifest names every data file with a hash, and each
    file is there with the size the manifest records. The caller holds the
    publish lock (no other release takes the folder meanwhile; a build pruning
    old stagings without it renames a folder away whole, so the rename here gets
    all of it or fails) and hashes the files that may have changed again
    (:func:`verify_files`) before it vouches for them.
    """
    try:
        recorded_at = (staged / MANIFEST).stat().st_mtime_ns
        manifest = json.loads((staged / MANIFEST).read_text(encoding="utf-8"))["files"]
        hashes = {rel: str(manifest[rel]["sha256"]) for rel in data_files()}
        for rel in data_files():
            if (staged / rel).stat().st_size != manifest[rel]["stamp"][0]:
                raise ValueError(f"{rel} is not the size it was staged with")
        os.rename(staged, dest)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if staged.exists():
            log.warning("the staged files in %s are unusable (%s); writing them anew", staged, exc)
            discard(staged)
        return None
    (dest / MANIFEST).unlink()
    return hashes, frozenset(rel for rel in data_files() if unchanged(dest / rel, manifest[rel], recorded_at))
