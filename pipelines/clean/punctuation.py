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

# Spaces and tabs only: the other blanks (\r \f \v) end a line for splitlines().
# Runs of two or more, or a lone tab. Written to open on a character class (the
# lone tab is a lookbehind) so the engine skips between blanks in C; the plain
# alternation ``[ \t]{2,}|\t`` is tried at every character and is ~2.5x slower.
_SPACES = re.compile(r"[ \t](?:[ \t]+|(?<=\t))")


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
    # Two substring tests (C) spare the regex scan to text with no run of blanks.
    if "  " in text or "\t" in text:
        text = _SPACES.sub(" ", text)
    return [s for line in text.splitlines() if (s := line.strip())]
