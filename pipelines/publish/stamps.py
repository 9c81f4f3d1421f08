"""Whether a file is still the file that was hashed, from what ``stat`` says of it.

A refresh used to hash hundreds of megabytes again to prove that files this
pipeline had written and hashed minutes before were untouched: the staged data
files when the release took them over, the previous release's CSVs and DuckDB
file before trusting their rows (about a second of CPU per refresh at 1 000
notices). Now, when a file is written and hashed, its stamp is recorded beside
the hash: size, inode, modification and change time. Any write to a file, or
any change of its metadata, sets its change time to the present, and no tool
can set it back, so a file that still carries the recorded stamp has not been
written since. A write within the same clock tick as the recording would keep
the change time; as git does for its index ("racily clean" entries), a stamp
counts only for a file whose change time is older than the record itself, and
any other file is hashed as before.

A release's stamps are kept outside it, in ``<dataset>/.stamps/<version>.json``
(a release folder holds what its SHA256SUMS lists); a staging's are in its manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.atomic import write_atomic

FOLDER = ".stamps"


def file_stamp(path: Path) -> list[int]:
    """Size, inode, modification and change time (ns) of ``path``."""
    st = path.stat()
    return [st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]


def stamp_entries(root: Path, hashes: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``{relative path: {"sha256", "stamp"}}`` of files under ``root`` whose hash was just taken."""
    return {rel: {"sha256": digest, "stamp": file_stamp(root / rel)} for rel, digest in hashes.items()}


def unchanged(path: Path, entry: Any, recorded_at_ns: int) -> bool:
    """``path`` carries the stamp of ``entry``, and was last changed before the record was written."""
    stamp = entry.get("stamp") if isinstance(entry, dict) else None
    try:
        now = file_stamp(path)
    except OSError:
        return False
    return now == stamp and now[3] < recorded_at_ns


def release_record(dataset_dir: Path, version: str) -> Path:
    """Where the stamps of the data files of release ``version`` are kept."""
    return dataset_dir / FOLDER / f"{version}.json"


def record_release(release_dir: Path, version: str, hashes: dict[str, str]) -> None:
    """Record the stamps of the files of release ``version``, written (and hashed) in ``release_dir``.

    ``release_dir`` may be the folder it is built in: a rename keeps inodes and times.
    """
    record = release_record(release_dir.parent, version)
    try:
        record.parent.mkdir(exist_ok=True)
        write_atomic(record, json.dumps(stamp_entries(release_dir, hashes)))
    except OSError:  # without a record the files are hashed when next needed
        pass


def recorded_sha256(release: Path, rel: str) -> str | None:
    """The SHA-256 a release's file had when it was written, if it was not changed since; else None."""
    record = release_record(release.parent, release.name)
    try:
        recorded_at = record.stat().st_mtime_ns
        entry = json.loads(record.read_text(encoding="utf-8")).get(rel)
    except (OSError, ValueError, AttributeError):
        return None
    if not unchanged(release / rel, entry, recorded_at):
        return None
    digest = entry.get("sha256")
    return digest if isinstance(digest, str) else None


def prune_records(dataset_dir: Path) -> None:
    """Drop the records of releases that are gone."""
    folder = dataset_dir / FOLDER
    if not folder.is_dir():
        return
    for record in folder.glob("*.json"):
        if not (dataset_dir / record.stem).is_dir():
            record.unlink(missing_ok=True)
