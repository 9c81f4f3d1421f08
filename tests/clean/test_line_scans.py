"""The cleaner's cheap line scans agree with the plain patterns they stand in for."""

from __future__ import annotations

import re
import re._parser as sre_parse  # only to read the patterns' first characters

from hypothesis import given
from hypothesis import strategies as st

from pipelines.clean.boilerplate import _ANCHORED, _ANCHORED_FIRST, boilerplate_reason
from pipelines.clean.punctuation import split_lines

# What split_lines did before: runs of two or more spaces and tabs, or a lone tab, become one space.
_BLANKS = re.compile(r"[ \t]{2,}|\t")


def _reference_split_lines(text: str) -> list[str]:
    return [s for line in _BLANKS.sub(" ", text).splitlines() if (s := line.strip())]


@given(st.text(alphabet=st.sampled_from(" \t\n\r\u3000\x0b字a1"), max_size=60))
def test_split_lines_collapses_blanks_as_the_plain_pattern_does(text):
    assert split_lines(text) == _reference_split_lines(text)


def _first_chars(items) -> set[str]:
    """Every character a parsed pattern's match can start with (literals and small classes)."""
    op, av = items[0]
    name = str(op)
    if name == "SUBPATTERN":
        return _first_chars(list(av[3]))
    if name == "BRANCH":
        return set().union(*(_first_chars(list(alt)) for alt in av[1]))
    if name == "LITERAL":
        return {chr(av)}
    if name == "IN":
        assert all(str(o) == "LITERAL" for o, _ in av), av
        return {chr(v) for _, v in av}
    raise AssertionError(f"unexpected opening {name}")


def test_anchored_first_characters_cover_every_anchored_pattern():
    derived = _first_chars(list(sre_parse.parse(_ANCHORED.pattern)))
    assert derived == set(_ANCHORED_FIRST)


def test_boilerplate_at_a_line_start_is_still_found_and_mid_line_is_content():
    assert boilerplate_reason("您当前所在的位置:首页", floating=False) == "navigation"
    assert boilerplate_reason("[打印]", floating=False) == "share_print"
    assert boilerplate_reason("相關閱讀", floating=False) == "related_links"
    assert boilerplate_reason("请见您当前所在的位置", floating=False) is None
