"""Glossary: the 名词解释 block of a work report, one row per term."""

from __future__ import annotations

import re

GLOSSARY_HEAD = re.compile(r"^(名词解释|名词注释|注释|附:名词解释)\s*:?$")
# "“四上”单位:规模以上工业企业…" — a short term, a colon, a definition.
ENTRY = re.compile(r"^(?P<term>[^:。,;]{1,30}?)\s*:\s*(?P<definition>.+)$")


def extract_glossary(lines: list[str]) -> tuple[list[tuple[str, str]], set[int]]:
    """(term, definition) pairs and the line numbers they occupy.

    The block starts at a 名词解释 heading and ends at the first line that is
    not ``term:definition``; those lines are then not part of the outline.
    """
    entries: list[tuple[str, str]] = []
    used: set[int] = set()
    if not any("释" in line for line in lines):
        return entries, used  # every heading ends in 解释 or 注释: most notices have none
    i = 0
    while i < len(lines):
        if not GLOSSARY_HEAD.match(lines[i]):
            i += 1
            continue
        used.add(i)
        i += 1
        while i < len(lines):
            m = ENTRY.match(lines[i])
            if not m:
                break
            term = m.group("term").strip()
            if term not in {t for t, _ in entries}:
                entries.append((term, m.group("definition").strip()))
            used.add(i)
            i += 1
    return entries, used
