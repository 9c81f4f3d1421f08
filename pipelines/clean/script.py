"""Scripts: traditional text gets a simplified twin; the original is kept."""

from __future__ import annotations

import operator
import re
from functools import lru_cache

import numpy as np
from opencc import OpenCC

from pipelines.clean.codeunits import code_units, lines_with, unit_table

# Share of CJK characters that t2s changes above which a text is traditional.
# Simplified text scores ~0; traditional notices score well above 5 %.
TRADITIONAL_SHARE = 0.03
SAMPLE_CHARS = 5_000
# A run of CJK ideographs. Spelled "one, then any more" rather than "+" so the
# pattern opens on a character class, which lets the engine skip between runs in C.
_CJK_RUN = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff]*")
_BLOCK = 64

# Where t2s changes a character of the Basic Multilingual Plane on its own:
# CJK extension A and unified ideographs, and the compatibility ideographs
# (tests/clean checks that no other BMP character changes).
_T2S_RANGES = ((0x3400, 0xA000), (0xF900, 0xFB00))
# Characters that t2s keeps alone but changes inside a TSPhrases entry
# (深沈 → 深沉, 答覆 → 答复, 毛坏 → 毛坯); tests/clean derives this list again
# from OpenCC's own phrase dictionary.
_PHRASE_ONLY = "么俱哩坏彷沈甦瞭藉衹覆"


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _t2s_changes() -> str:
    """Every BMP character t2s may change: those it changes alone, and _PHRASE_ONLY.

    Built on first use by converting each candidate character alone
    (~10 ms), so the set follows the installed OpenCC dictionaries.
    """
    chars = [chr(c) for lo, hi in _T2S_RANGES for c in range(lo, hi)]
    converted = _t2s().convert("\n".join(chars)).split("\n")
    return "".join(c for c, s in zip(chars, converted, strict=True) if c != s) + _PHRASE_ONLY


@lru_cache(maxsize=1)
def _t2s_trigger() -> re.Pattern[str]:
    """A character class of everything t2s may change (any supplementary-plane character too).

    A line without one of these is its own simplified twin: t2s works by
    dictionary lookup, and every entry that changes text holds one of them.
    """
    return re.compile(f"[{_t2s_changes()}\U00010000-\U0010ffff]")


@lru_cache(maxsize=1)
def _t2s_table() -> np.ndarray:
    """_t2s_trigger's class as a code-unit table: a superset (a lone high surrogate hits too)."""
    return unit_table(_t2s_changes(), supplementary=True)


def needs_t2s(text: str) -> bool:
    """True when t2s could change ``text``; False means it is already simplified."""
    return _t2s_trigger().search(text) is not None


def to_simplified(text: str) -> str:
    """Simplified twin of ``text`` (line structure preserved)."""
    # The scan is ~3x cheaper than a conversion, and most text needs none.
    return _t2s().convert(text) if needs_t2s(text) else text


def simplified_lines(lines: list[str]) -> list[str]:
    """The simplified twin of each line, aligned with ``lines`` (lines as split: none holds a line break).

    Only lines holding a character t2s may change go through OpenCC, in one
    call; a simplified notice has a handful of those (覆盖, 什么). t2s never
    matches across a line break, so converting lines apart or together is
    the same.
    """
    joined = "\n".join(lines)
    if joined.count("\n") != max(len(lines) - 1, 0):
        raise ValueError("simplified_lines takes lines without line breaks (as split_lines returns them)")
    out = list(lines)
    # One table scan of the whole text finds the lines that may change (~4x
    # faster than the regex's class test); the regex confirms each (it stops at
    # the line's first hit), so the table may be a superset.
    search = _t2s_trigger().search
    picked = [i for i in lines_with(code_units(joined), _t2s_table()) if search(lines[i])]
    if not picked:
        return out
    converted = _t2s().convert("\n".join([lines[i] for i in picked])).split("\n")
    if len(converted) != len(picked):  # never seen; keep alignment whatever OpenCC does
        converted = [_t2s().convert(lines[i]) for i in picked]
    for i, s in zip(picked, converted, strict=True):
        out[i] = s
    return out


def changed_chars(text: str, simplified: str) -> int:
    """How many positions of two texts of the same length hold different characters."""
    units, twin = code_units(text), code_units(simplified)
    if units.size == len(text) and twin.size == len(simplified):
        # No supplementary character, so a unit is a character: one vector compare.
        return int(np.count_nonzero(units != twin))
    # Compare blocks first: simplified text leaves almost every block unchanged.
    return sum(
        sum(map(operator.ne, text[i : i + _BLOCK], simplified[i : i + _BLOCK]))
        for i in range(0, len(text), _BLOCK)
        if text[i : i + _BLOCK] != simplified[i : i + _BLOCK]
    )


def detect_script(text: str, simplified: str | None = None) -> str:
    """``traditional`` when a notable share of CJK characters change under t2s."""
    # A sample decides: one notice has one script, and 50 MB files stay cheap.
    text = text[:SAMPLE_CHARS]
    simplified = to_simplified(text) if simplified is None else simplified[:SAMPLE_CHARS]
    if text == simplified:
        return "simplified"  # nothing changed (most notices): no share to work out
    # The share is of the ideographs _CJK_RUN counts (U+4E00–U+9FFF); t2s may also
    # change extension A and compatibility ideographs, so a sample with none of
    # the former is simplified whatever changed.
    if len(text) != len(simplified):
        # t2s changed the length, so characters no longer line up: all count as changed.
        return "traditional" if _CJK_RUN.search(text) is not None else "simplified"
    changed = changed_chars(text, simplified)
    # There are no more ideographs than characters: a share of the whole sample at
    # the threshold is a share of its ideographs too, decided without counting them.
    if changed / len(text) >= TRADITIONAL_SHARE and _CJK_RUN.search(text) is not None:
        return "traditional"
    cjk = sum(map(len, _CJK_RUN.findall(text)))
    if cjk == 0:
        return "simplified"
    return "traditional" if changed / cjk >= TRADITIONAL_SHARE else "simplified"
