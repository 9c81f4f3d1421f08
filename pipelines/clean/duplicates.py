"""Repeated paragraphs: newspaper pages and scrapes repeat whole blocks."""

from __future__ import annotations

# A paragraph this long repeated verbatim is a duplicate, not a refrain.
LONG_PARAGRAPH = 40


def repeated_line_indexes(lines: list[str]) -> set[int]:
    """Indexes of lines that repeat an earlier paragraph verbatim.

    Long paragraphs are dropped when seen before. A short line (a heading such
    as ``(六)…``) is dropped only when it starts a repeated block: it was seen
    before, followed by the same long paragraph that is dropped now. Short
    headings that recur legitimately (``一、工作目标`` in every attachment) stay.
    """
    if len(set(lines)) == len(lines):
        return set()  # no line occurs twice (most notices): nothing can repeat
    seen: set[str] = set()
    followers: dict[str, set[str]] = {}
    drop: set[int] = set()
    content = [i for i, line in enumerate(lines) if line]
    for pos, i in enumerate(content):
        line = lines[i]
        nxt = lines[content[pos + 1]] if pos + 1 < len(content) else None
        if line in seen:
            # A long paragraph seen before, or a repeated heading starting a
            # repeated block: drop it with the block.
            if len(line) >= LONG_PARAGRAPH or (nxt is not None and nxt in seen and nxt in followers.get(line, ())):
                drop.add(i)
        else:
            seen.add(line)
        if nxt is not None:
            after = followers.get(line)
            if after is None:  # no empty set built per line just to be thrown away
                followers[line] = {nxt}
            else:
                after.add(nxt)
    return drop
