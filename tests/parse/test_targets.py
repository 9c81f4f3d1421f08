"""Tests for pipelines.parse.targets.

Expected values are written by hand from reading the text, not copied from
the parser's output. Excerpts marked "sample" are verbatim from raw/*.txt.
"""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path

import pytest

from pipelines.parse.targets import Target, chinese_to_number, extract_targets

RAW = Path(__file__).resolve().parents[2] / "raw"
SAMPLE_FILES = sorted(RAW.glob("*.txt"))

Fact = tuple[str, float, float | None, str, str | None, int | None]


def facts(text: str) -> list[Fact]:
    """(metric, value, value_max, unit, qualifier, year) of every target."""
    return [(t.metric, t.value, t.value_max, t.unit, t.qualifier, t.year) for t in extract_targets(text)]


def spans(text: str) -> list[str]:
    return [t.span for t in extract_targets(text)]


# --- the forms named in the rules ------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "span"),
    [
        ("地区生产总值增长6.5%左右", ("地区生产总值增长", 6.5, None, "%", "左右", None), "地区生产总值增长6.5%左右"),
        (
            "力争社会消费品零售总额突破2万亿元",
            ("社会消费品零售总额", 2.0, None, "万亿元", "突破", None),
            "社会消费品零售总额突破2万亿元",
        ),
        ("新增企业20万家以上", ("新增企业", 20.0, None, "万家", "以上", None), "新增企业20万家以上"),
        ("改造城镇老旧小区4331个", ("改造城镇老旧小区", 4331.0, None, "个", None, None), "改造城镇老旧小区4331个"),
        ("全省市场主体突破700万户", ("全省市场主体", 700.0, None, "万户", "突破", None), "全省市场主体突破700万户"),
        ("粮食产量600亿斤以上", ("粮食产量", 600.0, None, "亿斤", "以上", None), "粮食产量600亿斤以上"),
        (
            "城镇化率提高1个百分点左右",
            ("城镇化率提高", 1.0, None, "个百分点", "左右", None),
            "城镇化率提高1个百分点左右",
        ),
        (
            "城市低保标准不低于700元/月",
            ("城市低保标准", 700.0, None, "元/月", "不低于", None),
            "城市低保标准不低于700元/月",
        ),
    ],
)
def test_rule_forms(text: str, expected: Fact, span: str) -> None:
    assert facts(text) == [expected]
    assert spans(text) == [span]


def test_year_phrase_full_width_comma() -> None:
    text = "到2025年，制造业增加值占地区生产总值比重达到30%"
    assert facts(text) == [("制造业增加值占地区生产总值比重", 30.0, None, "%", "达到", 2025)]
    assert spans(text) == ["制造业增加值占地区生产总值比重达到30%"]


# --- punctuation widths ------------------------------------------------------


def test_half_and_full_width_punctuation_agree() -> None:
    full = "地区生产总值增长6.5%左右，城镇新增就业70万人；粮食产量600亿斤以上。"
    half = "地区生产总值增长6.5%左右,城镇新增就业70万人;粮食产量600亿斤以上."
    expected = [
        ("地区生产总值增长", 6.5, None, "%", "左右", None),
        ("城镇新增就业", 70.0, None, "万人", None, None),
        ("粮食产量", 600.0, None, "亿斤", "以上", None),
    ]
    assert facts(full) == expected
    assert facts(half) == expected


def test_colon_and_enumeration_comma_split_clauses() -> None:
    assert facts("主要目标：城镇调查失业率5.5%左右") == [("城镇调查失业率", 5.5, None, "%", "左右", None)]
    assert facts("主要目标:城镇调查失业率5.5%左右") == [("城镇调查失业率", 5.5, None, "%", "左右", None)]
    assert facts("新增省级创新平台5家、新增高新技术企业20家以上") == [
        ("新增省级创新平台", 5.0, None, "家", None, None),
        ("新增高新技术企业", 20.0, None, "家", "以上", None),
    ]


def test_full_width_digits_and_percent_sign() -> None:
    assert facts("居民收入增长６.５％左右") == [("居民收入增长", 6.5, None, "%", "左右", None)]
    assert facts("到２０２５年，新增就业１２万人") == [("新增就业", 12.0, None, "万人", None, 2025)]


