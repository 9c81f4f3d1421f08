"""Cleaning: punctuation, boilerplate, repeated paragraphs, scripts."""

from pipelines.clean.notice import clean_notice
from pipelines.clean.punctuation import normalize_punctuation
from pipelines.clean.script import detect_script
from pipelines.parse.assignments import extract_assignments
from tests.conftest import SAMPLES


def test_full_and_half_width_brackets_parse_alike():
    full = normalize_punctuation("持续加强长江岸线综合整治。（牵头单位：市交通运输局；责任单位：市水利和湖泊局）")
    half = "持续加强长江岸线综合整治。(牵头单位:市交通运输局;责任单位:市水利和湖泊局)"
    assert full == half
    assert [(a.unit_raw, a.role) for a in extract_assignments(full)] == [
        ("市交通运输局", "lead"),
        ("市水利和湖泊局", "responsible"),
    ]


def test_web_boilerplate_is_removed_and_counted():
    text = "\n".join(
        [
            "您当前所在的位置:首页 > 州政府 > 政府公报",
            "关于印发方案的通知",
            "2024-01-31 15:25 作者: 来源: 【字体:",
            "一、总体要求",
            "扫一扫在手机打开当前页",
            "评论一下",
            "相关阅读",
        ]
    )
    cleaned = clean_notice(text)
    assert cleaned.lines == ["关于印发方案的通知", "一、总体要求"]
    assert sum(cleaned.removed.values()) == 5
    assert cleaned.removed["navigation"] == 1 and cleaned.removed["comments"] == 1


def test_a_repeated_section_is_kept_once_but_recurring_headings_stay():
    block = [
        "(六)抓实生态环境治理,加快发展方式新转变",
        "坚持绿水青山就是金山银山,持续推进生态文明建设,促进全面绿色转型,推动经济社会发展。",
    ]
    lines = ["一、工作目标", "目标甲。", *block, "(七)加快发展社会事业", "一、工作目标", "目标乙。", *block]
    cleaned = clean_notice("\n".join(lines))
    assert cleaned.lines.count(block[0]) == 1
    assert cleaned.lines.count(block[1]) == 1
    assert cleaned.lines.count("一、工作目标") == 2  # a heading every attachment has
    assert cleaned.removed["repeated_paragraph"] == 2


def test_xiangtan_repeated_section_six_appears_once():
    cleaned = clean_notice(SAMPLES["004"].read_text(encoding="utf-8"))
    assert sum(line.startswith("(六)抓实生态环境治理") for line in cleaned.lines) == 1


def test_traditional_notice_gets_a_simplified_twin_and_keeps_the_original():
    cleaned = clean_notice(SAMPLES["001"].read_text(encoding="utf-8"))
    assert cleaned.script == "traditional"
    assert "關於貫徹落實" in cleaned.text
    assert "关于贯彻落实" in cleaned.text_simplified
    assert len(cleaned.lines) == len(cleaned.lines_simplified)


def test_script_share_counts_cjk_characters_not_the_whole_sample():
    # 2 of 34 ideographs change under t2s (5.9 %), but only 2 of 134 characters
    # (1.5 %): the share is of CJK characters, so this is traditional.
    text = "國際" + "推进建设发展改革" * 4 + "6" + "x" * 99
    assert detect_script(text) == "traditional"
    # 1 of 34 ideographs (2.9 %) is under the 3 % threshold.
    assert detect_script("國" + "推进建设发展改革" * 4 + "年" + "x" * 99) == "simplified"


def test_simplified_notice_is_detected_as_simplified():
    assert clean_notice(SAMPLES["000"].read_text(encoding="utf-8")).script == "simplified"


def test_boilerplate_in_traditional_script_is_removed_too():
    cleaned = clean_notice("關於貫徹落實的實施意見\n一、總體要求\n相關文章")
    assert cleaned.lines == ["關於貫徹落實的實施意見", "一、總體要求"]
    assert cleaned.removed == {"related_links": 1}
