"""Notice metadata: title, issuer, document number, date, region, level."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from pipelines.reference import load_csv

DOC_TYPES = (
    "实施意见",
    "实施方案",
    "通知",
    "意见",
    "方案",
    "决定",
    "办法",
    "规定",
    "报告",
    "规划",
    "计划",
    "要点",
    "分工",
)
SITE_SUFFIX = re.compile(r"[-_|—]\s*[^-_|—]*(门户网站|人民政府网|政府网|网站)$")
ORIGINAL_TITLE = re.compile(r"^原标题:\s*")
TRAILING_DOCNO = re.compile(r"\([^()]*〔\d{4}〕\d+号\)$")
# 湘政发〔2023〕1号 — also when scraping lost the brackets: 湘政发〔20231
DOC_NUMBER = re.compile(
    r"(?P<prefix>[\u4e00-\u9fff]{1,8}?(?:发|办发|办函|函|字|令|通))\s*[〔\[【(]?\s*(?P<year>(?:19|20)\d{2})\s*[〕\]】)]?\s*(?P<no>\d{1,4})\s*号?"
)
FULL_DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
DIGIT_DATE = re.compile(r"^((?:19|20)\d{2})(\d{3,4})$")
WEB_DATE = re.compile(r"(?:发布时间|发布日期|时间)\s*:?\s*((?:19|20)\d{2})-(\d{1,2})-(\d{1,2})")
# "5个方面30项" / "30项重点工作". The pattern opens on a digit outside the
# alternation: a leading character class lets the engine skip to the next digit
# in C instead of trying both branches at every position of the text.
# The digit runs are atomic: what follows them is never a digit, so giving
# digits back cannot help, and not trying it keeps long numbers linear.
DECLARED = re.compile(r"\d(?:(?>\d*)\s*个方面\s*(?P<items>\d+)\s*项|(?P<tail>(?>\d*))\s*项(?:重点)?(?:工作|任务))")
ISSUER_END = re.compile(r"^(.*?)\s*关于")


@dataclass(frozen=True)
class NoticeMeta:
    title: str
    issuer: str | None
    doc_number: str | None
    region: str | None
    admin_level: str
    doc_type: str | None
    published_date: dt.date | None
    declared_task_count: int | None


def find_title(lines: list[str]) -> str:
    """The notice's title: the first 关于…通知/意见 line near the top, else the first line."""
    head = lines[:12]
    for i, line in enumerate(head):
        line = SITE_SUFFIX.sub("", line).strip()
        if ORIGINAL_TITLE.match(line):
            # "原标题:中共湖南省委 湖南省人民政府" + "关于贯彻落实…的实施意见"
            rest = ORIGINAL_TITLE.sub("", line)
            if i + 1 < len(head) and head[i + 1].startswith("关于"):
                return rest + head[i + 1]
            return rest
        stripped = TRAILING_DOCNO.sub("", line).strip()
        if "关于" in stripped and stripped.endswith(DOC_TYPES):
            return stripped
    return SITE_SUFFIX.sub("", lines[0]).strip() if lines else ""


# The end of a document number's prefix and the year after it. DOC_NUMBER tries
# every ideograph as a prefix start; a match can only start a few characters
# before this anchor, so the search starts there.
_DOC_NUMBER_ANCHOR = re.compile(r"[发函字令通]\s*[〔\[【(]?\s*(?:19|20)\d{2}")
# The longest prefix DOC_NUMBER allows before its last character: 8 ideographs and 办.
_DOC_NUMBER_LEAD = 9


def find_doc_number(text_head: str) -> str | None:
    """Document number, rebuilt in its canonical form 湘政发〔2023〕1号."""
    anchor = _DOC_NUMBER_ANCHOR.search(text_head)
    if not anchor:
        return None
    m = DOC_NUMBER.search(text_head, max(0, anchor.start() - _DOC_NUMBER_LEAD))
    if not m:
        return None
    return f"{m.group('prefix')}〔{m.group('year')}〕{int(m.group('no'))}号"


