"""Shortcuts taken for speed give exactly what the plain regex calls give.

Each test compares a fast path with the expression it replaces, on seeded
random text built from the tokens that matter to it.
"""

import random
import re

import pytest

from pipelines.parse import assignments, metadata, targets
from pipelines.parse.outline import ends_sentence


def _texts(tokens: list[str], n: int, seed: int, longest: int = 10) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(tokens) for _ in range(rng.randint(0, longest))) for _ in range(n)]


def _same(a: re.Match[str] | None, b: re.Match[str] | None) -> bool:
    return (a and (a.span(), a.groups())) == (b and (b.span(), b.groups()))


def test_ends_sentence_is_the_sentence_end_regex():
    sentence_end = re.compile(r"[。!?;”)》]$")  # "$" also matches before a final line break
    for text in _texts(["。", "!", "?", ";", "”", ")", "》", "字", "\n", "("], 20_000, 1):
        assert ends_sentence(text) == bool(sentence_end.search(text)), repr(text)


def test_web_date_lookup_is_the_regex_search():
    tokens = [
        "时间",
        "发布",
        "发布日期",
        "发布时间",
        "发",
        "时",
        ":",
        " ",
        "2023-1-5",
        "1999-12-31",
        "2023-",
        "x",
        "\n",
    ]
    found = 0
    for text in _texts(tokens, 20_000, 2):
        expected = metadata.WEB_DATE.search(text)
        found += expected is not None
        assert _same(metadata._web_date(text), expected), repr(text)
    assert found > 1000


def test_doc_number_anchor_finds_what_the_full_search_finds():
    tokens = [
        "湘政",
        "办",
        "发",
        "函",
        "字",
        "令",
        "通",
        "〔",
        "〕",
        "(",
        "2023",
        "1999",
        "12",
        "号",
        " ",
        "省人民政府",
        "\n",
    ]
    found = 0
    for text in _texts(tokens, 20_000, 3, longest=12):
        m = metadata.DOC_NUMBER.search(text)
        found += m is not None
        expected = f"{m.group('prefix')}〔{m.group('year')}〕{int(m.group('no'))}号" if m else None
        assert metadata.find_doc_number(text) == expected, repr(text)
    assert found > 100


def test_declared_count_regex_with_atomic_runs_matches_the_plain_one():
    plain = re.compile(r"\d(?:\d*\s*个方面\s*(?P<items>\d+)\s*项|(?P<tail>\d*)\s*项(?:重点)?(?:工作|任务))")
    for text in _texts(["1", "23", "个方面", "项", "重点", "工作", "任务", " ", "字"], 20_000, 4):
        assert _same(metadata.DECLARED.search(text), plain.search(text)), repr(text)


def test_prefecture_mentions_count_like_str_count():
    names = metadata._prefectures()
    tokens = [short for _, short in names[:6]] + ["市", "州", "湘", "字", "\n"]
    for text in _texts(tokens, 5_000, 5, longest=15):
        assert metadata._prefecture_mentions(text) == {name: text.count(short) for name, short in names}


@pytest.mark.parametrize(
    ("words", "overlap"),
    [(["长沙", "株洲"], False), (["湘西", "湘西州"], True), (["长沙", "沙市"], True), (["", "a"], True)],
)
def test_overlapping_names_fall_back_to_counting_each(words, overlap):
    assert metadata._may_overlap(words) is overlap


def test_segment_role_shortcut_keeps_every_role():
    tokens = [
        "省财政厅",
        "等",
        "相关单位",
        "分别",
        "牵头",
        "负责",
        "抓总",
        "协助",
        "配合",
        "落实",
        "实施",
        "按职责分工",
        "\n",
    ]
    patterns = (
        ("lead_each", assignments.LEAD_EACH),
        ("lead", assignments.LEAD),
        ("support", assignments.SUPPORT),
        ("responsible", assignments.RESPONSIBLE),
    )
    for segment in _texts(tokens, 20_000, 6, longest=6):
        expected = next(((role, segment[: m.start()]) for role, p in patterns if (m := p.search(segment))), None)
        assert assignments._segment_role(segment) == (expected or (None, segment)), repr(segment)


def test_unit_lookahead_does_not_change_target_candidates():
    unit_words = targets._UNIT_WORDS.replace("|", "")
    plain = re.compile(targets._CANDIDATE.pattern.replace(f"(?=[{targets._UNIT_FIRST}])", ""))
    tokens = [
        "1",
        "2.5",
        "十",
        "三",
        "百分之",
        "万",
        "亿",
        "至",
        "-",
        "%",
        "个",
        "平方米",
        "千瓦时",
        "字",
        "第",
        *unit_words,
    ]
    for text in _texts(tokens, 20_000, 7):
        assert [m.groups() for m in targets._CANDIDATE.finditer(text)] == [m.groups() for m in plain.finditer(text)]


def test_candidate_starts_find_every_candidate():
    unit_words = targets._UNIT_WORDS.replace("|", "")
    tokens = [
        "1",
        "2.5",
        "十",
        "三",
        "一",
        "百",
        "百分之",
        "分之",
        "万",
        "亿",
        "点",
        "至",
        "-",
        " ",
        "%",
        "个",
        "体",
        *unit_words,
    ]
    for text in _texts(tokens, 20_000, 8):
        expected = [(m.span(), m.groups()) for m in targets._CANDIDATE.finditer(text)]
        assert [(m.span(), m.groups()) for m in targets._candidates(text)] == expected, repr(text)


def test_declared_count_lookup_is_the_regex_search():
    tokens = ["1", "23", " ", "\n", "个方面", "项", "重点", "工作", "任务", "各", "项目", "字", "٣"]
    found = 0
    for text in _texts(tokens, 20_000, 9):
        expected = metadata.DECLARED.search(text)
        found += expected is not None
        assert _same(metadata._find_declared(text), expected), repr(text)
    assert found > 100