# --- Chinese numerals --------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "value"),
    [
        ("六点五", 6.5),
        ("两万", 20000.0),
        ("十二", 12.0),
        ("十", 10.0),
        ("一百零五", 105.0),
        ("三千", 3000.0),
        ("一千二百三十四万五千", 12_345_000.0),
        ("两万亿", 2e12),
        ("一亿二千万", 120_000_000.0),
        ("零点五", 0.5),
        ("2万", 20000.0),
        ("4千亿", 4e11),
        ("6.5", 6.5),
    ],
)
def test_chinese_to_number(s: str, value: float) -> None:
    assert chinese_to_number(s) == pytest.approx(value)


@pytest.mark.parametrize("s", ["", "百分之六点五", "abc", "点", "六点", "十大", "一" * 2000 + "亿" * 2000])
def test_chinese_to_number_rejects_without_raising(s: str) -> None:
    assert chinese_to_number(s) is None


def test_chinese_numeral_targets() -> None:
    assert facts("全年地区生产总值增长百分之六点五左右") == [("地区生产总值增长", 6.5, None, "%", "左右", None)]
    assert spans("全年地区生产总值增长百分之六点五左右") == ["地区生产总值增长百分之六点五左右"]
    assert facts("力争社会消费品零售总额突破两万亿元") == [("社会消费品零售总额", 2.0, None, "万亿元", "突破", None)]
    assert facts("森林覆盖率提高一个百分点") == [("森林覆盖率提高", 1.0, None, "个百分点", None, None)]
    assert facts("新建标准化学校一百二十所") == [("新建标准化学校", 120.0, None, "所", None, None)]


def test_sample_chinese_numeral_with_bare_verb() -> None:
    # sample 004: the 双百攻坚 entry of the glossary.
    text = "集中一百天左右时间,化解一百件左右突出信访积案。"
    assert facts(text) == [("化解突出信访积案", 100.0, None, "件", "左右", None)]
    assert spans(text) == ["化解一百件左右"]


# --- ranges ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "value_max", "unit"),
    [
        ("地区生产总值增长7.5%—8%", 7.5, 8.0, "%"),
        ("地区生产总值增长7.5%-8%", 7.5, 8.0, "%"),
        ("地区生产总值增长7.5～8%", 7.5, 8.0, "%"),
        ("地区生产总值增长7.5~8%", 7.5, 8.0, "%"),
        ("新建产业园5至8个", 5.0, 8.0, "个"),
        ("新增就业5至6万人", 5.0, 6.0, "万人"),
    ],
)
def test_ranges(text: str, value: float, value_max: float, unit: str) -> None:
    [t] = extract_targets(text)
    assert (t.value, t.value_max, t.unit) == (value, value_max, unit)
    assert t.span == text


def test_year_range_is_no_target() -> None:
    assert extract_targets("实施2023-2025年三年行动计划") == []


# --- qualifiers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metric", "qualifier"),
    [
        ("固定资产投资增长7%以上", "固定资产投资增长", "以上"),
        ("居民消费价格指数上涨3%左右", "居民消费价格指数上涨", "左右"),
        ("城镇登记失业率控制在4.5%以内", "城镇登记失业率控制在", "以内"),
        ("单位能耗降低到3%以下", "单位能耗降低到", "以下"),
        ("存量用地占比不低于60%", "存量用地占比", "不低于"),
        ("人社政务服务事项不少于20项", "人社政务服务事项", "不少于"),
        ("政府负债率不超过60%", "政府负债率", "不超过"),
        ("高新技术企业突破220户", "高新技术企业", "突破"),
        ("服务业对经济增长贡献率超过50%", "服务业对经济增长贡献率", "超过"),
        ("简易审批事项即来即办达到100%", "简易审批事项即来即办", "达到"),
        ("全州城镇化率达53.6%", "全州城镇化率", "达到"),
        ("省级科技人才2名及以上", "省级科技人才", "以上"),
    ],
)
def test_each_qualifier(text: str, metric: str, qualifier: str) -> None:
    [t] = extract_targets(text)
    assert (t.metric, t.qualifier) == (metric, qualifier)
    assert t.span == text


