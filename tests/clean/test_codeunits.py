"""Table scans over UTF-16 code units: what the cleaner's whole-text scans for rare characters rely on."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.clean import script
from pipelines.clean.codeunits import code_units, distinct_in, lines_with, unit_table
from pipelines.clean.punctuation import _FULL_TO_HALF, normalize_punctuation, split_lines
from pipelines.clean.script import simplified_lines


def test_code_units_keep_supplementary_characters_and_lone_surrogates():
    units = code_units("a覆\U00020000\ud800").tolist()
    # 'a', 覆, the surrogate pair of U+20000, and the lone surrogate as its own unit.
    assert units == [0x61, 0x8986, 0xD840, 0xDC00, 0xD800]
    assert code_units("").tolist() == []


def test_lines_with_names_each_line_holding_a_table_character_once():
    table = unit_table("覆么")
    lines = ["一、总体要求", "覆盖全市, 覆盖全省", "", "什么", "没有", "\U00020000"]
    assert lines_with(code_units("\n".join(lines)), table) == [1, 3]
    # Supplementary characters are found by the unit their pair opens with.
    assert lines_with(code_units("\n".join(lines)), unit_table("覆", supplementary=True)) == [1, 5]
    assert lines_with(code_units(""), table) == []


def test_a_table_holding_the_line_break_is_refused():
    with pytest.raises(ValueError, match="line break"):
        lines_with(code_units("a\nb"), unit_table("\n"))


def test_distinct_in_lists_each_character_once_in_code_order():
    # First seen: ：, then （ and ）; code order: （ U+FF08, ） U+FF09, ： U+FF1A.
    assert distinct_in(code_units("任务：（一）（二）"), unit_table("（）：；")) == ["（", "）", "："]
    assert distinct_in(code_units("没有"), unit_table("（")) == []


def test_the_t2s_table_agrees_with_the_trigger_regex_and_marks_every_high_surrogate():
    table = script._t2s_table()
    trigger = script._t2s_trigger()
    bmp = [code for code in range(0x10000) if not 0xD800 <= code < 0xE000]
    assert [hex(c) for c in bmp if bool(table[c]) != bool(trigger.match(chr(c)))] == []
    # Every supplementary character opens on a high surrogate: all are marked, no low one.
    assert table[0xD800:0xDC00].all() and not table[0xDC00:0xE000].any()


def test_a_line_the_table_picks_but_the_regex_does_not_stays_as_it_is():
    # A lone high surrogate hits the table (it stands for the supplementary plane),
    # but no character t2s may change is there: the line must not reach OpenCC,
    # which cannot encode a surrogate.
    assert simplified_lines(["a\ud840b", "關於"]) == ["a\ud840b", "关于"]


def test_simplified_lines_refuses_lines_holding_a_line_break():
    with pytest.raises(ValueError, match="line breaks"):
        simplified_lines(["一\n關", "二"])


# Text made of what matters here: full-width forms, traditional and simplified
# characters, supplementary-plane ones, blanks and line breaks.
_ALPHABET = st.sampled_from(
    [*_FULL_TO_HALF, "覆", "么", "關", "於", "发", "展", "a", "1", " ", "\t", "\n", "\U00020000", "\U0002f800", "、"]
)


@given(st.text(_ALPHABET, max_size=60))
def test_normalize_punctuation_maps_each_character_alone(text):
    assert normalize_punctuation(text) == "".join(_FULL_TO_HALF.get(c, c) for c in text)


@given(st.lists(st.text(_ALPHABET.filter(lambda c: c != "\n"), max_size=12), max_size=8))
def test_simplified_lines_convert_exactly_the_lines_t2s_changes(lines):
    lines = split_lines("\n".join(lines))
    assert simplified_lines(lines) == [script._t2s().convert(line) for line in lines]


@given(st.lists(st.tuples(_ALPHABET, _ALPHABET), max_size=200))
def test_changed_chars_counts_the_positions_that_differ(pairs):
    text = "".join(a for a, _ in pairs)
    twin = "".join(b for _, b in pairs)
    assert script.changed_chars(text, twin) == sum(a != b for a, b in pairs)
