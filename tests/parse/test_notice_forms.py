"""Notice-level forms, on small notices composed in each form."""

from pipelines.clean.notice import clean_notice
from pipelines.combine import records
from pipelines.parse.notice import SourceInfo, parse_notice


def parse(text: str):
    source = SourceInfo("n1", "n1.txt", "0" * 64, "utf-8", text)
    parsed = parse_notice(source, clean_notice(text))
    return {table: records(parsed, table) for table in parsed.rows}


def test_leader_headings_group_tasks_and_are_never_units():
    rows = parse(
        "某市2024年重点工作分工方案\n"
        "一、张三副市长牵头重点工作\n"
        "1.推进项目建设。(市发改委牵头,市财政局负责)\n"
        "二、李四副市长牵头重点工作\n"
        "2.抓好春耕生产。(市农业农村局牵头)\n"
    )
    leaders = [s["leader"] for s in rows["sections"]]
    assert leaders == ["张三副市长", "李四副市长"]
    units = {a["unit_raw"] for a in rows["assignments"]}
    assert units == {"市发改委", "市财政局", "市农业农村局"}


def test_a_notice_that_says_the_first_listed_unit_leads():
    rows = parse(
        "关于印发重点任务清单的通知\n"
        "列第一位的责任单位为牵头单位。\n"
        "一、重点任务\n"
        "1.建设智慧城市。(市大数据局、市财政局、市住建局)\n"
        "2.优化营商环境。(市政务服务中心、市发改委负责)\n"
    )
    found = [(a["unit_raw"], a["role"]) for a in rows["assignments"]]
    assert found == [
        ("市大数据局", "lead"),
        ("市财政局", "responsible"),
        ("市住建局", "responsible"),
        ("市政务服务中心", "lead"),
        ("市发改委", "responsible"),
    ]


def test_a_declared_count_that_disagrees_is_a_warning():
    rows = parse("现就3项重点工作提出如下分工意见。\n一、任务\n1.甲。(省财政厅牵头)\n2.乙。(省财政厅牵头)\n")
    assert rows["notices"][0]["declared_task_count"] == 3
    assert rows["notices"][0]["n_tasks"] == 2
    assert [w["kind"] for w in rows["warnings"]] == ["declared_count_mismatch"]
    assert rows["notices"][0]["n_warnings"] == 1


def test_a_cut_bracket_publishes_the_task_with_a_warning():
    rows = parse("一、任务\n1.加快城市更新。(省住房城乡建设厅牵头,省财政厅、省自然")
    assert [t["flags"] for t in rows["tasks"]] == ["bracket_cut_off"]
    assert [(a["unit_raw"], a["role"]) for a in rows["assignments"]] == [
        ("省住房城乡建设厅", "lead"),
        ("省财政厅", "responsible"),
    ]
    assert rows["warnings"][0]["kind"] == "bracket_cut_off"
    assert rows["warnings"][0]["task_id"] == rows["tasks"][0]["task_id"]


def test_short_unpunctuated_lines_left_out_of_tasks_are_counted():
    rows = parse("一、任务\n1.建设智慧城市。(市大数据局牵头)\n追梦路上 霞光满天\n富强民主文明和谐\n")
    assert "追梦路上" not in rows["tasks"][0]["text"]
    assert [(w["kind"], w["message"][:1]) for w in rows["warnings"]] == [("stray_text", "2")]


def test_leader_headings_of_party_secretaries_and_other_titles():
    rows = parse(
        "某市2024年重点工作分工方案\n"
        "一、王五同志书记牵头重点工作\n"
        "1.推进项目建设。(市发改委牵头)\n"
        "二、生态环境保护工作\n"
        "2.抓好污染防治。(市生态环境局牵头)\n"
        "三、经济增长工作\n"  # holds 长 but names no leader
        "3.稳定工业增长。(市工信局牵头)\n"
    )
    assert [s["leader"] for s in rows["sections"]] == ["王五同志书记", None, None]


def test_ids_keep_counting_past_999_tasks():
    # Three-digit ids are zero-padded; the 1000th task gets four digits, not a wrapped number.
    # Two sections of 501 numbered items (a list is numbered up to 999); the cleaner
    # drops repeated paragraphs, so the second list has other texts.
    first = "".join(f"{i}.推进第{i}项工作。(市发改委牵头)\n" for i in range(1, 502))
    second = "".join(f"{i}.完成第{i}项改革。(市财政局牵头)\n" for i in range(1, 502))
    rows = parse("某市2024年重点工作分工方案\n一、重点任务\n" + first + "二、其他任务\n" + second)
    ids = [t["task_id"] for t in rows["tasks"]]
    assert len(ids) == 1002
    assert ids[:2] == ["n1:t001", "n1:t002"]
    assert ids[998:] == ["n1:t999", "n1:t1000", "n1:t1001", "n1:t1002"]
    assert [s["section_id"] for s in rows["sections"]] == ["n1:s001", "n1:s002"]
