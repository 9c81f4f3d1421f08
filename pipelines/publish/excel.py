"""CSV for Excel: the same bytes as the UTF-8 CSV, preceded by a byte-order mark.

Excel opens a BOM-less UTF-8 CSV in the system code page (GBK on a Chinese
Windows, cp1252 elsewhere) and shows mojibake; with the BOM it reads UTF-8.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BOM = b"\xef\xbb\xbf"
FOLDER = "csv-excel"


def excel_csv_bytes(csv_bytes: bytes) -> bytes:
    """UTF-8 CSV bytes with a BOM in front (never two)."""
    return csv_bytes if csv_bytes.startswith(BOM) else BOM + csv_bytes


def write_excel_csv(path: Path, csv_bytes: bytes) -> str:
    """Write :func:`excel_csv_bytes` to ``path`` without copying the table; returns its SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        if not csv_bytes.startswith(BOM):
            fh.write(BOM)
            digest.update(BOM)
        fh.write(csv_bytes)
    digest.update(csv_bytes)
    return digest.hexdigest()
