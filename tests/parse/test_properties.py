"""Properties of the parser over arbitrary text (hypothesis).

Whatever the text — outline markers of every style, assignment brackets
nested, unbalanced or cut, punctuation of both widths, traditional
characters, stray symbols — ``clean_notice`` + ``parse_notice``:

* never raise;
* give tasks whose text comes from the cleaned notice (every line of a task's
  text is the tail of a cleaned line — what follows the marker — or a whole
  cleaned line), in the original and the simplified script alike;
* read each assignment from a span that appears in its task's simplified text,
  and each target from a span of that text (or of its section's intro).
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipelines.clean.notice import CleanedNotice, clean_notice
from pipelines.clean.script import to_simplified
from pipelines.combine import records
from pipelines.parse.notice import ParsedNotice, SourceInfo, parse_notice

# Simplified and traditional characters of the notices, incl. role words.
CJK = "推进建设发展改革委省市州县区财政厅局国产业与發展負責牵头配合责任单位工作任务目标增长以上左右到年月日实施办法各有关部门人民政府國務院關於實施意見為"
UNITS = [
    "省发展改革委",
    "省财政厅",
    "市教育局",
    "各市州人民政府",
    "省委宣传部",
    "國家發展改革委",
    "州人社局",
    "有关部门",
]
MARKERS = [
    "",
    "",
    "一、",
    "二、",
    "十二、",
    "(一)",
    "（二）",
    "(十三)",
    "1.",
    "2、",
    "3．",
    "12.",
    "(1)",
    "（2）",
    "附件1",
    "附件",
    "①",
    "第一条",
    "——",
]
PUNCT = [*",，;；:：。、!！?？“”《》〔〕%％-—…·/ ", "\u3000", "\t"]
ROLE_WORDS = ["牵头", "负责", "分别牵头", "等按职责分工负责", "配合", "协助", "牵头单位:", "责任单位:", "；", "等"]

unit = st.sampled_from(UNITS)
bracket = st.one_of(
    st.builds(lambda a, b: f"({a}牵头,{b}等按职责分工负责)", unit, unit),
    st.builds(lambda a, b: f"（{a}、{b}分别牵头）", unit, unit),
    st.builds(lambda a, b: f"(牵头单位:{a};责任单位:{b})", unit, unit),
    st.builds(lambda a, w, b: f"({a}{w}{b}", unit, st.sampled_from(ROLE_WORDS), unit),  # cut off
    st.builds(lambda a: f"({a}({a})牵头)", unit),  # nested
    st.sampled_from(["(", ")", "（", "）", "((", "))", "()", "(GDP)"]),
)
number = st.builds(
    lambda n, u, q: f"{n}{u}{q}",
    st.one_of(st.integers(0, 30000).map(str), st.sampled_from(["6.5", "一百", "两万", "2025", "3.7万", "百分之五"])),
    st.sampled_from(["%", "％", "个", "万人", "亿元", "家", "年", "", "个百分点"]),
    st.sampled_from(["", "以上", "左右", "以内"]),
)
segment = st.one_of(
    st.text(alphabet=CJK, min_size=1, max_size=12),
    bracket,
    number,
    st.sampled_from(PUNCT),
    unit,
    st.sampled_from(ROLE_WORDS),
)
structured_line = st.builds(
    lambda m, parts: m + "".join(parts), st.sampled_from(MARKERS), st.lists(segment, max_size=8)
)
labelled_line = st.builds(
    lambda label, a, b: f"{label}:{a}、{b}。",
    st.sampled_from(["责任单位", "牵头单位", "部门分工", "分管领导", "配合单位"]),
    unit,
    unit,
)
line = st.one_of(structured_line, structured_line, structured_line, labelled_line, st.text(max_size=30))
notice_text = st.lists(line, max_size=16).map(lambda lines: "\n".join(lines))
newline_style = st.sampled_from(["\n", "\r\n", "\n\n"])


def _parse(text: str) -> tuple[CleanedNotice, ParsedNotice]:
    """As parse_stage calls the parser, minus the catch-all that turns a crash into a rejection."""
    cleaned = clean_notice(text)
    source = SourceInfo("prop_notice", "prop_notice.txt", "0" * 64, "utf-8", text)
    return cleaned, parse_notice(source, cleaned)


def _comes_from(task_text: str, lines: list[str]) -> bool:
    """Every line of ``task_text`` is a tail of a cleaned line (the first: text after a marker) or a whole one."""
    if not task_text:
        return True
    if any(task_text in line for line in lines) or task_text in "\n".join(lines):
        return True
    whole = set(lines)
    first, *rest = task_text.split("\n")
    return any(line.endswith(first) for line in lines) and all(part in whole for part in rest)


def _check(text: str) -> None:
    cleaned, parsed = _parse(text)
    tasks = {t["task_id"]: t for t in records(parsed, "tasks")}
    for task in tasks.values():
        assert _comes_from(task["text"], cleaned.lines), (task["text"], cleaned.lines)
        assert _comes_from(task["text_simplified"], cleaned.lines_simplified), (
            task["text_simplified"],
            cleaned.lines_simplified,
        )
    for a in records(parsed, "assignments"):
        task = tasks[a["task_id"]]
        assert a["span"] in task["text_simplified"], (a, task["text_simplified"])
        assert a["unit_raw"], a
    sections = {s["section_id"]: s for s in records(parsed, "sections")}
    for t in records(parsed, "targets"):
        if t.get("task_id") is not None:
            text_s = tasks[t["task_id"]]["text_simplified"]
            assert text_s[t["span_start"] : t["span_start"] + len(t["span"])] == t["span"], (t, text_s)
        else:  # read from a section's intro paragraph (original script: compare simplified)
            intro = sections[t["section_id"]]["text"] or ""
            assert t["span"] in intro or t["span"] in to_simplified(intro), (t, intro)
    for task in tasks.values():
        assert task["section_id"] is None or task["section_id"] in sections


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(notice_text, newline_style)
@example("一、总体要求\n(一)推进建设。(省发展改革委牵头,省财政厅负责)\n1.扩大投资(省财政厅", "\n")
@example("1.推进(学前教育、义务教育(省教育局牵头)\n2.完善)制度。(省财政厅牵头)", "\n")
@example("(一)國務院關於實施意見。(國家發展改革委牵头)\n责任单位:省财政厅、市教育局。", "\r\n")
@example("附件1\n一、\n(一)\n1.\n(1)", "\n")
def test_parser_never_raises_and_tasks_come_from_the_text(text, newline):
    _check(text.replace("\n", newline))


@settings(deadline=None, max_examples=100)
@given(st.text(max_size=400))
def test_parser_survives_arbitrary_unicode(text):
    _check(text)
