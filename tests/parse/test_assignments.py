"""Every assignment format the parser must read (examples composed in each form)."""

import pytest

from pipelines.clean.punctuation import normalize_punctuation
from pipelines.clean.script import to_simplified
from pipelines.parse.assignments import extract_assignments


def pairs(text: str, **kw) -> list[tuple[str, str]]:
    return [(a.unit_raw, a.role) for a in extract_assignments(normalize_punctuation(to_simplified(text)), **kw)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("推进网络文明建设。(省委网信办牵头)", [("省委网信办", "lead")]),
        (
            "加强生物多样性保护。(省生态环境厅牵头,省自然资源厅、省林业局等按职责分工负责)",
            [("省生态环境厅", "lead"), ("省自然资源厅", "responsible"), ("省林业局", "responsible")],
        ),
        (
            "办好旅游发展大会。(省文化和旅游厅、郴州市人民政府牵头)",
            [("省文化和旅游厅", "lead"), ("郴州市人民政府", "lead")],
        ),
        (
            "碳排放统计核算。(省生态环境厅、省统计局分别牵头,有关部门按职责分工负责)",
            [("省生态环境厅", "lead_each"), ("省统计局", "lead_each"), ("有关部门", "generic")],
        ),
        (
            "推进铁路沿线整治。(省交通运输厅、省应急厅按职责分工负责)",
            [("省交通运输厅", "responsible"), ("省应急厅", "responsible")],
        ),
        ("强化审计监督。(市审计局负责)", [("市审计局", "responsible")]),
    ],
)
def test_trailing_brackets(text, expected):
    assert pairs(text) == expected


def test_full_width_and_traditional_read_the_same():
    assert pairs("推進網絡文明建設。（省委網信辦牽頭，省教育廳等按職責分工負責）") == [
        ("省委网信办", "lead"),
        ("省教育厅", "responsible"),
    ]


def test_time_limit_inside_the_bracket_goes_to_deadline():
    found = extract_assignments("清理规范性文件。(省直各部门分别负责,6月底前完成)")
    assert [(a.unit_raw, a.role, a.deadline) for a in found] == [("省直各部门", "generic", "6月底前完成")]


def test_leader_posts_are_kept_as_leaders_not_units():
    assert pairs("推进招商。(分管副市长负责,市商务局牵头,市发改委、市财政局配合)") == [
        ("分管副市长", "leader"),
        ("市商务局", "lead"),
        ("市发改委", "support"),
        ("市财政局", "support"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "(牵头单位:市交通运输局;责任单位:市水利和湖泊局)",
            [("市交通运输局", "lead"), ("市水利和湖泊局", "responsible")],
        ),
        (
            "(牵头单位:市商务局,配合单位:市统计局、市税务局)",
            [("市商务局", "lead"), ("市统计局", "support"), ("市税务局", "support")],
        ),
        (
            "(责任单位:市发改委、荆州机场建设管理有限公司)",
            [("市发改委", "responsible"), ("荆州机场建设管理有限公司", "responsible")],
        ),
        ("(责任部门:区教育局)", [("区教育局", "responsible")]),
    ],
)
def test_labelled_brackets(text, expected):
    assert pairs("开展工作。" + text) == expected


def test_labelled_lines_after_the_task():
    text = "1.新建幼儿园3所。\n责任单位:区教育局。"
    assert pairs(text) == [("区教育局", "responsible")]
    text = "2.落实减税降费。\n部门分工:省财政厅牵头,各市、各部门配合。"
    assert pairs(text) == [("省财政厅", "lead"), ("各市", "generic"), ("各部门", "generic")]
    text = "3.推进项目建设。\n分管市领导:张三\n省牵头单位:省商务厅"
    assert pairs(text) == [("张三", "leader"), ("省商务厅", "lead")]


def test_first_listed_unit_leads_when_the_notice_says_so():
    text = "推进数字政府建设。(市政务服务中心、市大数据局、市财政局)"
    # Without the declaration a bare list is not an assignment at all.
    assert pairs(text) == []
    assert pairs(text, first_listed_leads=True) == [
        ("市政务服务中心", "lead"),
        ("市大数据局", "responsible"),
        ("市财政局", "responsible"),
    ]
    text = "推进数字政府建设。(市政务服务中心、市大数据局、市财政局负责)"
    assert pairs(text, first_listed_leads=True) == [
        ("市政务服务中心", "lead"),
        ("市大数据局", "responsible"),
        ("市财政局", "responsible"),
    ]
    assert pairs(text)[0] == ("市政务服务中心", "responsible")


@pytest.mark.parametrize(
    "text",
    [
        "地区生产总值(GDP)增长6%。",
        "持续推进长征国家文化公园(湖南段)建设。",
        "加强建筑施工(含自建房)安全监管。",
        "新增制造业单项冠军(产品)60个。",
    ],
)
def test_brackets_that_are_not_assignments_stay_in_the_text(text):
    assert pairs(text) == []


def test_a_bracket_cut_off_keeps_the_units_before_the_cut():
    found = extract_assignments("加快城市更新。(省住房城乡建设厅牵头,省财政厅、省自然")
    assert [(a.unit_raw, a.role) for a in found] == [("省住房城乡建设厅", "lead"), ("省财政厅", "responsible")]
    assert all(a.cut_off for a in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(各地、各部门按职责分工负责)", [("各地", "generic"), ("各部门", "generic")]),
        ("(有关部门按职责分工负责)", [("有关部门", "generic")]),
        ("(各有关部门及各区县政府负责)", [("各有关部门及各区县政府", "generic")]),
        ("(省长株潭一体化发展领导小组成员单位按职责分工负责)", [("省长株潭一体化发展领导小组成员单位", "generic")]),
        ("(市教育局等市政府有关部门负责)", [("市教育局", "responsible"), ("市政府有关部门", "generic")]),
    ],
)
def test_generic_parties_stay_verbatim(text, expected):
    assert pairs("做好工作。" + text) == expected


def test_shared_suffixes_expand_and_two_nameplates_stay_one():
    assert pairs("(责任单位:监利县、洪湖市政府)") == [("监利县政府", "responsible"), ("洪湖市政府", "responsible")]
    assert pairs("(责任单位:荆州开发区、纪南文旅区、荆州高新区管委会)") == [
        ("荆州开发区管委会", "responsible"),
        ("纪南文旅区管委会", "responsible"),
        ("荆州高新区管委会", "responsible"),
    ]
    assert pairs("(省市场监管局(省知识产权局)牵头)") == [("省市场监管局(省知识产权局)", "lead")]


def test_each_clause_has_its_own_number():
    found = extract_assignments("甲。(省财政厅牵头)乙。(省发展改革委、省财政厅牵头)")
    assert [(a.clause_no, a.unit_raw) for a in found] == [(1, "省财政厅"), (2, "省发展改革委"), (2, "省财政厅")]
