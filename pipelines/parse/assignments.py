"""Assignments: the brackets and labelled lines that say who carries out a task.

Text in, rows out. A task may hold several clauses, each closed by its own
bracket ``(X牵头,Y等按职责分工负责)``; every bracket that assigns units is a
clause. Brackets that only explain (``(GDP)``, ``(湖南段)``) stay in the text.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

ROLE_WORDS = re.compile(r"牵头|负责|责任单位|牵头单位|责任部门|配合|协办|承办|主办")
LABELS: dict[str, str] = {
    "牵头单位": "lead",
    "牵头部门": "lead",
    "省牵头单位": "lead",
    "市牵头单位": "lead",
    "主办单位": "lead",
    "责任单位": "responsible",
    "责任部门": "responsible",
    "承办单位": "responsible",
    "配合单位": "support",
    "协办单位": "support",
    "参与单位": "support",
}
LABEL_RE = re.compile(r"(" + "|".join(sorted(LABELS, key=len, reverse=True)) + r")\s*:")
# Labelled lines after a task instead of a bracket: "责任单位:区教育局。"
LABELLED_LINE = re.compile(
    r"^(?:" + "|".join(sorted(LABELS, key=len, reverse=True)) + r"|部门分工|分管(?:市|州|县|区|省)?领导|责任领导)\s*:"
)
SEGMENT_SPLIT = re.compile(r"[,;]")
LEAD_EACH = re.compile(r"(?:等)?(?:相关单位)?分别牵头$")
LEAD = re.compile(r"(?:等)?(?:相关单位)?牵头(?:负责|抓总)?$")
RESPONSIBLE = re.compile(
    r"(?:等)?(?:相关单位)?(?:分别)?(?:按职责分工|按照职责分工|按职责)?(?:分别)?(?:负责|落实|实施)$"
)
SUPPORT = re.compile(r"(?:等)?(?:相关单位)?(?:按职责分工)?(?:协助|配合)$")
DEADLINE = re.compile(
    r"^(?:\d{4}年)?(?:\d{1,2}月)?(?:底|中旬|上旬|下旬|\d{1,2}日)?前?(?:完成|到位|启动|建成)$|^(?:长期坚持|持续推进|持续实施)$"
)
# Leader posts (分管副市长, 常务副州长) are people, not units.
LEADER = re.compile(
    r"^(?:分管[\u4e00-\u9fff]{0,8}?|常务)?副?(?:省长|市长|州长|县长|区长|秘书长)$|^分管(?:市|州|县|区|省)?领导(?:同志)?$"
)
UNIT_SEP = re.compile(r"、|及(?=[省市州县区])")
# "省道路交通安全委员会和省安全生产委员会成员单位": 和 joins two bodies only
# when a region prefix follows it (省工业和信息化厅 stays whole).
AND_SPLIT = re.compile(r"(?<=[委会组局厅办])和(?=[省市州县区])")
TRAILING = re.compile(r"(?:等相关单位|等有关单位|等单位|等部门|等)$")
PLACE = re.compile(r"(?:省|市|县|区|州|自治州|自治县|开发区|新区|高新区|文旅区|园区)$")
SUFFIXES = ("人民政府", "政府", "管委会", "党委", "党工委")
GENERIC = re.compile(
    r"^(?:各|有关|其他|其它|相关)|各部门|有关部门|各有关|成员单位|^(?:省|市|州|县|区)(?:政府|直)(?:各|有关|相关)|各地|各级"
)


class Assignment(NamedTuple):
    # NamedTuple, not a frozen dataclass: a notice yields hundreds of these and
    # a frozen dataclass's __init__ costs several times more per instance.
    clause_no: int
    unit_raw: str
    role: str
    deadline: str | None
    span: str
    span_start: int
    cut_off: bool = False


class Clause(NamedTuple):
    """One bracket or labelled line that assigns units: the Assignments it yields, grouped.

    The notice parser reads clauses directly, so it builds no Assignment per unit.
    """

    clause_no: int
    pairs: tuple[tuple[str, str], ...]  # (unit, role), in the order written
    deadline: str | None
    span: str
    span_start: int
    cut_off: bool


# Builds a NamedTuple from a tuple of its values in C: calling the class runs its
# __new__, a Python function, even from compiled code (~2 000 instructions an
# instance, ~3 % of the whole parse for the brackets, clauses and targets).
_new = tuple.__new__


class Bracket(NamedTuple):
    start: int
    end: int  # exclusive; len(text) when cut off
    content: str
    closed: bool


def iter_brackets(text: str) -> list[Bracket]:
    """Top-level ``(…)`` spans; nested brackets stay inside their parent.

    Brackets pair up innermost first, so a stray ``(`` in the prose does not
    swallow the assignment bracket after it. An opening bracket after the last
    pair that is never closed (a scrape cut off the page) yields a span to the
    end of the text with ``closed=False``.
    """
    o = text.find("(")
    if o == -1:
        return []  # no bracket at all
    if text.find("(", o + 1) == -1:
        # Most task texts hold a single "(": it pairs with the first ")" after it.
        c = text.find(")", o + 1)
        if c == -1:
            return [_new(Bracket, (o, len(text), text[o + 1 :], False))]
        return [_new(Bracket, (o, c + 1, text[o + 1 : c], True))]
    opened: list[int] = []
    pairs: list[tuple[int, int]] = []
    # str.find jumps between brackets in C; a regex scan visits every character.
    i, c = 0, text.find(")")
    while o != -1 or c != -1:
        if c == -1 or (o != -1 and o < c):
            opened.append(o)
            i = o + 1
            o = text.find("(", i)
        else:
            if opened:
                pairs.append((opened.pop(), c + 1))
            i = c + 1
            c = text.find(")", i)
    out: list[Bracket] = []
    last_end = -1
    for start, end in sorted(pairs):
        if start >= last_end:  # not inside a bracket already kept
            out.append(_new(Bracket, (start, end, text[start + 1 : end - 1], True)))
            last_end = end
    if opened and opened[-1] >= last_end:
        start = min(i for i in opened if i >= last_end)
        out.append(_new(Bracket, (start, len(text), text[start + 1 :], False)))
    return out


def has_cut_bracket(text: str) -> bool:
    """The text ends inside a bracket that was naming units (a scrape cut it off)."""
    if text.rfind("(") <= text.rfind(")"):
        return False  # the last bracket closes: nothing was cut (cheap test first)
    brackets = iter_brackets(text)
    if not brackets or brackets[-1].closed:
        return False
    content = brackets[-1].content
    return is_assignment(content) or bool(UNIT_START.match(content))


# "(省农业农村厅" cut off before any verb: it starts like a unit list.
UNIT_START = re.compile(r"^(?:省|市|州|县|区|各|有关)[\u4e00-\u9fff]{1,20}(?:厅|局|委|办|政府|部门|、|$)")


def is_assignment(content: str) -> bool:
    """True when a bracket's content names who carries out the clause."""
    return bool(ROLE_WORDS.search(content)) and len(content) <= 600


@lru_cache(maxsize=65536)
def is_generic(unit: str) -> bool:
    """Generic parties (有关部门, 各市州人民政府, …成员单位) are never merged into a unit."""
    return bool(GENERIC.search(unit))


def _split_generic_tail(item: str) -> list[str]:
    """``市教育局等市政府有关部门`` is a named unit plus a generic party."""
    head, sep, tail = item.partition("等")
    if sep and head and tail and is_generic(tail) and not TRAILING.fullmatch(sep + tail):
        return [head, tail]
    return [item]


def split_units(chunk: str) -> list[str]:
    """Units of one list, shared suffixes expanded: 监利县、洪湖市政府 → two 政府."""
    return list(_units_of(chunk))


@lru_cache(maxsize=65536)
def _units_of(chunk: str) -> tuple[str, ...]:
    """split_units, cached: the same unit lists recur in brackets that differ elsewhere."""
    items = [part for u in UNIT_SEP.split(chunk) for part in _split_generic_tail(u.strip())]
    items = [TRAILING.sub("", u) for u in items]
    items = [part for u in items for part in AND_SPLIT.split(u)]
    items = [u.strip() for u in items if u.strip()]
    if len(items) >= 2:
        last = items[-1]
        suffix = next((s for s in SUFFIXES if last.endswith(s) and len(last) > len(s)), None)
        if suffix:
            items = [u + suffix if PLACE.search(u) and not u.endswith(SUFFIXES) else u for u in items]
    # "A和B成员单位": the shared 成员单位 belongs to both bodies.
    if len(items) >= 2 and items[-1].endswith("成员单位"):
        items = [
            u if u.endswith("成员单位") or not u.endswith(("委员会", "领导小组")) else u + "成员单位" for u in items
        ]
    return tuple(items)  # immutable: cached and shared


# The last word of every role pattern below. Those patterns end in "$" but open
# on optional words, so the engine tries them at every position of a segment:
# a segment ending otherwise (a list waiting for its verb) skips all four.
_ROLE_ENDINGS = ("牵头", "负责", "抓总", "协助", "配合", "落实", "实施")


def _segment_role(segment: str) -> tuple[str | None, str]:
    """(role, units part) of one comma-separated segment of a bracket."""
    # "$" also matches before a final line break.
    if not (segment[:-1] if segment.endswith("\n") else segment).endswith(_ROLE_ENDINGS):
        return None, segment
    for role, pattern in (("lead_each", LEAD_EACH), ("lead", LEAD), ("support", SUPPORT), ("responsible", RESPONSIBLE)):
        m = pattern.search(segment)
        if m:
            return role, segment[: m.start()]
    return None, segment


@lru_cache(maxsize=65536)
def parse_bracket(content: str) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """(unit, role) pairs and a deadline from the inside of one assignment bracket."""
    pairs: list[tuple[str, str]] = []
    deadline: str | None = None
    labelled = list(LABEL_RE.finditer(content))
    if labelled:
        for k, m in enumerate(labelled):
            end = labelled[k + 1].start() if k + 1 < len(labelled) else len(content)
            chunk = content[m.end() : end].strip(" ,;。")
            label_role = LABELS[m.group(1)]
            for part in SEGMENT_SPLIT.split(chunk):
                pairs += [(u, label_role) for u in _units_of(part)]
        return _finalise(pairs), deadline
    pending: list[str] = []
    for raw in SEGMENT_SPLIT.split(content):
        segment = raw.strip(" 。")
        if not segment:
            continue
        if DEADLINE.match(segment):
            deadline = segment
            continue
        role, units_part = _segment_role(segment)
        if role is not None and LEADER.search(units_part.strip()):
            pairs += [(u, "leader") for u in _units_of(units_part)]
            continue
        units = _units_of(units_part)
        if role is None:
            pending.extend(units)  # "省财政厅等相关单位," waits for the verb that follows
            continue
        pairs += [(u, role) for u in pending]
        pairs += [(u, role) for u in units]
        pending = []
    pairs += [(u, "responsible") for u in pending]
    return _finalise(pairs), deadline


def _finalise(pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Generic parties marked as such; empty names and repeats dropped, first mention kept."""
    marked = ((unit, "generic" if role != "leader" and is_generic(unit) else role) for unit, role in pairs if unit)
    return tuple(dict.fromkeys(marked))  # immutable: parse_bracket results are cached and shared


def _first_listed_lead(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Notices that say 列第一位的为牵头单位: the first named unit of a list leads."""
    if any(role in ("lead", "lead_each") for _, role in pairs):
        return pairs
    out, done = [], False
    for unit, role in pairs:
        if not done and role == "responsible":
            out.append((unit, "lead"))
            done = True
        else:
            out.append((unit, role))
    return tuple(out)


UNIT_NAME = re.compile(
    r"^[\u4e00-\u9fff()]{2,30}(?:厅|局|委|办|署|室|会|社|队|站|所|中心|政府|管委会|公司|集团|大学|学院|银行|分行|支行|海关|联|院)$"
)


LIST_SPLIT = re.compile(r"[、,;]")


def _is_unit_list(content: str) -> bool:
    """``(市政务服务中心、市大数据局)``: a bare list of units, no verb."""
    items = [i for i in LIST_SPLIT.split(content) if i]
    return bool(items) and all(UNIT_NAME.match(i.strip()) for i in items)


FIRST_LISTED_LEADS = re.compile(r"(列|排|排列)在?第一位的?(责任)?(单位|部门)?(为|是)牵头(单位|部门)")


def extract_clauses(text: str, first_listed_leads: bool = False) -> list[Clause]:
    """Every clause of one task's simplified text, with the (unit, role) pairs it assigns.

    ``first_listed_leads``: the notice declares that the first unit listed for
    a task is its lead (列第一位的责任单位为牵头单位).
    """
    clauses: list[Clause] = []
    for start, end, content, closed in iter_brackets(text):
        # A bare unit list counts only where the notice says so; tested second,
        # as most assignment brackets name a role.
        if not (is_assignment(content) or (first_listed_leads and _is_unit_list(content))):
            continue
        if not closed:
            # Cut off by the scrape: the text after the last separator may be half
            # a name; keep only what came before it.
            cut = max(content.rfind(sep) for sep in ",;、")
            content = content[:cut] if cut > 0 else content
        pairs, deadline = parse_bracket(content)
        if first_listed_leads:
            pairs = _first_listed_lead(pairs)
        if pairs:
            clauses.append(_new(Clause, (len(clauses) + 1, pairs, deadline, text[start:end], start, not closed)))
    if ":" not in text:
        return clauses  # every labelled line has a colon: most texts have none
    offset = 0
    for line in text.split("\n"):
        if LABELLED_LINE.match(line):
            pairs = _labelled_line(line)
            if first_listed_leads:
                pairs = _first_listed_lead(pairs)
            if pairs:
                clauses.append(_new(Clause, (len(clauses) + 1, pairs, None, line, offset, False)))
        offset += len(line) + 1
    return clauses


def extract_assignments(text: str, first_listed_leads: bool = False) -> list[Assignment]:
    """Every (clause, unit, role) of one task's simplified text: one row per unit of each clause."""
    return [
        Assignment(c.clause_no, unit, role, c.deadline, c.span, c.span_start, c.cut_off)
        for c in extract_clauses(text, first_listed_leads)
        for unit, role in c.pairs
    ]


def _labelled_line(line: str) -> tuple[tuple[str, str], ...]:
    """A labelled line such as ``部门分工:省财政厅牵头,各市、各部门配合。``."""
    label, _, rest = line.partition(":")
    rest = rest.strip(" 。")
    if label in LABELS:
        return parse_bracket(line.rstrip("。"))[0]
    if "领导" in label:
        return tuple((u, "leader") for u in split_units(rest.replace(",", "、")))
    return parse_bracket(rest)[0]