def _valid(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _occurrences(text: str, word: str) -> Iterator[int]:
    """Every index at which ``word`` starts in ``text`` (str.find: C, fast)."""
    k = text.find(word)
    while k != -1:
        yield k
        k = text.find(word, k + 1)


def _first_match(pattern: re.Pattern[str], text: str, starts: set[int]) -> re.Match[str] | None:
    """``pattern.search(text)`` when ``starts`` holds every index a match can start at."""
    for start in sorted(starts):
        if m := pattern.match(text, start):
            return m
    return None


def _web_date(raw_text: str) -> re.Match[str] | None:
    """``WEB_DATE.search(raw_text)``, tried only where a match can start.

    The regex opens on 发 or 时, both common, and most pages hold no web date,
    so a search would try most of the page. A match opens on 发布时间, 发布日期
    or 时间.
    """
    starts = set(_occurrences(raw_text, "发布日期"))
    for k in _occurrences(raw_text, "时间"):
        starts.add(k)
        if k >= 2 and raw_text.startswith("发布", k - 2):
            starts.add(k - 2)
    return _first_match(WEB_DATE, raw_text, starts)


def find_date(simplified: list[str], raw_text: str) -> dt.date | None:
    """Signature date, else the web page's publication date.

    A signature scraped as bare digits (``2023117``) is ambiguous (1-17 or
    11-7); the reading on or before the web publication date wins.
    """
    web = _web_date(raw_text)
    web_date = _valid(int(web.group(1)), int(web.group(2)), int(web.group(3))) if web else None
    for line in simplified:
        if len(line) > 16:
            continue  # a signature date stands alone on a short line
        m = FULL_DATE.fullmatch(line.strip())
        if m:
            return _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = DIGIT_DATE.match(line.strip())
        if m:
            year, rest = int(m.group(1)), m.group(2)
            splits = [(rest[:1], rest[1:]), (rest[:2], rest[2:])]
            options = [d for a, b in splits if (d := _valid(year, int(a), int(b)))]
            options = [d for d in options if web_date is None or d <= web_date] or options
            if options:
                return min(options, key=lambda d: abs((web_date - d).days) if web_date else 0)
    for line in simplified[:8]:
        m = FULL_DATE.search(line)
        if m:
            return _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return web_date


@cache
def _longest_first() -> tuple[dict[str, str], ...]:
    return tuple(sorted(load_csv("regions.csv"), key=lambda r: -len(r["name"])))


@cache
def _prefectures() -> tuple[tuple[str, str], ...]:
    """(name, short name) of each prefecture, in the order of regions.csv."""
    return tuple((row["name"], row["short"]) for row in load_csv("regions.csv") if row["level"] == "prefecture")


def _may_overlap(words: list[str]) -> bool:
    """True when two occurrences of the words can share characters (湘西 in 湘西州)."""
    for a in words:
        for b in words:
            if a != b and b in a:
                return True
            if any(a.endswith(b[:k]) for k in range(1, min(len(a), len(b)))):
                return True
    return not all(words)


@cache
def _mention_scan() -> re.Pattern[str] | None:
    """One pattern for every prefecture's short name, or None when it cannot count like str.count."""
    shorts = sorted({short for _, short in _prefectures()})
    # Non-overlapping matches of the alternation count each name exactly as
    # str.count does only if no two occurrences can share a character.
    return None if _may_overlap(shorts) else re.compile("|".join(map(re.escape, shorts)))


def _prefecture_mentions(text: str) -> dict[str, int]:
    """How often each prefecture's short name occurs in ``text``, in regions.csv order."""
    scan = _mention_scan()
    if scan is None:
        return {name: text.count(short) for name, short in _prefectures()}
    # One scan of the text instead of one str.count per prefecture (~27).
    found = Counter(scan.findall(text))
    return {name: found[short] for name, short in _prefectures()}


def find_region(issuer: str | None, text: str) -> tuple[str | None, str]:
    """(region, admin level) from the issuer, else the most-cited prefecture in the text."""
    regions = load_csv("regions.csv")
    if issuer:
        for row in _longest_first():
            if row["name"] in issuer or (row["short"] + "自治州") in issuer or issuer.startswith(row["short"]):
                return row["name"], row["level"]
    counts = Counter(_prefecture_mentions(text))
    name, hits = counts.most_common(1)[0] if counts else (None, 0)
    if name and hits >= 3:
        level = next(r["level"] for r in regions if r["name"] == name)
        return name, level
    return None, "unknown"


def extract_metadata(simplified: list[str], original: list[str], raw_text: str) -> NoticeMeta:
    """Metadata of one notice from its cleaned lines (and the raw text for web dates)."""
    title_simplified = find_title(simplified)
    # The published title keeps the notice's own script.
    title = _original_span(title_simplified, simplified[:12], original[:12])
    m = ISSUER_END.match(title_simplified)
    issuer = m.group(1).strip() if m and m.group(1).strip() else None
    head = "\n".join(simplified[:15])
    text = "\n".join(simplified)
    region, level = find_region(issuer, text)
    doc_type = next((t for t in DOC_TYPES if title_simplified.endswith(t)), None)
    d = _find_declared(text)
    declared = _declared_count(d) if d else None
    return NoticeMeta(
        title=title,
        issuer=issuer,
        doc_number=find_doc_number(head),
        region=region,
        admin_level=level,
        doc_type=doc_type,
        published_date=find_date(simplified, raw_text),
        declared_task_count=declared,
    )


def _find_declared(text: str) -> re.Match[str] | None:
    """``DECLARED.search(text)``, tried only where a match can start.

    The regex opens on ``\\d``, a Unicode category test the engine runs on every
    character (~0.2 ms a notice; this lookup ~0.04 ms). A match is a digit run,
    blanks, then 个方面 or 项: step back from each of those words over the
    blanks and the digits. Most 项 (项目, 各项) follow no digit.
    """
    starts: set[int] = set()
    for word in ("项", "个方面"):
        for k in _occurrences(text, word):
            start = k
            while start and text[start - 1].isspace():  # \s*, as the regex reads it
                start -= 1
            blanks = start
            while start and text[start - 1].isdecimal():  # \d+
                start -= 1
            if start < blanks:
                starts.add(start)
    return _first_match(DECLARED, text, starts)


def _declared_count(m: re.Match[str]) -> int:
    """The task count of a DECLARED match: the item count, else the number before 项."""
    if m.group("items"):
        return int(m.group("items"))
    return int(m.string[m.start() : m.end("tail")])  # the first digit sits outside the group


def _original_span(title_s: str, simplified: list[str], original: list[str]) -> str:
    """The title in the original script, rebuilt from the aligned lines it came from."""
    joined_s = "\n".join(simplified)
    joined_o = "\n".join(original)
    if len(joined_s) == len(joined_o):
        flat_s = joined_s.replace("\n", "")
        flat_o = joined_o.replace("\n", "")
        for prefix in ("原标题:", ""):
            k = flat_s.find(prefix + title_s) if prefix else flat_s.find(title_s)
            if k >= 0:
                k += len(prefix) if prefix else 0
                return flat_o[k : k + len(title_s)]
    return title_s
