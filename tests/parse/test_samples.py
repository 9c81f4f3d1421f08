"""What must come out of the five sample notices (values written from reading them)."""

import datetime as dt

from tests.conftest import rows

CN = "一二三四五六七八九十"


def _sections(samples, prefix, level):
    return [s for s in rows(samples, prefix, "sections") if s["level"] == level]


def _task(samples, prefix, label, section_title=None):
    found = [t for t in rows(samples, prefix, "tasks") if t["label"] == label]
    if section_title is not None:
        sections = {s["section_id"]: s for s in rows(samples, prefix, "sections")}
        found = [t for t in found if section_title in sections[t["section_id"]]["title"]]
    assert len(found) == 1, f"{prefix} task {label}: {len(found)} matches"
    return found[0]


def _units(samples, prefix, task_id):
    return [(a["unit_raw"], a["role"]) for a in rows(samples, prefix, "assignments") if a["task_id"] == task_id]


# --- 000 Hunan 2023 -----------------------------------------------------------


def test_hunan_2023_has_12_parts_43_sections_82_tasks(samples):
    parts = _sections(samples, "000", 1)
    assert len(parts) == 12
    assert parts[0]["title"] == "落实2023年经济社会发展总体要求和主要预期目标"
    assert parts[-1]["title"] == "全面加强政府自身建设"
    assert len(_sections(samples, "000", 2)) == 43
    tasks = rows(samples, "000", "tasks")
    assert [t["label"] for t in tasks] == [str(n) for n in range(1, 83)]


def test_hunan_2023_task_70_without_its_dot_is_still_a_task(samples):
    task = _task(samples, "000", "70")
    assert task["text"].startswith("启动建设100所县域普通高中")


def test_hunan_2023_task_14_leads_each_and_responsible(samples):
    task = _task(samples, "000", "14")
    assert _units(samples, "000", task["task_id"]) == [
        ("省市场监管局", "lead_each"),
        ("省工业和信息化厅", "lead_each"),
        ("省地方金融监管局", "lead_each"),
        ("省农业农村厅", "responsible"),
        ("省商务厅", "responsible"),
        ("省住房城乡建设厅", "responsible"),
        ("省文化和旅游厅", "responsible"),
        ("省国资委", "responsible"),
        ("省税务局", "responsible"),
        ("湖南证监局", "responsible"),
    ]


def test_hunan_2023_task_4_has_two_clauses_each_with_its_bracket(samples):
    task = _task(samples, "000", "4")
    found = [
        (a["clause_no"], a["unit_raw"], a["role"])
        for a in rows(samples, "000", "assignments")
        if a["task_id"] == task["task_id"]
    ]
    assert found[:3] == [(1, "省商务厅", "lead"), (1, "省发展改革委", "lead"), (1, "有关部门", "generic")]
    assert (2, "省发展改革委", "lead") in found
    assert (2, "长沙市人民政府", "responsible") in found
    assert {c for c, _, _ in found} == {1, 2}


def test_hunan_2023_generic_and_responsible_only_brackets(samples):
    assert _units(samples, "000", _task(samples, "000", "1")["task_id"]) == [("各部门", "generic")]
    assert ("长沙海关", "responsible") in _units(samples, "000", _task(samples, "000", "2")["task_id"])


def test_hunan_2023_metadata(samples):
    notice = rows(samples, "000", "notices")[0]
    assert notice["doc_number"] == "湘政发〔2023〕1号"  # printed as 湘政发〔20231
    assert notice["title"] == "湖南省人民政府关于印发《落实〈政府工作报告〉重点工作分工的意见》的通知"
    assert notice["issuer"] == "湖南省人民政府"
    assert notice["region"] == "湖南省" and notice["admin_level"] == "province"
    assert notice["published_date"] == dt.date(2023, 1, 17)  # printed as 2023117
    assert notice["declared_task_count"] == 82 == notice["n_tasks"]


# --- 001 Hunan 2021, traditional ---------------------------------------------


