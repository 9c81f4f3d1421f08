"""Extract quantitative targets (指标) from the simplified text of one task.

A target is a number with a unit of measure (or %) that the text commits to
reach, e.g. ``地区生产总值增长6.5%左右``. The parser is regex based and pure:
one precompiled master pattern finds every number + unit candidate, then
cheap string checks reject years, names, slogans and descriptors and derive
the metric, qualifier and target year.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

__all__ = ["Target", "extract_targets", "chinese_to_number"]


@dataclass(frozen=True)
class Target:
    """One quantitative goal found in a task text."""

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


def _cn_integer(s: str) -> int:
    """Parse an integer numeral that may contain 万 and 亿."""
    if "亿" in s:
        high, _, low = s.partition("亿")
        return (_cn_integer(high) if high else 1) * 100_000_000 + _cn_integer(low)
    if "万" in s:
        high, _, low = s.partition("万")
        return (_cn_integer(high) if high else 1) * 10_000 + _cn_integer(low)
    return _cn_below_wan(s)


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
    value = float(_cn_integer(integer)) if integer else 0.0
    if fraction:
        value += float("0." + "".join(str(_CN_DIGITS[c]) for c in fraction))
    return value


# --- Candidate pattern ------------------------------------------------------

# Half-width ',' only as a thousands separator (exactly three digits after it).
_AR = r"(?:[0-9０-９]{1,3}(?:,[0-9０-９]{3})+(?![0-9０-９])|[0-9０-９]+)(?:[.．][0-9０-９]+)?"
# A Chinese numeral must start with a digit or 十: '百亿企业', '千户' are names.
_CN = r"[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千]*(?:点[零〇一二三四五六七八九]+)?"
_NUM = rf"(?:{_AR}|{_CN})"
_MAG = r"万亿|千亿|百亿|十亿|千万|百万|十万|亿|万|千|百"
# Longest alternatives first; years/months/days and name-like words
# (大, 强, 届, 类, 英寸, G, 千伏) are deliberately absent.
_MEASURES = (
    r"个百分点|百分点|[%％‰]|元/(?:人·?月|月|年|人|日|天|吨|亩|次)|"
    r"平方公里|平方米|立方米|千瓦时|千瓦|兆瓦|公里|千米|公顷|公斤|千克|标箱|"
    r"人次|元|人|家|户|个|亩|米|吨|斤|所|座|盏|间|件|名|辆|头|只|项|条|处|"
    r"套|台|张|栋|幢|株|棵|场|次|部|位|艘|架|倍|床|宗|块|篇"
)
_POST = r"及?(?:以上|左右|以内|以下)"
_SEP = r"[-－—–~～〜至]"

_CANDIDATE = re.compile(
    # 百分之六点五 / 百分之五至百分之八
    rf"(?P<pct>百分之)(?P<pn1>{_NUM})"
    rf"(?:{_SEP}(?:百分之)?(?P<pn2>{_NUM}))?"
    rf"(?P<ppost>{_POST})?"
    # 6.5% / 7.5%—8% / 5至8个 / 2万亿元 / 4千亿
    rf"|(?P<n1>{_NUM})"
    rf"(?:(?P<p1>[%％])?\s?{_SEP}\s?(?P<n2>{_NUM}))?"
    rf"(?P<mag>{_MAG})?"
    rf"(?P<meas>{_MEASURES})?"
    rf"(?P<post>{_POST})?"
)

# Magnitudes that may stand alone as a unit ('4千亿', '2万'); 千/百 alone are
# spec-like ('10千伏').
_BARE_MAGS = frozenset({"万亿", "千亿", "百亿", "十亿", "千万", "百万", "十万", "亿", "万"})
# Units a small Chinese numeral may carry and still be a target (一个百分点);
# with any other unit it is a slogan (两个毫不动摇, 五张名片, 三个不发生).
_SMALL_CN_OK = frozenset({"%", "％", "‰", "个百分点", "百分点", "倍"})
_AR_CHARS = frozenset("0123456789０１２３４５６７８９.．")
_CN_CHARS = frozenset("零〇一二两三四五六七八九十百千万亿点")
# Characters that glue a number into a code or formula: G320, 1+5+X, 7×24, 1/3.
_GLUE_CHARS = frozenset("+＋×*/／")
# After the unit these mark a name or a descriptor rather than a goal:
# 100亿级, 10%的增长目标, 43个方面, 82项重点工作.
_NAME_AFTER_UNIT = re.compile(r"[级强大的]|方面|株洲|株潭")
_CLAUSE_DELIMS = re.compile(r"[，,；;。：:、—！!？?\n\r]")
_YEAR_SCOPE = re.compile(
    r"到\s?(?P<y1>[12][0-9]{3})\s?年(?:底|末)?"
    r"|(?P<y2>[12][0-9]{3})\s?年(?:底|末)?前(?![一二两三四五六七八九十0-9])"
)
# Leading list markers, year-scope phrases and commitment filler.
_LEAD_NOISE = re.compile(
    r"(?:\s+|[0-9０-９]+[.．、](?![0-9０-９])|[（(][一二三四五六七八九十0-9]+[）)]"
    r"|[一二三四五六七八九十]+、|[—－-]+"
    r"|[（(]|到\s?[12][0-9]{3}\s?年(?:底|末)?|[12][0-9]{3}\s?年(?:底|末)?前?"
    r"|力争实现|力争|确保|实现|全年|争取|努力)+"
)
_PRE_QUALIFIERS = ("不低于", "不少于", "不超过", "突破", "超过", "达到", "达")
# Two bare digits side by side (三一, 二〇二五) spell a name or a year.
_CN_RUN = re.compile(r"[一二两三四五六七八九〇零][一二两三四五六七八九〇]")
_TRAIL_STOP = re.compile(r"[，,；;。：:、—！!？?\n\r（(]")


def _number_value(s: str) -> float | None:
    """Value of one matched number token (Arabic or Chinese)."""
    if s[0] in _AR_CHARS:
        try:
            return float(s.replace(",", "").replace("．", "."))
        except ValueError:  # defensive: the pattern only yields valid floats
            return None
    return chinese_to_number(s)


def _inside_short_quote(text: str, start: int, end: int) -> bool:
    """True if [start, end) sits in a short “…” slogan or a 《…》 title."""
    for left, right, reach in (("“", "”", 40), ("《", "》", 40)):
        lq = text.rfind(left, max(0, start - reach), start)
        if lq != -1 and text.find(right, lq, start) == -1:
            if text.find(right, end, end + reach) != -1:
                return True
    return False


def _strip_lead(s: str) -> tuple[str, int]:
    """Remove leading noise; return the rest and how many chars were cut."""
    m = _LEAD_NOISE.match(s)
    cut = m.end() if m else 0
    return s[cut:], cut


def extract_targets(text: str) -> list[Target]:
    """Return the quantitative targets in ``text`` in order of appearance."""
    if not text:
        return []
    # Precomputed boundaries keep the scan linear even for huge clauses.
    delims = [m.start() for m in _CLAUSE_DELIMS.finditer(text)]
    scopes = [(m.end(), int(m.group("y1") or m.group("y2"))) for m in _YEAR_SCOPE.finditer(text)]
    scope_ends = [e for e, _ in scopes]

    targets: list[Target] = []
    prev_end = 0
    for m in _CANDIDATE.finditer(text):
        num_start, end = m.start(), m.end()
        before = text[num_start - 1] if num_start else ""
        first = m.group("pn1") or m.group("n1")
        is_cn = first[0] in _CN_CHARS
        if is_cn and not m.group("pct"):
            if before in _CN_CHARS or before == "第":
                continue
        elif before in _AR_CHARS or before in _GLUE_CHARS or before == "第":
            continue
        if before.isascii() and before.isalpha():
            continue  # G320, S219: road and model codes

        if is_cn and _CN_RUN.search(first.partition("点")[0]):
            continue
        value = _number_value(first)
        second = m.group("pn2") or m.group("n2")
        value_max = _number_value(second) if second else None
        if value is None or (second and value_max is None):
            continue

        if m.group("pct"):
            unit = "%"
            post = m.group("ppost")
            num_end = m.end("pn2") if second else m.end("pn1")
        else:
            mag, meas = m.group("mag") or "", m.group("meas") or ""
            post = m.group("post")
            num_end = m.end("n2") if second else m.end("n1")
            if text[num_end : num_end + 1] in _GLUE_CHARS:
                continue  # 3550+100, 1+5+X, 7×24
            if is_cn and mag and first[-1] in "百千" and len(first) == 2 and not second:
                # '四千亿' mirrors '4千亿': the magnitude belongs to the unit.
                mag = first[-1] + mag
                value = _number_value(first[0])
                if value is None:
                    continue
            if not meas and (is_cn or mag not in _BARE_MAGS):
                continue  # a bare number (or 千/百 alone) is no target
            if m.group("p1") and meas not in ("%", "％"):
                continue  # '7.5%—8年' is not a percent range
            unit = mag + meas
            unit_end = m.end("meas") if meas else m.end("mag")
            after = text[unit_end : unit_end + 2]
            if not post and _NAME_AFTER_UNIT.match(after):
                continue
            if meas == "项" and after == "重点":
                continue  # 82项重点工作: a structure count
            if is_cn and meas == "个" and after == "重点":
                continue  # 十五个重点专项行动: a programme name
        if post and text.startswith("的", end):
            continue  # '100亿元以上的县市' describes, it does not commit
        if _inside_short_quote(text, num_start, end):
            continue

        # Metric: words before the number in this clause, after the previous target.
        i = bisect_left(delims, num_start)
        clause_start = delims[i - 1] + 1 if i else 0
        metric_start = max(clause_start, prev_end)
        raw_pre = text[metric_start:num_start]
        # An unmatched ')' means the clause began inside an earlier note
        # ('…(省教育厅牵头)湘易办…'); the metric starts after it.
        close = max(raw_pre.rfind(")"), raw_pre.rfind("）"))
        if close != -1 and max(raw_pre.rfind("(", 0, close), raw_pre.rfind("（", 0, close)) == -1:
            metric_start += close + 1
            raw_pre = raw_pre[close + 1 :]
        pre, cut = _strip_lead(raw_pre)
        span_start = metric_start + cut

        qualifier: str | None = None
        for word in _PRE_QUALIFIERS:
            if pre.endswith(word):
                qualifier = "达到" if word == "达" else word
                pre = pre[: -len(word)]
                break
        if post:
            qualifier = post[-2:]  # words after the number win; 及以上 → 以上

        if qualifier is None:
            if value == 0:
                continue  # '评论 0人': page furniture, not a goal
            if is_cn and not m.group("pct") and not m.group("mag") and unit not in _SMALL_CN_OK:
                # Plain Chinese counts are mostly slogans or programme names
                # (两个毫不动摇, 十五条, 十个特色小镇); keep only large or decimal ones.
                if value < 100 and "点" not in first:
                    continue

        metric = pre
        if len(metric) <= 2:
            metric += _trailing_phrase(text, end, delims)
        if not metric and targets and targets[-1].end >= clause_start - 1:
            metric = targets[-1].metric  # '老旧小区206个、2.6万户' shares the metric

        j = bisect_right(scope_ends, num_start)
        year = scopes[j - 1][1] if j else None

        targets.append(
            Target(
                metric=metric,
                value=value,
                value_max=value_max,
                unit=unit,
                qualifier=qualifier,
                year=year,
                span=text[span_start:end],
                start=span_start,
                end=end,
            )
        )
        prev_end = end
    return targets


def _trailing_phrase(text: str, end: int, delims: list[int]) -> str:
    """Noun phrase after a unit up to the next delimiter (整合600所【乡村小规模学校】)."""
    # Skip an adjacent second quantity so '6280户13227人脱贫出列' yields 脱贫出列.
    nxt = _CANDIDATE.match(text, end)
    if nxt and nxt.end() > end and (nxt.group("meas") or nxt.group("pct")):
        end = nxt.end()
    k = bisect_left(delims, end)
    stop = delims[k] if k < len(delims) else len(text)
    phrase = text[end:stop]
    cut = _TRAIL_STOP.search(phrase)
    return phrase[: cut.start()] if cut else phrase
