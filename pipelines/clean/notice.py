"""Clean a decoded notice: canonical punctuation, no boilerplate, no repeats."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mypy_extensions import mypyc_attr

from pipelines.clean.boilerplate import boilerplate_reason, may_float
from pipelines.clean.duplicates import repeated_line_indexes
from pipelines.clean.punctuation import normalize_punctuation, split_lines
from pipelines.clean.script import SAMPLE_CHARS, detect_script, simplified_lines


# Pickled between runs (the per-partition store): a plain class, also when compiled.
@mypyc_attr(native_class=False)
@dataclass(frozen=True)
class CleanedNotice:
    """Cleaned text, line by line, in the original script and simplified."""

    lines: list[str]
    lines_simplified: list[str]
    script: str
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def text_simplified(self) -> str:
        return "\n".join(self.lines_simplified)


def _sample(lines: list[str], simplified: list[str]) -> tuple[str, str]:
    """The start of the text and of its twin that decides the script: the lines up to SAMPLE_CHARS."""
    k, size = 0, 0
    while k < len(lines) and size < SAMPLE_CHARS:
        size += len(lines[k]) + 1
        k += 1
    return "\n".join(lines[:k]), "\n".join(simplified[:k])


def clean_notice(text: str) -> CleanedNotice:
    """Normalise, drop boilerplate and repeated paragraphs; count what went."""
    removed: Counter[str] = Counter()
    kept: list[str] = []
    text = normalize_punctuation(text)
    floating = may_float(text)
    for line in split_lines(text):
        # Per line too: in a notice with a widget, most lines still hold no mark.
        reason = boilerplate_reason(line, floating and may_float(line))
        if reason:
            removed[reason] += 1
            continue
        kept.append(line)
    repeated = repeated_line_indexes(kept)
    removed["repeated_paragraph"] += len(repeated)
    lines = [line for i, line in enumerate(kept) if i not in repeated]
    # Converting line by line keeps the two versions aligned for the parser.
    simplified = simplified_lines(lines)
    script = detect_script(*_sample(lines, simplified))
    return CleanedNotice(lines, simplified, script, {k: v for k, v in removed.items() if v})