def test_traditional_opinions_sections_are_the_tasks(samples):
    assert len(_sections(samples, "001", 1)) == 7
    assert len(_sections(samples, "001", 2)) == 25
    tasks = rows(samples, "001", "tasks")
    assert len(tasks) == 25 and all(t["is_section"] for t in tasks)
    assert tasks[0]["label"] == "一" and tasks[-1]["label"] == "二十五"
    assert tasks[0]["text"].startswith("指導思想。")  # original script kept
    assert tasks[0]["text_simplified"].startswith("指导思想。")


def test_traditional_opinions_have_no_assignments_invented(samples):
    assert rows(samples, "001", "assignments") == []
    notice = rows(samples, "001", "notices")[0]
    assert notice["script"] == "traditional"
    assert notice["title"].startswith("中共湖南省委 湖南省人民政府關於貫徹落實")


# --- 002 Xiangxi 2024 with 8 attachments --------------------------------------


def test_xiangxi_has_a_main_body_and_eight_attachment_subtrees(samples):
    sections = rows(samples, "002", "sections")
    attachments = [s for s in sections if s["marker"] and s["marker"].startswith("附件")]
    assert [s["marker"] for s in attachments] == [f"附件{n}" for n in range(1, 9)]
    assert all(s["parent_section_id"] is None and s["title"].startswith("2024年全州") for s in attachments)
    main_parts = [s for s in sections if s["level"] == 1 and not (s["marker"] or "").startswith("附件")]
    assert [s["title"] for s in main_parts] == ["主要目标", "重点任务", "组织实施"]


def test_xiangxi_attachment_list_is_not_tasks(samples):
    texts = [t["text"] for t in rows(samples, "002", "tasks")]
    assert not any(t.startswith("2024年全州产业培塑行动实施方案") for t in texts)


def test_xiangxi_attachment_8_third_level_items_are_tasks_under_headings(samples):
    sections = {s["section_id"]: s for s in rows(samples, "002", "sections")}
    in_first_list = [
        t
        for t in rows(samples, "002", "tasks")
        if sections[t["section_id"]]["parent_section_id"]
        and "省定十大重点民生实事" in sections[sections[t["section_id"]]["parent_section_id"]]["title"]
    ]
    assert [t["label"] for t in in_first_list] == [str(n) for n in range(1, 25)]
    assert sections[in_first_list[0]["section_id"]]["title"] == "推进教育高质量发展"


def test_xiangxi_lead_each_and_generic_parties(samples):
    task = _task(samples, "002", "3", section_title="提高优生优育水平")
    assert _units(samples, "002", task["task_id"]) == [
        ("州卫健委", "lead"),
        ("各县市人民政府", "generic"),
    ]
    each = [a for a in rows(samples, "002", "assignments") if a["role"] == "lead_each"]
    assert ("州妇联", "lead_each") in [(a["unit_raw"], a["role"]) for a in each]


def test_xiangxi_metadata(samples):
    notice = rows(samples, "002", "notices")[0]
    assert notice["doc_number"] == "州政办发〔2024〕1号"
    assert notice["issuer"] == "湘西自治州人民政府办公室"
    assert notice["admin_level"] == "prefecture"
    assert notice["published_date"] == dt.date(2024, 1, 31)


# --- 003 Jingzhou 2020 --------------------------------------------------------


def test_jingzhou_has_6_parts_and_114_tasks_cover_letter_excluded(samples):
    parts = [s for s in _sections(samples, "003", 1) if s["marker"]]
    assert len(parts) == 6
    assert parts[0]["title"] == "坚决打好三大攻坚战,决胜全面建成小康社会"
    assert not any("提高政治站位" in s["title"] for s in rows(samples, "003", "sections"))
    assert [t["label"] for t in rows(samples, "003", "tasks")] == [str(n) for n in range(1, 115)]


def test_jingzhou_task_60_responsible_only(samples):
    assert _units(samples, "003", _task(samples, "003", "60")["task_id"]) == [("市公交公司", "responsible")]


