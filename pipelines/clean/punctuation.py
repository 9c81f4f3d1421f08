"""Punctuation: one canonical form so that full- and half-width text parse alike."""

from __future__ import annotations

import re

from pipelines.clean.codeunits import code_units, distinct_in, unit_table

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
# Which of them occur is looked up in a code-unit table (all are BMP characters);
# str.translate with a dict table walks every character in Python-level lookups
# and is several times slower, a regex class scan about twice as slow.
_FULL = unit_table(_FULL_TO_HALF)

# Runs of two or more spaces (tabs are spaces by then). The pattern opens on a
# literal, which the engine finds with a plain character compare; a character
# class costs a function call per character (~5x slower over a whole notice).
_SPACE_RUN = re.compile("  +")


def normalize_punctuation(text: str) -> str:
    """Map full-width structural punctuation and digits to half-width."""
    # A notice uses a handful of distinct full-width characters, each many times:
    # one C-level str.replace per distinct character beats a Python callback per
    # occurrence. Safe in any order: every replacement is ASCII or empty, never a key.
    for char in distinct_in(code_units(text), _FULL):
        text = text.replace(char, _FULL_TO_HALF[char])
    return text


def split_lines(text: str) -> list[str]:
    """Lines with runs of spaces collapsed and no edge whitespace; empty lines dropped.

    One substitution over the whole text, not one per line.
    """
    # Spaces and tabs only: the other blanks (\r \f \v) end a line for splitlines().
    # Any run of them, or a lone tab, becomes one space: tabs turned into spaces
    # first, runs of spaces then collapse. Substring tests (C) spare the scans.
    if "\t" in text:
        text = text.replace("\t", " ")
    if "  " in text:
        text = _SPACE_RUN.sub(" ", text)
    return [s for line in text.splitlines() if (s := line.strip())]