def test_words_after_the_number_win() -> None:
    # sample 000 task 32 and sample 002 科技 targets
    assert facts("民间投资占比超过64%左右") == [("民间投资占比", 64.0, None, "%", "左右", None)]
    assert facts("力争科技成果登记达50项以上") == [("科技成果登记", 50.0, None, "项", "以上", None)]


@pytest.mark.parametrize("verb", ["增长", "提高", "上涨", "下降", "降低", "减少"])
def test_growth_verbs_stay_in_metric(verb: str) -> None:
    assert facts(f"能耗{verb}3%") == [(f"能耗{verb}", 3.0, None, "%", None, None)]


# --- metric rules ------------------------------------------------------------


@pytest.mark.parametrize("filler", ["力争", "确保", "实现", "全年", "争取", "努力", "力争实现", "确保全年"])
def test_leading_filler_is_dropped(filler: str) -> None:
    text = f"{filler}城镇新增就业5万人"
    [t] = extract_targets(text)
    assert t.metric == "城镇新增就业"
    assert t.span == "城镇新增就业5万人"


@pytest.mark.parametrize(
    ("text", "metric", "unit", "span"),
    [
        ("整合600所乡村小规模学校", "整合乡村小规模学校", "所", "整合600所"),
        ("建设400所乡镇标准化寄宿制学校", "建设乡镇标准化寄宿制学校", "所", "建设400所"),
        ("新增2个国家级优势特色产业集群", "新增国家级优势特色产业集群", "个", "新增2个"),
        ("完成73个重点项目建成投运", "完成重点项目建成投运", "个", "完成73个"),
        ("力争实现5万千瓦装机", "装机", "万千瓦", "5万千瓦"),
    ],
)
def test_bare_verb_metric_takes_following_noun(text: str, metric: str, unit: str, span: str) -> None:
    [t] = extract_targets(text)
    assert (t.metric, t.unit, t.span) == (metric, unit, span)


def test_longer_metric_does_not_take_following_noun() -> None:
    [t] = extract_targets("新建或改造高标准农田13.17万亩。")
    assert t.metric == "新建或改造高标准农田"


def test_list_marker_is_not_metric() -> None:
    # sample 003 task 3
    assert facts("3.关改搬转沿江化工企业23家。") == [("关改搬转沿江化工企业", 23.0, None, "家", None, None)]
    assert facts("(一)新增规模以上企业100家") == [("新增规模以上企业", 100.0, None, "家", None, None)]


def test_metric_stops_at_closing_note() -> None:
    # sample 000: several tasks run together on one line
    text = "抓好国家两业融合试点。(省发展改革委、省工业和信息化厅牵头)创建10家左右国家级工业设计中心"
    [t] = extract_targets(text)
    assert t.span == "创建10家左右"
    assert t.metric == "创建国家级工业设计中心"


# --- year scope --------------------------------------------------------------


def test_year_scope_runs_until_the_next_phrase() -> None:
    text = "到2025年，新增就业10万人，建成5G基站1000个。2027年底前新增企业200家。"
    assert [(t.metric, t.year) for t in extract_targets(text)] == [
        ("新增就业", 2025),
        ("建成5G基站", 2025),
        ("新增企业", 2027),
    ]


def test_year_before_phrase() -> None:
    assert facts("2026年前改造老旧小区300个") == [("改造老旧小区", 300.0, None, "个", None, 2026)]


def test_targets_before_the_year_phrase_have_no_year() -> None:
    text = "今年新增就业5万人；到2025年新增就业20万人。"
    assert [t.year for t in extract_targets(text)] == [None, 2025]


def test_plain_year_is_no_scope() -> None:
    assert [t.year for t in extract_targets("2024年完成76个农村水源地整治")] == [None]


