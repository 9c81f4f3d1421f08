"""Extract quantitative targets (指标) from the simplified text of one task.

A target is a number with a unit of measure (or %) that the text commits to
reach, e.g. ``地区生产总值增长6.5%左右``. The parser is regex based and pure:
one precompiled master pattern finds every number + unit candidate, then
cheap string checks reject years, names, slogans and descriptors and derive
the metric, qualifier and target year.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import NamedTuple

__all__ = ["Target", "chinese_to_number", "extract_targets"]


# Builds a Target from a tuple of its values in C (see assignments.py: calling a
# NamedTuple class runs a Python __new__, even from compiled code).
_new = tuple.__new__


class Target(NamedTuple):
    """One quantitative goal found in a task text (a NamedTuple: cheap to build by the thousand)."""

    metric: str
    value: float
    value_max: float | None
    unit: str
    qualifier: str | None
    year: int | None
    span: str  # exact substring of the input text
    start: int  # span == text[start:end]
    end: int


# --- Chinese numerals -------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_VALID = re.compile(r"[零〇一二两三四五六七八九十百千万亿]*(?:点[零〇一二两三四五六七八九]+)?")
# Arabic digits followed by Chinese magnitudes, e.g. '2万' or '4千亿'.
_ARABIC_MAG = re.compile(r"([0-9０-９]+(?:[.．][0-9０-９]+)?)([十百千万亿]*)")
_MAG_VALUES = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}


def _cn_below_wan(s: str) -> int:
    """Parse a numeral below 万 ('一百零五', '十二', '二〇二五')."""
    total = 0
    digit: int | None = None
    for ch in s:
        if ch in _CN_DIGITS:
            # Consecutive digits read positionally, so '二〇二五' is 2025.
            digit = _CN_DIGITS[ch] if digit is None else digit * 10 + _CN_DIGITS[ch]
        else:
            # A bare '十' means 一十 (十二 = 12).
            total += (1 if digit is None else digit) * _CN_SMALL_UNITS[ch]
            digit = None
    return total + (digit or 0)


def _cn_grouped(s: str, sep: str, base: int, parse: Callable[[str], int]) -> int:
    """Fold groups split by a magnitude: '两万三千' → 2 * 10_000 + 3000."""
    pieces = s.split(sep)
    total = 0
    for i, piece in enumerate(pieces):
        # An empty piece before the magnitude means one of it ('万' = 一万).
        value = parse(piece) if piece or i == len(pieces) - 1 else 1
        total = total * base + value
    return total


def _cn_integer(s: str) -> int:
    """Parse an integer numeral that may contain 万 and 亿 (iteratively: no recursion limit)."""
    return _cn_grouped(s, "亿", 100_000_000, lambda p: _cn_grouped(p, "万", 10_000, _cn_below_wan))


def chinese_to_number(s: str) -> float | None:
    """Convert a Chinese numeral ('六点五', '两万', '十二') to a float, else None.

    Arabic digits with Chinese magnitudes ('2万', '4千亿') are accepted too;
    percent words ('百分之六点五') are not handled here.
    """
    s = s.strip()
    if not s:
        return None
    m = _ARABIC_MAG.fullmatch(s)
    if m:
        value = float(m.group(1).replace("．", "."))
        for ch in m.group(2):
            value *= _MAG_VALUES[ch]
        return value
    if not _CN_VALID.fullmatch(s):
        return None
    integer, _, fraction = s.partition("点")
    if not integer and not fraction:
        return None
    try:
        if not integer:
            value = 0.0
        elif "万" in integer or "亿" in integer:
            value = float(_cn_integer(integer))
        else:  # the usual numeral has no 万/亿 group to fold
            value = float(_cn_below_wan(integer))
        if fraction:
            value += float("0." + "".join(str(_CN_DIGITS[c]) for c in fraction))
    except OverflowError:  # absurdly long numerals exceed float range
        return None
    return value


# --- Candidate pattern ------------------------------------------------------

# Half-width ',' only as a thousands separator (exactly three digits after it).
# Atomic groups and the lookbehinds stop the engine retrying every suffix
# of a long digit run, which would make the scan quadratic.
_AR = (
    r"(?<![0-9０-９.．])"
    r"(?>(?:[0-9０-９]{1,3}(?:,[0-9０-９]{3})+(?![0-9０-９])|[0-9０-９]+)(?:[.．][0-9０-９]+)?)"
)
# A Chinese numeral must start with a digit or 十: '百亿企业', '千户' are names.
_CN = (
    r"(?<![零〇一二两三四五六七八九十百千万亿点])"
    r"(?>[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千]*(?:点[零〇一二三四五六七八九]+)?)"
)
_MAG = r"万亿|千亿|百亿|十亿|千万|百万|十万|亿|万|千|百"
# Magnitudes that may stand alone as a unit ('4千亿', '2万'); 千/百 alone are
# spec-like ('10千伏').
_BARE_MAG = r"万亿|千亿|百亿|十亿|千万|百万|十万|亿|万"
# Longest alternatives first; years/months/days and name-like words
# (大, 强, 届, 类, 英寸, G, 千伏) are deliberately absent.
_UNIT_WORDS = (
    "个百分点|百分点|%|％|‰|"
    "平方公里|平方米|立方米|千瓦时|千瓦|兆瓦|公里|千米|公顷|公斤|千克|标箱|"
    "人次|元|人|家|户|个|亩|米|吨|斤|所|座|盏|间|件|名|辆|头|只|项|条|处|"
    "套|台|张|栋|幢|株|棵|场|次|部|位|艘|架|倍|床|宗|块|篇"
)
# The engine tries the unit words one after another; most numerals (一 in 进一步)
# are followed by none of them. A lookahead on their first characters rejects
# those in one class test: the candidate scan takes ~30% less time.
_UNIT_FIRST = "".join(sorted({word[0] for word in _UNIT_WORDS.split("|")}))
_MEASURES = (
    rf"(?=[{_UNIT_FIRST}])(?:{_UNIT_WORDS})"
    # written variants stay part of the unit: 家(次), 元/月, 元/月/人
    r"(?:[(（]次[)）])?(?:/(?:人·?月|月|年|人|户|日|天|吨|亩|次))*"
)
_POST = r"及?(?:以上|左右|以内|以下)"
_SEP = r"\s?[-－—–~～〜至]\s?"

_CANDIDATE = re.compile(
    # The leading lookahead lets the regex engine skip ahead by character
    # class, which keeps the scan fast on number-free prose.
    r"(?=[0-9０-９零〇一二两三四五六七八九十百])(?:"
    # 百分之六点五 / 百分之五至百分之八
    rf"(?P<pct>百分之)(?P<pn1>{_AR}|{_CN})(?:{_SEP}(?:百分之)?(?P<pn2>{_AR}|{_CN}))?"
    rf"(?P<ppost>{_POST})?"
    # 6.5% / 7.5%—8% / 5至8个 / 2万亿元 / 4千亿
    rf"|(?P<n1>{_AR})(?:(?P<p1>[%％])?{_SEP}(?P<n2>{_AR}))?"
    rf"(?:(?P<mag>{_MAG})?(?P<meas>{_MEASURES})|(?P<bmag>{_BARE_MAG}))"
    rf"(?P<post>{_POST})?"
    # 一百件 / 两万亿元 / 五至八个: Chinese numerals always need a measure word
    rf"|(?P<c1>{_CN})(?:{_SEP}(?P<c2>{_CN}))?"
    rf"(?P<cmag>万亿|亿|万)?(?P<cmeas>{_MEASURES})(?P<cpost>{_POST})?"
    r")"
)

# Where a candidate may start. _CANDIDATE opens on a lookahead, and the engine
# can only skip ahead in C when a pattern opens on a character class: it tries
# the whole alternation at every position of the text. This pattern opens on a
# class, and keeps only the starts _CANDIDATE can go on from: any digit, the 百
# of 百分之, and a Chinese numeral followed by what a numeral, a range, a
# magnitude or a unit may begin with (not the 一 of 一体化 or 统一). Scanning with
# it and matching _CANDIDATE at each hit takes ~40% off the scan.
_CANDIDATE_START = re.compile(
    r"[0-9０-９零〇一二两三四五六七八九十百]"
    r"(?:(?<=[0-9０-９])|(?<=百)(?=分之)"
    rf"|(?<=[零〇一二两三四五六七八九十])(?=[零〇一二两三四五六七八九十百千点万亿\s\-－—–~～〜至{_UNIT_FIRST}]))"
)


def _candidates(text: str, pos: int = 0) -> Iterator[re.Match[str]]:
    """``_CANDIDATE.finditer(text, pos)``, with _CANDIDATE tried only where _CANDIDATE_START matches."""
    search, match = _CANDIDATE_START.search, _CANDIDATE.match
    while (start := search(text, pos)) is not None:
        m = match(text, start.start())
        if m is None:
            pos = start.start() + 1
        else:
            yield m
            pos = m.end()  # a candidate is never empty


# The groups of _CANDIDATE in order: the loop unpacks ``m.groups()`` into
# these names, several times cheaper per match than ``m.groupdict()``.
_GROUPS = (
    "pct",
    "pn1",
    "pn2",
    "ppost",
    "n1",
    "p1",
    "n2",
    "mag",
    "meas",
    "bmag",
    "post",
    "c1",
    "c2",
    "cmag",
    "cmeas",
    "cpost",
)
assert tuple(_CANDIDATE.groupindex) == _GROUPS, "keep _GROUPS in step with _CANDIDATE"

# Units a Chinese numeral below 100 may carry and still be a target
# (一个百分点); with any other unit it is a slogan or programme name
# (两个毫不动摇, 五张名片, 十五条).
_SMALL_CN_OK = frozenset({"%", "‰", "个百分点", "百分点", "倍"})
_AR_CHARS = frozenset("0123456789０１２３４５６７８９.．")
_CN_CHARS = frozenset("零〇一二两三四五六七八九十百千万亿点")
# Characters that glue a number into a code or formula: 1+5+X, 7×24, 1/3.
_GLUE_CHARS = frozenset("+＋×*/／")
# After the unit these mark a name rather than a goal:
# 100亿级, 500强, 43个方面, 株洲 (a city, not trees).
_NAME_AFTER_UNIT = re.compile(r"[级强大]|方面|株洲|株潭")
# Two bare digits side by side (三一, 二〇二五) spell a name or a year.
_CN_RUN = re.compile(r"[一二两三四五六七八九〇零][一二两三四五六七八九〇]")
_DELIMS = "，,；;。：:、—！!？?\n\r"
# What may follow a target without making it a modifier of the next word.
_FREE_AFTER = frozenset(_DELIMS + "（()）“”《》 \t")
# Greedy '.*' backs off to the LAST delimiter of the window in one C call.
_LAST_DELIM = re.compile(rf"(?s:.*)[{_DELIMS}]")
_TRAIL_STOP = re.compile(rf"[{_DELIMS}（(]")
# '2025年(底)前', or '到2025年(底)' with 到 checked in code: starting on a digit
# class lets the engine skip ahead quickly.
_YEAR_SCOPE = re.compile(
    r"(?P<year>[12１２][0-9０-９]{3})\s?年(?:底|末)?(?P<before>前(?![一二两三四五六七八九十0-9]))?"
)
# Leading list markers, years, an opening bracket and commitment filler.
_LEAD_NOISE = re.compile(
    r"(?:\s+|[0-9０-９]+[.．、](?![0-9０-９])|[（(][一二三四五六七八九十0-9]+[）)]"
    r"|[一二三四五六七八九十]+、|[—－-]+|[（(]"
    r"|到\s?[12１２][0-9０-９]{3}\s?年(?:底|末)?|[12１２][0-9０-９]{3}\s?年(?:底|末)?前?"
    r"|力争实现|力争|确保|实现|全年|争取|努力)+"
)
_PRE_QUALIFIERS = ("不低于", "不少于", "不超过", "突破", "超过", "达到", "达")
# A metric longer than this is cut: it bounds work on delimiter-free input.
_MAX_METRIC = 200
_MAX_TRAIL = 40


def _number_value(s: str) -> float | None:
    """Value of one matched number token (Arabic or Chinese)."""
    if s[0] in _AR_CHARS:
        try:
            # Most numbers have no thousands separator or full-width point, and
            # float() rejects both: try the string as it is first.
            return float(s)
        except ValueError:
            pass
        try:
            return float(s.replace(",", "").replace("．", "."))
        except ValueError:  # defensive: the pattern only yields valid floats
            return None
    return chinese_to_number(s)


def _inside_quote(text: str, start: int, end: int) -> bool:
    """True if [start, end) sits inside a “…” quotation or a 《…》 title."""
    for left, right in (("“", "”"), ("《", "》")):
        lq = text.rfind(left, max(0, start - 40), start)
        if lq != -1 and text.find(right, lq, start) == -1 and text.find(right, end, end + 40) != -1:
            return True
    return False


def _trailing_phrase(text: str, end: int) -> str:
    """Noun phrase after a unit, up to the next delimiter (整合600所【乡村小规模学校】)."""
    # Skip an adjacent second quantity so '6280户13227人脱贫出列' yields 脱贫出列.
    nxt = _CANDIDATE.match(text, end)
    if nxt:
        end = nxt.end()
    window = text[end : end + _MAX_TRAIL]
    stop = _TRAIL_STOP.search(window)
    return window[: stop.start()] if stop else window


def _split_metric(text: str, lo: int, num_start: int) -> tuple[str, str | None, int]:
    """Metric words before a number, the qualifier word ending them, and their start."""
    m = _LAST_DELIM.match(text, lo, num_start)
    start = m.end() if m else lo
    pre = text[start:num_start]
    # An unmatched ')' means the clause began inside an earlier note
    # ('…(省教育厅牵头)湘易办…'); the metric starts after it.
    close = max(pre.rfind(")"), pre.rfind("）"))
    if close != -1 and "(" not in pre[:close] and "（" not in pre[:close]:
        start += close + 1
        pre = pre[close + 1 :]
    lead = _LEAD_NOISE.match(pre)
    if lead:
        start += lead.end()
        pre = pre[lead.end() :]
    if pre.endswith(_PRE_QUALIFIERS):  # one C call rules out the usual case: no qualifier
        for word in _PRE_QUALIFIERS:
            if pre.endswith(word):
                return pre[: -len(word)], ("达到" if word == "达" else word), start
    return pre, None, start


def extract_targets(text: str) -> list[Target]:
    """Return the quantitative targets in ``text`` in order of appearance."""
    if not isinstance(text, str) or not text:
        return []
    opening = _CANDIDATE_START.search(text)
    if opening is None:
        return []  # most task texts hold no number: nothing else to work out
    scopes: list[tuple[int, int]] = []
    scope_ends: list[int] = []
    if "年" in text:  # most task texts name no year: skip the scan
        scopes = [
            (m.end(), int(m.group("year")))
            for m in _YEAR_SCOPE.finditer(text)
            if m.group("before") or text[max(0, m.start() - 2) : m.start()].rstrip().endswith("到")
        ]
        scope_ends = [e for e, _ in scopes]

    targets: list[Target] = []
    prev_end = 0
    quoted = "“" in text or "《" in text  # most texts quote nothing: skip the per-match check
    for m in _candidates(text, opening.start()):  # from the first start, not again from 0
        num_start, end = m.span()
        pct, pn1, pn2, ppost, n1, p1, n2, g_mag, g_meas, bmag, g_post, c1, c2, cmag, cmeas, cpost = m.groups()
        before = text[num_start - 1] if num_start else ""
        if before == "第" or (before.isascii() and before.isalpha()):
            continue  # 第三届, G320, S219
        if pct:
            first, second, post, unit = pn1, pn2, ppost, "%"
            meas, mag = "%", ""
        elif n1:
            if before in _AR_CHARS or before in _GLUE_CHARS:
                continue  # the tail of a longer number or a formula (3550+100)
            first, second, post = n1, n2, g_post
            num_end = m.end("n2") if second else m.end("n1")
            if text[num_end : num_end + 1] in _GLUE_CHARS:
                continue  # 1+5+X, 7×24
            meas = g_meas or ""
            mag = g_mag or bmag or ""
            if p1 and meas not in ("%", "％"):
                continue  # '7.5%—8年' is no percent range
        else:
            if before in _CN_CHARS:
                continue
            first, second, post = c1, c2, cpost
            meas, mag = cmeas, cmag or ""
            if _CN_RUN.search(first.partition("点")[0]):
                continue
            if mag and not second and len(first) == 2 and first[1] in "百千":
                # '四千亿' mirrors '4千亿': the magnitude belongs to the unit.
                first, mag = first[0], first[1] + mag
        if not pct:
            unit_end = end - len(post) if post else end
            if not post and _NAME_AFTER_UNIT.match(text, end):
                continue
            if meas == "人" and text.startswith("口", unit_end):
                continue  # '30万人口以上县城' sizes a place, it is no goal
            if meas in ("个", "项") and text.startswith("重点", unit_end):
                # 82项重点工作 is a structure count; 十五个重点专项行动 a programme.
                if meas == "项" or not n1:
                    continue
            unit = mag + ("%" if meas == "％" else meas)
        value = _number_value(first)
        value_max = _number_value(second) if second else None
        if value is None or not math.isfinite(value):
            continue
        if second and (value_max is None or not math.isfinite(value_max)):
            continue
        if quoted and _inside_quote(text, num_start, end):
            continue  # “两个70%”, “…比例不低于40%”政策: quoted names and slogans

        metric, qualifier, span_start = _split_metric(text, max(prev_end, num_start - _MAX_METRIC), num_start)
        if post:
            qualifier = post[-2:]  # words after the number win; 及以上 → 以上
        nxt = text[end : end + 1]
        if nxt == "的" and (qualifier or unit == "%"):
            continue  # '100亿元以上的县市', '10%的增长目标': thresholds that describe
        if post and nxt and nxt not in _FREE_AFTER and ("元" in unit or not meas or unit == "%"):
            continue  # '50亿元以上项目', '20万以上城市': a size threshold on the next noun
        if qualifier is None:
            if value == 0:
                continue  # '评论 0人': page furniture, not a goal
            if c1 and not mag and unit not in _SMALL_CN_OK and value < 100 and "点" not in first:
                continue  # plain small Chinese counts are slogans (十个特色小镇)

        if len(metric) <= 2:
            metric += _trailing_phrase(text, end)
        if not metric and targets and span_start == prev_end + 1:
            metric = targets[-1].metric  # '老旧小区206个、2.6万户' shares the metric

        j = bisect_right(scope_ends, num_start)
        targets.append(
            # Positional: a NamedTuple built from keywords costs twice as much.
            _new(
                Target,
                (
                    metric,
                    value,
                    value_max,
                    unit,
                    qualifier,
                    scopes[j - 1][1] if j else None,
                    text[span_start:end],
                    span_start,
                    end,
                ),
            )
        )
        prev_end = end
    return targets