def test_jingzhou_shared_suffixes_expand(samples):
    assert _units(samples, "003", _task(samples, "003", "14")["task_id"]) == [
        ("洪湖国家级自然保护区管理局", "lead"),
        ("监利县政府", "responsible"),
        ("洪湖市政府", "responsible"),
    ]
    task4 = _units(samples, "003", _task(samples, "003", "4")["task_id"])
    assert task4 == [
        ("市农业农村局", "lead"),
        ("各县市区政府", "generic"),
        ("荆州开发区管委会", "responsible"),
        ("纪南文旅区管委会", "responsible"),
        ("荆州高新区管委会", "responsible"),
    ]


def test_jingzhou_metadata(samples):
    notice = rows(samples, "003", "notices")[0]
    assert notice["doc_number"] == "荆政办发〔2020〕1号"
    assert notice["title"] == "荆州市人民政府办公室关于分解落实《政府工作报告》的通知"
    assert notice["region"] == "荆州市"
    assert notice["published_date"] == dt.date(2020, 1, 7)


# --- 004 Xiangtan newspaper ---------------------------------------------------


def test_xiangtan_glossary_has_24_terms(samples):
    glossary = rows(samples, "004", "glossary")
    assert len(glossary) == 24
    assert glossary[0]["term"] == "“四上”单位"
    assert glossary[-1]["term"] == "“三即”承诺制"
    assert glossary[-1]["definition"] == "领照即开工、交房即交证、交地即开工。"


def test_xiangtan_section_six_once_and_no_advert_in_tasks(samples):
    sections = rows(samples, "004", "sections")
    assert sum(1 for s in sections if s["marker"] == "(六)") == 1
    text = "\n".join(t["text"] for t in rows(samples, "004", "tasks"))
    for noise in ("追梦路上", "富强民主文明和谐", "陕西户县刘恺会作", "各位代表"):
        assert noise not in text
    assert not any(t["text"].startswith(("“四上”单位", "“三即”承诺制")) for t in rows(samples, "004", "tasks"))


def test_xiangtan_sentences_cut_across_pages_are_joined_once_unambiguous(samples):
    sections = {s["section_id"]: s for s in rows(samples, "004", "sections")}
    tasks = rows(samples, "004", "tasks")

    def in_section(marker):
        return [t for t in tasks if sections[t["section_id"]]["marker"] == marker]

    # (九)2 ends "…专项整治三" on one page; "年行动,…" starts another page.
    nine = in_section("(九)")
    assert [t["label"] for t in nine] == ["1", "2", "3"]
    assert "安全生产专项整治三年行动,坚决杜绝重特大事故" in nine[1]["text"]
    assert nine[2]["text"].startswith("提升社会治理水平")
    # (六)1 ends "…完成湘"; "江保护和治理…" and items 2, 3 follow elsewhere.
    six = in_section("(六)")
    assert [t["label"] for t in six] == ["1", "2", "3"]
    assert "完成湘江保护和治理第三个“三年行动计划”任务" in six[0]["text"]
    # (七)3 "…救治救助贫困严重精神" + "障碍患者600名。": the last one left.
    assert "救治救助贫困严重精神障碍患者600名" in in_section("(七)")[2]["text"]
    joined = [t for t in tasks if t["flags"] and "joined_across_pages" in t["flags"]]
    assert len(joined) == 3
    assert not [t for t in tasks if t["flags"] and "cut_off" in t["flags"]]


def test_jingzhou_headline_targets_before_the_first_part_are_kept(samples):
    intro = [s for s in rows(samples, "003", "sections") if s["marker"] is None]
    assert [s["title"] for s in intro] == ["2020年经济社会发展的主要预期目标"]
    found = {
        (t["metric"], t["value"], t["unit"], t["qualifier"])
        for t in rows(samples, "003", "targets")
        if t["section_id"] == intro[0]["section_id"]
    }
    assert ("地区生产总值增长", 7.5, "%", "左右") in found
    assert ("城镇登记失业率控制在", 4.5, "%", "以内") in found
    assert all(
        t["task_id"] is None for t in rows(samples, "003", "targets") if t["section_id"] == intro[0]["section_id"]
    )
