"""Clean a decoded notice: canonical punctuation, no boilerplate, no repeats."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pipelines.clean.boilerplate import boilerplate_reason, may_float
from pipelines.clean.duplicates import repeated_line_indexes
from pipelines.clean.punctuation import normalize_punctuation, split_lines
from pipelines.clean.script import detect_script, simplified_lines


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


def clean_notice(text: str) -> CleanedNotice:
    """Normalise, drop boilerplate and repeated paragraphs; count what went."""
    removed: Counter[str] = Counter()
    kept: list[str] = []
    text = normalize_punctuation(text)
    floating = may_float(text)
    for line in split_lines(text):
        reason = boilerplate_reason(line, floating)
        if reason:
            removed[reason] += 1
            continue
        kept.append(line)
    repeated = repeated_line_indexes(kept)
    removed["repeated_paragraph"] += len(repeated)
    lines = [line for i, line in enumerate(kept) if i not in repeated]
    # Converting line by line keeps the two versions aligned for the parser.
    simplified = simplified_lines(lines)
    script = detect_script("\n".join(lines), "\n".join(simplified))
    return CleanedNotice(lines, simplified, script, {k: v for k, v in removed.items() if v})