# --- non-targets -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2025年",
        "6月底前完成",
        "2024年州12大重点促消费活动",
        "办好第三届中非经贸博览会",
        "办好第二届湖南旅游发展大会",
        "全面落实三高四新战略定位",
        "深入推进民营经济“六个一”行动",
        "持续擦亮六个一品牌",
        "抓好5G应用场景建设",
        "突破8英寸SiC外延装备",
        "实施“1+5+X”产业项目清单管理",
        "辐射带动“3+5”环长株潭城市群发展",
        "支持大型民企挺进三类500强",
        "“三类500强”:世界500强、中国500强和民营500强三类企业。",
        "新增百亿企业",
        "加快G320绕城线三期建设",
        "落实“7×24小时”网上巡控",
        "湘政发〔2023〕1号",
        "现就明确的43个方面82项重点工作提出如下分工意见",
        "推进自然灾害防治九项重点工程",
        "实施健康湘潭十五个重点专项行动",
        "加快布局十大农业优势特色千亿产业",
        "坚定不移落实两个毫不动摇",
        "落实“两个70%”奖励政策",
        "加快500千伏湘潭西变电站等电网项目建设",
        "打造百亿级产业集群和10亿级企业",
        "推进“3550+100”重点改革",
        "编制实施《荆州制造2025行动方案》",
        "地区生产总值增长",
        "人均可支配收入与经济增长基本同步",
        "评论 0人参与,0条评论",
    ],
)
def test_not_targets(text: str) -> None:
    assert extract_targets(text) == []


def test_descriptor_before_de_is_not_a_target() -> None:
    # sample 002: only the count of counties is the goal
    text = "力争地区生产总值100亿元以上的县市达到5个。"
    assert facts(text) == [("地区生产总值100亿元以上的县市", 5.0, None, "个", "达到", None)]


@pytest.mark.parametrize(
    "text",
    [
        # sample 000 task 34: three 10% goals written as one modifier
        "力争实现进出口总额、实际利用外资、实际到位内资三个10%的增长目标。",
        # sample 001 (simplified): population sizes of places
        "推进地级城市及30万人口以上县城等多点优化布局",
        "培育若干城区人口20万以上新生中小城市",
        # a money threshold on the following noun
        "支持农村集体经营性收入5万元以下薄弱村发展",
    ],
)
def test_thresholds_are_not_targets(text: str) -> None:
    assert extract_targets(text) == []


def test_threshold_stays_in_metric_of_the_counted_goal() -> None:
    assert facts("力争引进50亿元以上项目3个") == [("引进50亿元以上项目", 3.0, None, "个", None, None)]
    assert facts("实施10个单体投资超过100亿的产业项目") == [
        ("实施单体投资超过100亿的产业项目", 10.0, None, "个", None, None)
    ]


def test_amount_before_de_without_qualifier_is_a_target() -> None:
    # sample 003 task 58
    text = "坚持尽力而为、量力而行,实施180亿元的政府投资项目,健全完善城市基础设施"
    assert facts(text) == [("实施的政府投资项目", 180.0, None, "亿元", None, None)]
    assert spans(text) == ["实施180亿元"]


def test_count_with_qualifier_before_noun_is_a_target() -> None:
    # sample 002 附件3: the counted noun follows the qualifier
    text = "强化供需精准对接服务,组织10家(次)以上企业境外参展,开拓国际市场。"
    assert facts(text) == [("组织企业境外参展", 10.0, None, "家(次)", "以上", None)]
    assert spans(text) == ["组织10家(次)以上"]


def test_compound_units_as_written() -> None:
    # sample 002 附件8
    assert facts("残疾人“两项补贴”均不低于120元/月/人。") == [
        ("残疾人“两项补贴”均", 120.0, None, "元/月/人", "不低于", None)
    ]
    assert facts("农民人均培训补贴300元/人") == [("农民人均培训补贴", 300.0, None, "元/人", None, None)]


def test_name_number_inside_metric_is_kept_as_text() -> None:
    # sample 000 task 17
    text = "新增百亿企业10家、国家级专精特新小巨人企业200家"
    assert facts(text) == [
        ("新增百亿企业", 10.0, None, "家", None, None),
        ("国家级专精特新小巨人企业", 200.0, None, "家", None, None),
    ]


# --- verbatim sample excerpts -----------------------------------------------


