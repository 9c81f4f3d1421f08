"""Scripts: traditional text gets a simplified twin; the original is kept."""

from __future__ import annotations

from functools import lru_cache

from opencc import OpenCC

# Share of CJK characters that t2s changes above which a text is traditional.
# Simplified text scores ~0; traditional notices score well above 5 %.
TRADITIONAL_SHARE = 0.03


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Simplified twin of ``text`` (line structure preserved)."""
    return _t2s().convert(text)


def detect_script(text: str, simplified: str | None = None) -> str:
    """``traditional`` when a notable share of CJK characters change under t2s."""
    simplified = to_simplified(text) if simplified is None else simplified
    cjk = changed = 0
    for a, b in zip(text, simplified, strict=False):
        if "\u4e00" <= a <= "\u9fff":
            cjk += 1
            changed += a != b
    if cjk == 0:
        return "simplified"
    return "traditional" if changed / cjk >= TRADITIONAL_SHARE else "simplified"
