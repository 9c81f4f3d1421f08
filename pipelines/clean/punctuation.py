"""Punctuation: one canonical form so that full- and half-width text parse alike."""

from __future__ import annotations

import re

# Full-width forms that carry structure (brackets, separators, digits) become
# their ASCII twins; 、。“”《》〔〕 stay, they are not ambiguous.
_FULL_TO_HALF = {
    "（": "(",
    "）": ")",
    "：": ":",
    "；": ";",
    "，": ",",
    "！": "!",
    "？": "?",
    "．": ".",
    "％": "%",
    "＋": "+",
    "－": "-",
    "～": "~",
    "　": " ",
    "\u00a0": " ",
    "\u200b": "",
    "\ufeff": "",
}
_FULL_TO_HALF.update({chr(0xFF10 + i): str(i) for i in range(10)})
_FULL_TO_HALF.update({chr(0xFF21 + i): chr(0x41 + i) for i in range(26)})
_FULL_TO_HALF.update({chr(0xFF41 + i): chr(0x61 + i) for i in range(26)})
_TABLE = str.maketrans(_FULL_TO_HALF)

_SPACES = re.compile(r"[ \t\r\f\v]+")


def normalize_punctuation(text: str) -> str:
    """Map full-width structural punctuation and digits to half-width."""
    return text.translate(_TABLE)


def normalize_line(line: str) -> str:
    """Canonical punctuation, collapsed runs of spaces, no edge whitespace."""
    return _SPACES.sub(" ", normalize_punctuation(line)).strip()