def test_sample_000_main_targets() -> None:
    text = (
        "2.地区生产总值增长6.5%左右,规模工业增加值增长7.5%,固定资产投资增长7%以上,地方一般公共预算收入增长8%以上,"
        "进出口总额增长10%,居民消费价格指数上涨3%左右,城镇新增就业70万人,城镇调查失业率5.5%左右,"
        "居民收入增长与经济增长基本同步,粮食产量600亿斤以上,生态环境质量持续改善。"
    )
    assert facts(text) == [
        ("地区生产总值增长", 6.5, None, "%", "左右", None),
        ("规模工业增加值增长", 7.5, None, "%", None, None),
        ("固定资产投资增长", 7.0, None, "%", "以上", None),
        ("地方一般公共预算收入增长", 8.0, None, "%", "以上", None),
        ("进出口总额增长", 10.0, None, "%", None, None),
        ("居民消费价格指数上涨", 3.0, None, "%", "左右", None),
        ("城镇新增就业", 70.0, None, "万人", None, None),
        ("城镇调查失业率", 5.5, None, "%", "左右", None),
        ("粮食产量", 600.0, None, "亿斤", "以上", None),
    ]


def test_sample_000_new_energy_vehicles() -> None:
    text = "力争新能源汽车产量突破100万辆、占全国10%以上。"
    assert facts(text) == [
        ("新能源汽车产量", 100.0, None, "万辆", "突破", None),
        ("占全国", 10.0, None, "%", "以上", None),
    ]


def test_sample_000_magnitude_only_unit() -> None:
    text = "29.力争园区规模工业增加值占比超过73%,营收过4千亿园区实现零的突破。"
    assert facts(text) == [
        ("园区规模工业增加值占比", 73.0, None, "%", "超过", None),
        ("营收过", 4.0, None, "千亿", None, None),
    ]


def test_sample_001_simplified() -> None:
    # sample 001 is traditional; this is its 主要目标 paragraph in simplified form.
    text = (
        "(二)主要目标。到2025年,质量变革、效率变革、动力变革取得突破性进展,"
        "制造业增加值占地区生产总值比重达到30%,产业投资占固定资产投资比重达到61.5%。"
        "全社会研发经费投入年均增长12%以上,每万人口高价值发明专利拥有量达4件。"
        "全省常住人口城镇化率年均提高1个百分点以上,森林覆盖率稳定在59%以上。"
    )
    assert facts(text) == [
        ("制造业增加值占地区生产总值比重", 30.0, None, "%", "达到", 2025),
        ("产业投资占固定资产投资比重", 61.5, None, "%", "达到", 2025),
        ("全社会研发经费投入年均增长", 12.0, None, "%", "以上", 2025),
        ("每万人口高价值发明专利拥有量", 4.0, None, "件", "达到", 2025),
        ("全省常住人口城镇化率年均提高", 1.0, None, "个百分点", "以上", 2025),
        ("森林覆盖率稳定在", 59.0, None, "%", "以上", 2025),
    ]


def test_sample_002_units() -> None:
    text = (
        "推动企业上云2000家以上、上平台146家以上,打造智能制造企业5家以上、智能制造生产线(车间)15条以上、"
        "智能工位75个以上。"
    )
    assert facts(text) == [
        ("推动企业上云", 2000.0, None, "家", "以上", None),
        ("上平台", 146.0, None, "家", "以上", None),
        ("打造智能制造企业", 5.0, None, "家", "以上", None),
        ("智能制造生产线(车间)", 15.0, None, "条", "以上", None),
        ("智能工位", 75.0, None, "个", "以上", None),
    ]


def test_sample_002_per_month_and_per_year() -> None:
    text = "城市低保标准不低于700元/月,农村低保标准不低于5400元/年。"
    assert facts(text) == [
        ("城市低保标准", 700.0, None, "元/月", "不低于", None),
        ("农村低保标准", 5400.0, None, "元/年", "不低于", None),
    ]


def test_sample_002_quoted_slogan_in_metric() -> None:
    text = "新增“四上”企业160家以上,高新技术企业突破220户。"
    assert facts(text) == [
        ("新增“四上”企业", 160.0, None, "家", "以上", None),
        ("高新技术企业", 220.0, None, "户", "突破", None),
    ]


def test_sample_003_adjacent_quantities_share_noun() -> None:
    text = "1.认真落实各项扶贫政策,确保6280户13227人脱贫出列。"
    assert facts(text) == [
        ("脱贫出列", 6280.0, None, "户", None, None),
        ("脱贫出列", 13227.0, None, "人", None, None),
    ]


