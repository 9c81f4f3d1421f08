"""Partition keys / notice ids derived from raw file names.

Keys become file names in IO managers and Dagster dynamic-partition keys, so
they are made safe by construction: only Unicode word characters and `-`, no
path separators, no dot segments, no whitespace or control characters, at most
64 characters (64 CJK characters are 192 UTF-8 bytes, well under the usual
255-byte file-name limit).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["MAX_KEY_LENGTH", "partition_key"]

MAX_KEY_LENGTH = 64

# Length of the disambiguating digest suffix (hex characters of sha256).
_HASH_CHARS = 8

# The seed notices are `<id>.txt`; dropping that suffix is the one rename that
# does not count as a change.  Other extensions (and `.TXT`) are dropped too,
# but count as a change so that `a.txt` and `a.html` keep distinct keys.
_FREE_EXTENSION = ".txt"
_EXTENSION_RE = re.compile(r"\.(?:txt|html|htm)\Z", re.IGNORECASE)

# Python's `\w` on str is Unicode-aware: letters (incl. CJK), digits, `_`.
_UNSAFE_RUN_RE = re.compile(r"[^\w-]+")


def _digest(file_name: str) -> str:
    # surrogatepass: names from os.listdir may carry lone surrogates
    # (undecodable bytes under surrogateescape); they must hash, not crash.
    raw = file_name.encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:_HASH_CHARS]


def partition_key(file_name: str) -> str:
    """Safe, deterministic, collision-resistant key for a notice file name.

    `000_4a4d088645525890.txt` -> `000_4a4d088645525890`; names that had to be
    sanitised or truncated get `_` + 8 hex chars of sha256(original name).
    """
    if file_name.endswith(_FREE_EXTENSION):
        stem = file_name[: -len(_FREE_EXTENSION)]
        extension_changed = False
    else:
        stem = _EXTENSION_RE.sub("", file_name)
        extension_changed = stem != file_name

    normalised = unicodedata.normalize("NFC", stem)
    safe = _UNSAFE_RUN_RE.sub("_", normalised).lstrip("-_.")

    # Compare with the original stem, not the NFC form: NFC and NFD spellings
    # are different file names and must not share a key.
    if safe and safe == stem and not extension_changed and len(safe) <= MAX_KEY_LENGTH:
        return safe

    suffix = _digest(file_name)
    if not safe:
        return suffix  # nothing usable left (e.g. "...", "???"): hash alone
    # rstrip: a replaced trailing run would otherwise read "name__1a2b3c4d".
    prefix = safe[: MAX_KEY_LENGTH - _HASH_CHARS - 1].rstrip("_")
    return f"{prefix}_{suffix}"
