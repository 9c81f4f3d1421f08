"""Outline: cleaned lines → a tree of sections and numbered items.

Chinese official documents number their outline in a fixed order of marker
styles: ``一、`` > ``(一)`` > ``1.`` > ``(1)`` > ``①``. A line's marker style
therefore tells its depth relative to the open headings, whatever levels a
notice skips. Attachments (``附件1``) and newspaper page jumps (``上接3版``)
start new roots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CN_NUM = "一二三四五六七八九十百零〇"
MARKERS: list[tuple[str, int, re.Pattern[str]]] = [
    ("cn", 1, re.compile(rf"^([{CN_NUM}]{{1,4}})、\s*")),
    ("paren_cn", 2, re.compile(rf"^\(([{CN_NUM}]{{1,4}})\)\s*")),
    # "1." but not a decimal such as "1.5%".
    ("arabic", 3, re.compile(r"^(\d{1,3})\s*[.、](?!\d)\s*")),
    ("paren_arabic", 4, re.compile(r"^\((\d{1,3})\)\s*")),
    ("circled", 5, re.compile(r"^([\u2460-\u2473])\s*")),
]
# The characters each style's marker can open with: match_marker tries only the
# styles a line's first character allows (order within MARKERS is kept). A line
# opening on any other decimal digit (what \d matches) can only be "arabic".
_OPENERS = {"cn": CN_NUM, "paren_cn": "(", "paren_arabic": "(", "circled": "".join(map(chr, range(0x2460, 0x2474)))}
_MARKERS_BY_OPENER: dict[str, list[tuple[str, int, re.Pattern[str]]]] = {}
for _marker in MARKERS:
    for _char in _OPENERS.get(_marker[0], ""):
        _MARKERS_BY_OPENER.setdefault(_char, []).append(_marker)
_ARABIC_MARKERS = [m for m in MARKERS if m[0] == "arabic"]
# "70启动建设…": a scrape that lost the dot; accepted only in sequence.
BARE_NUMBER = re.compile(r"^(\d{1,3})(?=[\u4e00-\u9fff“《])")
ATTACHMENT = re.compile(r"^附件\s*(\d{1,2})\s*:?$")
ATTACHMENT_LIST = re.compile(r"^附件\s*:")
PAGE_JUMP = re.compile(r"^[(（]?(上接|下转|接上|转下)\s*(第)?\s*[\d一二三四五六七八九十]+\s*版[)）]?$")
SPEECH_CLOSING = re.compile(r"^各位代表[!,。]")
# The first characters ATTACHMENT, ATTACHMENT_LIST, PAGE_JUMP and SPEECH_CLOSING can match.
_SPECIAL_OPENERS = frozenset("附(（上下接转各")
SENTENCE_PUNCT = re.compile(r"[。,;:!?、“”]")
# What a complete sentence (a task not cut by a page break) ends on.
_SENTENCE_ENDERS = ("。", "!", "?", ";", "”", ")", "》")
# Short headings end at the first full stop when the paragraph goes on.
HEADING_MAX = 40


_ITEM_STYLES = frozenset({"arabic", "paren_arabic", "circled"})


@dataclass(slots=True, init=False)  # slots: thousands are built per notice, and read often
class Node:
    """A heading or numbered item of the outline."""

    style: str  # cn, paren_cn, arabic, paren_arabic, circled, attachment, page
    rank: int
    marker: str  # as printed: "一、", "(一)", "1.", "附件1", "上接3版"
    label: str  # the number alone: "一", "1", "附件1"
    first_line: str  # text after the marker on the heading line
    line_no: int
    lines: list[str]  # original-script lines (first included)
    lines_simplified: list[str]
    children: list[Node]
    parent: Node | None
    flags: list[str]
    # A numbered item (1. (1) ①) rather than a heading; read tens of thousands
    # of times per run, so stored once instead of a property (style never changes).
    is_item: bool = field(repr=False, compare=False)

    def __init__(
        self,
        style: str,
        rank: int,
        marker: str,
        label: str,
        first_line: str,
        line_no: int,
        lines: list[str] | None = None,
        lines_simplified: list[str] | None = None,
        children: list[Node] | None = None,
        parent: Node | None = None,
        flags: list[str] | None = None,
    ) -> None:
        # Written out: the generated __init__ tests a sentinel for each of the
        # four list fields; this one takes ~30% fewer steps per node.
        self.style = style
        self.rank = rank
        self.marker = marker
        self.label = label
        self.first_line = first_line
        self.line_no = line_no
        self.lines = [] if lines is None else lines
        self.lines_simplified = [] if lines_simplified is None else lines_simplified
        self.children = [] if children is None else children
        self.parent = parent
        self.flags = [] if flags is None else flags
        self.is_item = style in _ITEM_STYLES

    @property
    def depth(self) -> int:
        depth, node = 1, self.parent
        while node is not None:
            depth, node = depth + 1, node.parent
        return depth


@dataclass
class Outline:
    roots: list[Node]
    preamble: list[int]  # line numbers outside the outline (cover letter, titles)
    stray_lines: int  # short fragments without punctuation (slogans, captions)
    orphan_fragments: list[int]  # lines that continue a sentence cut elsewhere
    body_intro: list[int] = field(default_factory=list)  # body paragraphs before the first heading

    def walk(self) -> list[Node]:
        """Every node, depth first, parents before their children (no recursion: no call per node)."""
        out: list[Node] = []
        stack = self.roots[::-1]
        while stack:
            node = stack.pop()
            out.append(node)
            stack += node.children[::-1]
        return out


def match_marker(line: str) -> tuple[str, int, str, str] | None:
    """(style, rank, marker as printed, label) when the line opens an outline item."""
    opener = line[:1]
    candidates = _MARKERS_BY_OPENER.get(opener) or (_ARABIC_MARKERS if opener.isdecimal() else ())
    for style, rank, pattern in candidates:
        m = pattern.match(line)
        if m:
            return style, rank, m.group(0).strip(), m.group(1)
    return None


def ends_sentence(text: str) -> bool:
    """True when ``text`` ends on a sentence end, a final line break aside.

    Decided from the last character: a regex (``[。!?;”)》]$``) would be
    tried at every punctuation mark of the text, and only the end can match.
    """
    return (text[:-1] if text.endswith("\n") else text).endswith(_SENTENCE_ENDERS)


def split_heading(first_line: str) -> tuple[str, str]:
    """Heading title and the text that follows it on the same line."""
    head, sep, rest = first_line.partition("。")
    if sep and rest and len(head) <= HEADING_MAX:
        return head, rest
    if sep and not rest:
        return head, ""
    return first_line, ""


def body_start(lines: list[str]) -> int:
    """Index of the first line of the document body, after any cover letter.

    A cover letter (the 通知 that transmits the plan) ends with a signature date
    alone on a line; its own ``一、二、三`` are not the plan's outline.
    """
    for i, line in enumerate(lines):
        # A signature date opens on its year: the prefix test spares a regex call per line.
        if line[:2] in ("19", "20") and SIGNATURE_DATE.match(line) and any(match_marker(x) for x in lines[i + 1 :]):
            return i + 1
    return 0


SIGNATURE_DATE = re.compile(r"^((19|20)\d{2}年\d{1,2}月\d{1,2}日|(19|20)\d{5,6})$")


def parse_outline(lines: list[str], simplified: list[str], skip: set[int] | None = None) -> Outline:
    """Build the outline tree from aligned original and simplified lines."""
    skip = skip or set()
    roots: list[Node] = []
    stack: list[Node] = []
    preamble: list[int] = []
    orphans: list[int] = []
    body_intro: list[int] = []
    stray = 0
    last_arabic = -1  # last "1." number seen: a dot-less number must follow it
    paged = any("版" in s and PAGE_JUMP.match(s) for s in simplified)  # every page jump names a 版
    in_attachment_list = False
    expect_attachment_title: Node | None = None
    start = body_start(simplified)

    def open_orphan_block(i: int, flag: str) -> Node:
        # Text whose heading is on another page: a root of its own, flagged.
        block = Node("page", 0, "", "", "(所属章节缺失)", i, flags=[flag])
        stack.clear()
        roots.append(block)
        stack.append(block)
        return block

    def attach(node: Node) -> None:
        if node.is_item and not stack:
            open_orphan_block(node.line_no, "section_missing")
        if stack and stack[0].style == "page" and not node.is_item:
            # A heading ends a page fragment: the fragment only holds the items
            # that came before it.
            stack.clear()
        while stack and stack[-1].rank >= node.rank:
            stack.pop()
        if stack:
            node.parent = stack[-1]
            stack[-1].children.append(node)
        else:
            roots.append(node)
        stack.append(node)

    for i, (line, simp) in enumerate(zip(lines, simplified, strict=True)):
        if i < start or i in skip:
            preamble.append(i)
            continue
        if expect_attachment_title is not None:
            expect_attachment_title.first_line = simp
            expect_attachment_title.lines.append(line)
            expect_attachment_title.lines_simplified.append(simp)
            expect_attachment_title = None
            continue
        # Attachments, page jumps and speech closings open on a few characters
        # only: most lines skip their four regex calls.
        special = simp[:1] in _SPECIAL_OPENERS
        m_att = ATTACHMENT.match(simp) if special else None
        if m_att:
            in_attachment_list = False
            node = Node("attachment", 0, simp, f"附件{m_att.group(1)}", "", i)
            stack.clear()
            roots.append(node)
            stack.append(node)
            expect_attachment_title = node
            continue
        if special and ATTACHMENT_LIST.match(simp):
            # The list of attachment titles repeats them; it is not an outline.
            in_attachment_list = True
            stack.clear()
            preamble.append(i)
            continue
        if in_attachment_list:
            preamble.append(i)
            continue
        if special and PAGE_JUMP.match(simp):
            node = Node("page", 0, simp, simp, simp, i, flags=["page_jump"])
            stack.clear()
            roots.append(node)
            stack.append(node)
            continue
        if special and SPEECH_CLOSING.match(simp):
            stack.clear()
            preamble.append(i)
            continue
        marker = match_marker(simp)
        if marker is None:
            m_bare = BARE_NUMBER.match(simp)
            if m_bare and stack and int(m_bare.group(1)) == last_arabic + 1:
                marker = ("arabic", 3, m_bare.group(1), m_bare.group(1))
        if marker is not None:
            style, rank, printed, label = marker
            first = simp[len(printed) :].lstrip() if simp.startswith(printed) else simp[len(label) :]
            node = Node(style, rank, printed, label, first, i, [line], [simp])
            attach(node)
            if style == "arabic":
                last_arabic = int(label)
            continue
        # A line without a marker continues the open node, or is preamble.
        if not stack:
            if paged and (roots or _starts_mid_sentence(simp)):
                orphans.append(i)
                block = open_orphan_block(i, "continues_elsewhere")
                block.lines.append(line)
                block.lines_simplified.append(simp)
                continue
            preamble.append(i)
            if not roots and i >= start:
                body_intro.append(i)
            continue
        if len(simp) < 20 and not SENTENCE_PUNCT.search(simp):
            stray += 1  # slogans, captions, adverts: not part of any task
            continue
        current = stack[-1]
        previous = current.lines_simplified[-1] if current.lines_simplified else current.first_line
        if paged and current.is_item and not ends_sentence(previous):
            # In a paged (newspaper) notice a cut sentence continues on another
            # page: the next paragraph here belongs elsewhere.
            orphans.append(i)
            block = open_orphan_block(i, "continues_elsewhere")
            block.lines.append(line)
            block.lines_simplified.append(simp)
            continue
        current.lines.append(line)
        current.lines_simplified.append(simp)
    if paged:
        from pipelines.parse.pages import join_page_fragments  # pages builds on this module

        roots = join_page_fragments(roots)
    return Outline(roots, preamble, stray, orphans, body_intro)


MID_SENTENCE_START = re.compile(r"^[^\u4e00-\u9fff“《(]|^[年月日的和及与等]")


def _starts_mid_sentence(line: str) -> bool:
    """A paragraph that starts inside a sentence: ``年行动,坚决杜绝…``."""
    return bool(MID_SENTENCE_START.match(line)) or (len(line) > 2 and line[1] in "、,。")
