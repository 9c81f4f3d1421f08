"""The unit registry: one id per body across notices and spellings."""

import csv
from pathlib import Path

from pipelines.parse.units import Region, resolve

HUNAN = Region("湖南省", None, "province")
JINGZHOU = Region("湖北省", "荆州市", "prefecture")
XIANGXI = Region("湖南省", "湘西土家族苗族自治州", "prefecture")


def test_region_is_made_explicit_and_aliases_share_one_id():
    a = resolve("省发展改革委", HUNAN)
    assert a.name == "湖南省发展和改革委员会"
    assert a.level == "province" and a.kind == "department"
    assert resolve("省发改委", HUNAN).unit_id == a.unit_id
    assert resolve("省發展改革委", HUNAN).unit_id == a.unit_id  # traditional spelling


def test_plain_prefix_expansion_without_an_alias():
    assert resolve("省财政厅", HUNAN).name == "湖南省财政厅"
    assert resolve("市财政局", JINGZHOU).name == "荆州市财政局"
    assert resolve("州民政局", XIANGXI).name == "湘西土家族苗族自治州民政局"
    assert resolve("州民政局", XIANGXI).level == "prefecture"


def test_the_same_short_name_in_two_regions_is_two_units():
    assert (
        resolve("市财政局", JINGZHOU).unit_id != resolve("市财政局", Region("湖南省", "长沙市", "prefecture")).unit_id
    )


def test_two_nameplates_are_one_unit():
    assert resolve("省市场监管局(省知识产权局)", HUNAN).unit_id == resolve("省市场监管局", HUNAN).unit_id


def test_levels_and_kinds():
    branch = resolve("人民银行长沙中心支行", HUNAN)
    assert (branch.name, branch.level, branch.kind) == ("中国人民银行长沙中心支行", "central", "vertical_branch")
    assert resolve("湘西高新区管委会", XIANGXI).kind == "management_committee"
    assert resolve("长沙市人民政府", HUNAN).kind == "government"
    assert resolve("监利县政府", JINGZHOU).level == "county"
    assert resolve("省委政法委", HUNAN).name == "中共湖南省委政法委"
    assert resolve("省委政法委", HUNAN).kind == "party_organ"
    assert resolve("市委政法委", JINGZHOU).name == "中共荆州市委政法委"
    assert resolve("团省委", HUNAN).kind == "people_organization"
    assert resolve("长江大学", JINGZHOU).kind == "university"
    assert resolve("国网湖南省电力公司", HUNAN).level == "central"


def test_generic_parties_stay_verbatim_and_generic():
    g = resolve("各市州人民政府", HUNAN)
    assert g.name == "各市州人民政府" and g.kind == "generic"
    assert resolve("有关部门", HUNAN).unit_id != resolve("有关部门", JINGZHOU).unit_id


def test_alias_table_is_well_formed():
    path = Path(__file__).resolve().parents[2] / "pipelines" / "reference" / "unit_aliases.csv"
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(
        r["alias"] and r["canonical"] and r["level"] in {"central", "province", "prefecture", "county"} for r in rows
    )
    keys = [(r["alias"], r["scope"]) for r in rows]
    assert len(keys) == len(set(keys)), "an alias is declared twice for the same scope"
