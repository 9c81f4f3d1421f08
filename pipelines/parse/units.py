"""Units: resolve a unit as written to one registry entry across notices.

``省发展改革委`` in a Hunan notice and ``省发改委`` in another are the same
body, 湖南省发展和改革委员会. Resolution order: the reviewed alias table
(``reference/unit_aliases.csv``), then the region prefix made explicit
(``省`` → the notice's province, ``市``/``州`` → its prefecture).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

from pipelines.clean.script import to_simplified
from pipelines.reference import load_csv

# Vertical (centrally managed) branches keep their own names and level.
VERTICAL = re.compile(
    r"海关|人民银行|人行|银保监|证监局|金融监督管理总局|外汇|税务局|通信管理局|气象局|调查总队|边检|邮政管理局|广铁集团|铁路|烟草|药品监管局|国网"
)
KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("generic", re.compile(r"^(各|有关|其他|其它|相关)|成员单位|各部门|有关部门|各地")),
    ("leading_group", re.compile(r"领导小组|指挥部|委员会办公室|工作小组|联席会议")),
    # A development zone named alone (湘江新区) stands for its management committee.
    ("management_committee", re.compile(r"管委会|管理委员会|新区$|开发区$|高新区$|文旅区$|园区$")),
    ("government", re.compile(r"人民政府$|政府$|政府办公室$|政府办公厅$")),
    (
        "party_organ",
        re.compile(
            r"^中共|^(省委|市委|州委|县委|区委)|党委|党工委|纪委|组织部|宣传部|统战部|政法委|编办|网信办|人才办"
        ),
    ),
    ("vertical_branch", VERTICAL),
    ("state_owned_enterprise", re.compile(r"集团|公司|银行|联社")),
    ("university", re.compile(r"大学|学院|职院|学校")),
    (
        "people_organization",
        re.compile(
            r"^共青团|总工会|工会|妇联|妇女联合会|团委|团省委|残联|残疾人联合会|红十字会|工商联|工商业联合会|科协|科学技术协会"
            r"|社科联|社会科学界联合会|文联|文学艺术界联合会|作协|贸促会|贸易促进委员会|侨联"
        ),
    ),
    ("public_institution", re.compile(r"中心$|馆$|院$|台$|研究所|事务中心|保护区管理局")),
    ("department", re.compile(r"(厅|局|委|办|署|室|处|会|社|队|站|所)$")),
]
PARTY_COMMITTEE = re.compile(r"^(省|市|州)委(?!员)")
COUNTY_PREFIX = re.compile(r"[县区]")
COUNTY_GOVERNMENT = re.compile(r"(政府|管委会)$")
NAMEPLATE = re.compile(r"^(?P<main>[^()]+)\((?P<second>[^()]+)\)$")


class Region(NamedTuple):
    """Where a notice was issued: its province and (if any) prefecture.

    A NamedTuple, not a dataclass: it keys the resolve() cache, and a tuple
    hashes in C.
    """

    province: str | None
    prefecture: str | None
    level: str


@dataclass(frozen=True)
class UnitRef:
    unit_id: str
    name: str
    region: str | None
    level: str
    kind: str


def unit_id(name: str) -> str:
    """Stable id from the canonical name: same body, same id, in every release."""
    return "u-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]


def notice_region(region: str | None, level: str) -> Region:
    """The province and prefecture that 省/市/州 prefixes refer to in a notice."""
    rows = {r["name"]: r for r in load_csv("regions.csv")}
    if region is None or region not in rows:
        return Region(None, None, level)
    row = rows[region]
    if row["level"] == "province":
        return Region(region, None, "province")
    return Region(row["province"], region, row["level"])


@cache
def _aliases() -> dict[tuple[str, str], dict[str, str]]:
    return {(row["alias"], row["scope"]): row for row in load_csv("unit_aliases.csv")}


@lru_cache(maxsize=65536)
def kind_of(name: str) -> str:
    """The first kind whose pattern the name holds (cached: up to 11 searches, and names recur)."""
    for kind, pattern in KINDS:
        if pattern.search(name):
            return kind
    return "other"


@cache
def _region_prefixes() -> tuple[str, ...]:
    """Every region's full and short name."""
    return tuple(name for row in load_csv("regions.csv") for name in (row["name"], row["short"]))


def canonical(unit_raw: str, where: Region) -> tuple[str, str | None, str]:
    """(canonical name, region, level) of a unit as written in a notice of ``where``."""
    simplified = to_simplified(unit_raw)
    plate = NAMEPLATE.match(simplified)
    if plate:  # 省市场监管局(省知识产权局): two nameplates, one body
        simplified = plate.group("main")
    for scope in (where.prefecture, where.province, "*"):
        row = _aliases().get((simplified, scope or ""))
        if row:
            return row["canonical"], row["region"] or None, row["level"]
    if kind_of(simplified) == "generic":
        # Generic parties stay verbatim, scoped to the notice's region.
        region = where.prefecture or where.province
        return simplified, region, where.level if where.level in ("province", "prefecture", "county") else "unknown"
    party = PARTY_COMMITTEE.match(simplified)
    if party:  # 省委网信办 → 中共湖南省委网信办: party organs carry 中共 and the region
        region = where.province if party.group(1) == "省" else where.prefecture
        if region:
            level = "province" if party.group(1) == "省" else "prefecture"
            return f"中共{region}委{simplified[2:]}", region, level
    if simplified.startswith("省") and where.province:
        return where.province + simplified[1:], where.province, "province"
    if simplified[:1] in ("市", "州") and where.prefecture:
        return where.prefecture + simplified[1:], where.prefecture, "prefecture"
    # One startswith over every region name first: most units name none.
    for row in load_csv("regions.csv") if simplified.startswith(_region_prefixes()) else ():
        if simplified.startswith((row["name"], row["short"])):
            level = "central" if VERTICAL.search(simplified) else row["level"]
            return simplified, row["name"], level
    if COUNTY_PREFIX.search(simplified[:4]) and COUNTY_GOVERNMENT.search(simplified):
        return simplified, where.prefecture, "county"
    return simplified, where.prefecture or where.province, "central" if VERTICAL.search(simplified) else where.level


@lru_cache(maxsize=65536)
def resolve(unit_raw: str, where: Region) -> UnitRef:
    """The registry entry for a unit as written (cached: units repeat across notices)."""
    name, region, level = canonical(unit_raw, where)
    if level not in ("central", "province", "prefecture", "county"):
        level = "unknown"
    kind = kind_of(name)
    # A generic party (有关部门) means different bodies in different regions.
    key = f"{region or ''}:{name}" if kind == "generic" else name
    return UnitRef(unit_id(key), name, region, level, kind)
