"""Read one file of raw/: bytes → decoded text, or a rejection with its reason."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingest.decode import RejectedInput, decode_notice
from pipelines.ingest.keys import partition_key

NOTICE_SUFFIXES = (".txt", ".html", ".htm")


@dataclass(frozen=True)
class Rejection:
    """A file that did not become a notice, and why (one row of ``rejects``)."""

    stage: str
    reason: str


@dataclass(frozen=True)
class RawNotice:
    """A file of raw/ as decoded text, or the reason it could not be."""

    notice_id: str
    file_name: str
    raw_sha256: str | None
    encoding: str | None
    text: str | None
    is_html: bool = False
    rejection: Rejection | None = None


def list_notice_files(raw_dir: Path) -> dict[str, Path]:
    """Notice files of ``raw_dir`` keyed by partition key (sorted; hidden and editor lock files skipped)."""
    files: dict[str, Path] = {}
    for path in sorted(raw_dir.iterdir()) if raw_dir.is_dir() else []:
        # "~$通知.txt": the lock file Office and WPS keep beside a file they have open.
        if path.is_file() and not path.name.startswith((".", "~$")) and path.suffix.lower() in NOTICE_SUFFIXES:
            files[partition_key(path.name)] = path
    return files


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_notice(path: Path) -> RawNotice:
    """Decode one file; never raises for bad content, only records the reason."""
    key = partition_key(path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return RawNotice(key, path.name, None, None, None, rejection=Rejection("decode", f"cannot read file: {exc}"))
    digest = sha256_bytes(data)
    try:
        decoded = decode_notice(data)
    except RejectedInput as exc:
        return RawNotice(key, path.name, digest, None, None, rejection=Rejection("decode", exc.reason))
    return RawNotice(key, path.name, digest, decoded.encoding, decoded.text, decoded.is_html)
