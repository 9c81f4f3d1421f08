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
# One regex finds the few characters to map; str.translate with a dict table
# walks every character in Python-level lookups and is several times slower.
_FULL = re.compile("[" + "".join(re.escape(c) for c in _FULL_TO_HALF) + "]")

_SPACES = re.compile(r"[ \t\r\f\v]+")


def normalize_punctuation(text: str) -> str:
    """Map full-width structural punctuation and digits to half-width."""
    return _FULL.sub(lambda m: _FULL_TO_HALF[m.group()], text)


def collapse_spaces(line: str) -> str:
    """Collapsed runs of spaces, no edge whitespace (punctuation already canonical)."""
    return _SPACES.sub(" ", line).strip()
