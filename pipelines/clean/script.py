"""Scripts: traditional text gets a simplified twin; the original is kept."""

from __future__ import annotations

import operator
import re
from functools import lru_cache

from opencc import OpenCC

# Share of CJK characters that t2s changes above which a text is traditional.
# Simplified text scores ~0; traditional notices score well above 5 %.
TRADITIONAL_SHARE = 0.03
SAMPLE_CHARS = 5_000
# A run of CJK ideographs. Spelled "one, then any more" rather than "+" so the
# pattern opens on a character class, which lets the engine skip between runs in C.
_CJK_RUN = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff]*")
_BLOCK = 64


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Simplified twin of ``text`` (line structure preserved)."""
    return _t2s().convert(text)


def detect_script(text: str, simplified: str | None = None) -> str:
    """``traditional`` when a notable share of CJK characters change under t2s."""
    # A sample decides: one notice has one script, and 50 MB files stay cheap.
    text = text[:SAMPLE_CHARS]
    simplified = to_simplified(text) if simplified is None else simplified[:SAMPLE_CHARS]
    cjk = sum(map(len, _CJK_RUN.findall(text)))
    # Characters that t2s changed are CJK by construction. Compare blocks first:
    # simplified text leaves almost every block unchanged, so few are counted.
    if len(text) == len(simplified):
        changed = sum(
            sum(map(operator.ne, text[i : i + _BLOCK], simplified[i : i + _BLOCK]))
            for i in range(0, len(text), _BLOCK)
            if text[i : i + _BLOCK] != simplified[i : i + _BLOCK]
        )
    else:
        changed = cjk
    if cjk == 0:
        return "simplified"
    return "traditional" if changed / cjk >= TRADITIONAL_SHARE else "simplified"