def test_sample_003_percentage_points() -> None:
    text = "17.不断织密绿网,植树造林30万亩,森林覆盖率再提高1.4个百分点。"
    assert facts(text) == [
        ("植树造林", 30.0, None, "万亩", None, None),
        ("森林覆盖率再提高", 1.4, None, "个百分点", None, None),
    ]


def test_sample_004_enumerated_quantity_shares_metric() -> None:
    text = "建设美好社区15个,提质改造老旧小区206个、2.6万户。"
    assert facts(text) == [
        ("建设美好社区", 15.0, None, "个", None, None),
        ("提质改造老旧小区", 206.0, None, "个", None, None),
        ("提质改造老旧小区", 2.6, None, "万户", None, None),
    ]
    assert spans(text)[-1] == "2.6万户"


def test_sample_004_small_units() -> None:
    text = "中小学教室灯光照明提质改造500间。建设乡村旅游厕所30座。消除市城区小街小巷路灯盲点1918盏。"
    assert facts(text) == [
        ("中小学教室灯光照明提质改造", 500.0, None, "间", None, None),
        ("建设乡村旅游厕所", 30.0, None, "座", None, None),
        ("消除市城区小街小巷路灯盲点", 1918.0, None, "盏", None, None),
    ]


# --- invariants on every sample line ----------------------------------------


def _sample_lines() -> list[str]:
    return [line for path in SAMPLE_FILES for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.skipif(not SAMPLE_FILES, reason="raw/ sample notices not present")
def test_span_offsets_on_every_sample_line() -> None:
    found = 0
    for line in _sample_lines():
        for t in extract_targets(line):
            assert isinstance(t, Target)
            assert line[t.start : t.end] == t.span
            assert t.span and t.unit
            assert t.value_max is None or t.value_max >= 0
            found += 1
    assert found > 200  # the five notices hold a few hundred targets


@pytest.mark.skipif(not SAMPLE_FILES, reason="raw/ sample notices not present")
def test_span_offsets_on_simplified_traditional_sample() -> None:
    opencc = pytest.importorskip("opencc")
    converter = opencc.OpenCC("t2s")
    for path in SAMPLE_FILES:
        for line in converter.convert(path.read_text(encoding="utf-8")).splitlines():
            for t in extract_targets(line):
                assert line[t.start : t.end] == t.span


def test_targets_are_ordered_and_disjoint() -> None:
    text = "地区生产总值增长6.5%左右,固定资产投资增长7%以上;新增企业20万家以上、上市企业12家。"
    ts = extract_targets(text)
    assert len(ts) == 4
    assert all(a.end <= b.start for a, b in pairwise(ts))


# --- robustness --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "%",
        "百分之",
        "以上",
        "—",
        "1",
        "一",
        "点",
        "9" * 500 + "个",
        "1.",
        "１．",
        "1,000,",
        "到年",
        "7.5%—",
        "5至个",
        "百分之点五",
        "百分之一" * 50,
        "(((((1个",
        "))))1个",
        "“" * 30 + "1个",
        "\x00\ud800个1",
        "十" * 300 + "个",
    ],
)
def test_never_raises_on_odd_input(text: str) -> None:
    for t in extract_targets(text):
        assert text[t.start : t.end] == t.span


def test_never_raises_on_random_input() -> None:
    rng = random.Random(20240131)
    alphabet = "0123456789０１２.．,，、。；;:：—-～至%％百分之一二两三十百千万亿点个家万人元/月以上左右达到突破第年到前底()（）“”《》+×G的大 \n"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        for t in extract_targets(text):
            assert text[t.start : t.end] == t.span


@pytest.mark.parametrize("unit", ["1", "1个", "一", "一个", "1%-", "到2025年", "1,0001", "“1个", "(1个", "十"])
def test_pathological_repetition_is_handled(unit: str) -> None:
    # Catastrophic backtracking would hang here; speed itself is measured in benchmarks/.
    text = unit * 20000
    for t in extract_targets(text):
        assert text[t.start : t.end] == t.span
