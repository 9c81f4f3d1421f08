"""Bad input never crashes the pipeline.

A corpus of awkward files is written by this module (nothing binary is
committed): the five samples re-encoded, a saved government web page, empty,
blank and binary files, a 50 MB file, text without structure, broken brackets,
mixed numbering, a duplicate, and file names with spaces, Chinese characters,
``..``, leading dashes or 200 characters. ``pipelines.cli.build`` runs ONCE
over the corpus plus copies of the five samples, and every file's outcome is
asserted on the published CSVs: decoded files in ``notices`` with their
encoding, rejected ones in ``rejects`` with stage and reason, and a line per
rejected file in the build output. Each expectation is what a user would
expect; it is written next to the file in ``CASES``.

Pure-function tests (read_notice / clean_stage / parse_stage) cover the same
inputs where a full build is not needed.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipelines.cli import build
from pipelines.combine import records
from pipelines.ingest.read import list_notice_files, read_notice
from pipelines.stages import ParsedOutcome, clean_stage, parse_stage

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "raw"
SAMPLE_FILES = sorted(RAW.glob("*.txt"))
ID_PATTERN = re.compile(r"^[\w\-]{1,64}$")
BIG_BYTES = 50 * 2**20


# --------------------------------------------------------------------------
# Excerpts of the samples
# --------------------------------------------------------------------------


def _lines(prefix: str) -> list[str]:
    path = next(p for p in SAMPLE_FILES if p.name.startswith(prefix))
    return path.read_text(encoding="utf-8").split("\n")


PART = re.compile(r"^[一二三四五六七八九十]+、")


def _parts(lines: list[str], first: int) -> list[tuple[int, int]]:
    """(start, end) line ranges of the top-level parts from line ``first`` on."""
    starts = [i for i, line in enumerate(lines) if i >= first and PART.match(line)]
    return list(zip(starts, [*starts[1:], len(lines)], strict=True))


L000, L003 = _lines("000"), _lines("003")
# 000: title, document number, addressees (not the preamble line that declares
# "82项重点工作": an excerpt would rightly be flagged); 003: the notice's head
# and the attachment's head.
HEAD_000 = L000[:24]
HEAD_003 = L003[:6] + L003[20:24]
PARTS_000 = _parts(L000, 26)
PARTS_003 = _parts(L003, 24)


def excerpt(n: int) -> str:
    """A distinct, well-formed notice: a sample's head plus one of its parts.

    0–11 are the 12 parts of 000, 12–17 the 6 parts of 003; every excerpt has
    numbered tasks with assignment brackets, and no two excerpts share a text
    (so none is a duplicate of another).
    """
    if n < len(PARTS_000):
        start, end = PARTS_000[n]
        return "\n".join(HEAD_000 + L000[start:end]).strip() + "\n"
    start, end = PARTS_003[n - len(PARTS_000)]
    return "\n".join(HEAD_003 + L003[start:end]).strip() + "\n"


# 001 (traditional) holds six variant characters Big5 cannot encode
# (爲着衆羣牀峯); these lines are free of them.
BIG5_LINES = [0, 2, 4, 6, 10, 28, 30, 36, 50, 56, 58, 64, 68, 70, 72, 74]


def big5_excerpt() -> str:
    lines = _lines("001")
    text = "\n\n".join(lines[i] for i in BIG5_LINES) + "\n"
    text.encode("big5")  # guard: the excerpt must be Big5-encodable
    return text


def html_page(n: int, charset: str = "utf-8") -> str:
    """A saved government page: nav, breadcrumb, share widget, script and footer around the article."""
    body = "\n".join(f"<p>{line}</p>" for line in excerpt(n).split("\n") if line.strip())
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="{charset}">
<title>荆州市人民政府门户网站</title>
<script>var shareText = "分享到微信朋友圈"; function openMenu() {{ return "导航菜单脚本"; }}</script>
<style>.nav {{ color: red; }}</style></head>
<body>
<div class="header"><a href="/">网站首页</a></div>
<nav><ul><li><a href="/">首页</a></li><li><a href="/xxgk">信息公开目录</a></li><li><a href="/hdjl">互动交流</a></li>
<li><a href="/bsfw">办事服务</a></li><li><a href="/map">网站地图</a></li></ul></nav>
<div class="breadcrumb">当前位置:首页 &gt; 信息公开目录 &gt; 政府文件</div>
<div class="article"><h1>荆州市人民政府办公室关于分解落实《政府工作报告》的通知</h1>
{body}
</div>
<div class="share">分享到:微信 微博 QQ空间 【打印本页】【关闭窗口】</div>
<footer><p>主办单位:荆州市人民政府办公室 版权所有 鄂ICP备00000000号</p><p>网站标识码 4210000000</p></footer>
<script>document.write("访问量统计代码");</script>
</body></html>
"""


NAV_WORDS = (
    "网站地图",
    "信息公开目录",
    "互动交流",
    "分享到",
    "版权所有",
    "网站标识码",
    "访问量统计",
    "导航菜单脚本",
    "当前位置",
)


PROSE = (
    "春节前夕,市领导走访慰问了部分困难群众和老党员,送去党和政府的关怀。"
    "走访中,市领导详细询问大家的生活情况,叮嘱相关部门要关心关爱困难群众,切实解决好他们的实际困难。\n"
    "据悉,今年全市共安排慰问资金若干,覆盖城乡困难家庭。慰问活动将持续到元宵节前后,"
    "各地将结合实际开展形式多样的送温暖活动,让困难群众过一个欢乐祥和的新春佳节。\n"
)

OUTLINE_NO_TASKS = """某县人民政府关于做好春季森林防火工作的通知
各乡镇人民政府,县直各单位:
一、提高思想认识
春季是森林火灾易发期,各乡镇、各单位要充分认识做好森林防火工作的重要性,切实增强责任感。
二、落实防控措施
要加强野外火源管理,严禁野外吸烟、烧荒、上坟烧纸,确保不发生重大森林火灾。
三、强化值班值守
各乡镇、各单位要严格落实二十四小时值班和领导带班制度,发现火情及时报告。
某县人民政府
2024年2月1日
"""

# Task 1 holds a nested bracket; task 2 a stray ')' and task 3 an unclosed '(' before its own bracket.
BRACKETS_NESTED = """某市人民政府办公室关于印发重点工作分工方案的通知
一、重点任务
1.推进能源保障项目建设,完善储备体系。(市发展改革委(市能源局)牵头,市财政局负责)
2.加强市场监管)和质量提升,开展专项整治。(市市场监管局牵头,市商务局负责)
3.推进教育(学前教育、义务教育均衡发展,新建一批学校。(市教育局牵头,市财政局负责)
4.完善养老服务体系,建设社区养老服务中心。(市民政局牵头,市卫生健康委负责)
"""

# The last bracket is cut off where the scrape ended.
BRACKETS_CUT = """某市人民政府办公室关于印发重点工作分工方案的通知
一、重点任务
1.推进交通基础设施建设,加快高速公路项目建设。(市交通运输局牵头,市发展改革委负责)
2.实施城市更新行动,改造老旧小区。(市住房城乡建设局牵头,市财政局
"""

# Task 2 names two people and a code where units belong.
UNKNOWN_UNIT = """某市人民政府办公室关于印发重点工作分工方案的通知
一、重点任务
1.推进智慧城市建设,完善数据平台。(市数据局牵头,市财政局负责)
2.办好群众身边实事,解决急难愁盼问题。(张三、李四同志牵头,XYZ123负责)
"""

MIXED_NUMBERING = """某市人民政府办公室关于印发重点工作分工方案的通知
一、稳定经济增长
1.扩大有效投资,推进重大项目建设。(市发展改革委牵头,市财政局负责)
2、促进消费升级,开展消费季活动。(市商务局牵头,市文化旅游局负责)
3．推动外贸稳规模优结构,支持企业开拓市场。(市外事办牵头,市贸促会负责)
(二)优化营商环境
4.深化“放管服”改革,推进政务服务一网通办。(市政务服务局牵头,市司法局负责)
二、保障和改善民生
(一)稳定和扩大就业,落实就业优先政策。(市人力资源社会保障局牵头,市教育局负责)
(二)提高社会保障水平,扩大养老保险覆盖面。(市医保局牵头,市民政局负责)
"""

MIXED_LEADS = {
    "扩大有效投资": "市发展改革委",
    "促进消费升级": "市商务局",
    "推动外贸稳规模": "市外事办",
    "深化“放管服”改革": "市政务服务局",
    "稳定和扩大就业": "市人力资源社会保障局",
    "提高社会保障水平": "市医保局",
}


def truncated_000() -> bytes:
    """Sample 000 cut off by a scrape half-way, inside an assignment bracket."""
    text = (RAW / SAMPLE_NAMES[0]).read_text(encoding="utf-8")
    cut = text.index("牵头", len(text) // 2)  # just after a bracket opened: "(省X厅|"
    return text[:cut].encode("utf-8")


def _write_big(path: Path, source: bytes) -> None:
    """Repeat ``source`` to 50 MB without holding 50 MB twice."""
    with path.open("wb") as fh:
        written = 0
        while written < BIG_BYTES:
            fh.write(source)
            written += len(source)


# --------------------------------------------------------------------------
# The corpus: file name, bytes, and what a user expects
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes | Callable[[Path], None]
    outcome: str  # "published" or "rejected"
    expect: str  # what a user expects, in words
    encoding: str | None = None  # canonical codec name recorded in notices.encoding
    stage: str | None = None  # for rejected files
    reason: tuple[str, ...] = ()  # words the reason must contain (case-insensitive)
    min_tasks: int = 1
    text: str | None = None  # the decoded text, where the test knows it
    warning: tuple[str, str] | None = None  # (word in a warning's kind, words of the task it points at)
    tags: frozenset[str] = field(default_factory=frozenset)


SAMPLE_NAMES = [p.name for p in SAMPLE_FILES]
LONG_ASCII_NAME = "n" * 196 + ".txt"  # 200 characters
LONG_CJK_NAME = "关于印发重点工作分工方案的通知" * 5 + "附件.txt"  # 77 characters, 231 UTF-8 bytes


def cases() -> list[Case]:
    utf16_bad = codecs.BOM_UTF16_LE + excerpt(0).encode("utf-16-le")[:400] + b"\x00\xd8\x41\x00" * 3
    sprinkled = bytearray(excerpt(1).encode("utf-8"))
    for pos in (300, 900, 1500):
        sprinkled[pos:pos] = b"\xff\xfe\xff"
    return [
        # --- encodings: decoded correctly and recorded -------------------------------
        Case("enc_utf8.txt", excerpt(2).encode("utf-8"), "published", "plain UTF-8", "utf-8", text=excerpt(2)),
        Case(
            "enc_utf8_bom.txt",
            codecs.BOM_UTF8 + excerpt(3).encode("utf-8"),
            "published",
            "UTF-8 with a BOM: decoded, the BOM is not part of the text",
            "utf-8-sig",
            text=excerpt(3),
        ),
        Case("enc_gb18030.txt", excerpt(4).encode("gb18030"), "published", "GB18030", "gb18030", text=excerpt(4)),
        Case(
            "enc_gbk.txt",
            excerpt(5).encode("gbk"),
            "published",
            "GBK is decoded with its superset GB18030",
            "gb18030",
            text=excerpt(5),
        ),
        Case(
            "enc_utf16.txt",
            excerpt(6).encode("utf-16"),  # Python writes the BOM
            "published",
            "UTF-16 with a BOM",
            "utf-16",
            text=excerpt(6),
        ),
        Case(
            "enc_big5_traditional.txt",
            big5_excerpt().encode("big5"),
            "published",
            "traditional text in Big5: decoded, script recorded as traditional",
            "big5",
            text=big5_excerpt(),
            tags=frozenset({"traditional"}),
        ),
        Case(
            "enc_undecodable.txt",
            bytes(sprinkled),
            "rejected",
            "bytes valid in no supported codec: rejected, the reason says undecodable",
            stage="decode",
            reason=("undecodable",),
        ),
        Case(
            "enc_utf16_broken.txt",
            utf16_bad,
            "rejected",
            "a UTF-16 BOM followed by invalid UTF-16 (lone surrogates): rejected as undecodable",
            stage="decode",
            reason=("undecodable",),
        ),
        # --- HTML --------------------------------------------------------------------------
        Case(
            "saved page.html",
            html_page(13).encode("utf-8"),
            "published",
            "a saved government page: main text extracted, navigation, scripts and footer dropped",
            "utf-8",
            tags=frozenset({"html"}),
        ),
        Case(
            "saved_page_gbk.htm",
            html_page(17, "gb2312").encode("gb18030"),
            "published",
            "a page saved as GB2312 (declared in <meta charset>)",
            "gb18030",
            tags=frozenset({"html"}),
        ),
        # --- nothing to read --------------------------------------------------------------
        Case("empty.txt", b"", "rejected", "an empty file", stage="decode", reason=("empty",)),
        Case(
            "blank.txt",
            " \n\t\r\n\u3000\u3000\n   \n".encode(),
            "rejected",
            "whitespace only (incl. full-width spaces)",
            stage="decode",
            reason=("whitespace",),
        ),
        Case(
            "scan.txt",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 8,
            "rejected",
            "a PDF renamed .txt",
            stage="decode",
            reason=("pdf",),
        ),
        Case(
            "photo.txt",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00" + bytes(300),
            "rejected",
            "a PNG image renamed .txt",
            stage="decode",
            reason=("png",),
        ),
        Case(
            "english.txt",
            b"Notice on the division of key tasks.\nThis file has no Chinese text at all.\n" * 20,
            "rejected",
            "text without Chinese: not a notice",
            stage="decode",
            reason=("cjk",),
        ),
        # --- big -----------------------------------------------------------------------------
        Case(
            "big_50mb.txt",
            lambda path: _write_big(path, (RAW / SAMPLE_NAMES[2]).read_bytes()),
            "published",
            "a 50 MB file (sample 002 repeated): accepted and parsed, the repeats removed as duplicates",
            "utf-8",
            min_tasks=50,
            tags=frozenset({"big"}),
        ),
        # --- structure -----------------------------------------------------------------------
        Case(
            "no_structure.txt",
            PROSE.encode("utf-8"),
            "rejected",
            "Chinese prose with no outline at all: rejected at parse, the reason says no outline",
            stage="parse",
            reason=("outline",),
        ),
        Case(
            "outline_no_tasks.txt",
            OUTLINE_NO_TASKS.encode("utf-8"),
            "published",
            "headings with prose but no numbered tasks: each section is its own task (README), nothing assigned",
            "utf-8",
            min_tasks=3,
        ),
        Case(
            "brackets_nested_unbalanced.txt",
            BRACKETS_NESTED.encode("utf-8"),
            "published",
            "nested, stray and unclosed brackets: published, units still read",
            "utf-8",
            min_tasks=4,
        ),
        Case(
            "brackets_cut.txt",
            BRACKETS_CUT.encode("utf-8"),
            "published",
            "a bracket cut off at the end: published with a warning, not dropped",
            "utf-8",
            min_tasks=2,
            warning=("bracket", "改造老旧小区"),
        ),
        Case(
            "truncated_000.txt",
            truncated_000(),
            "published",
            "sample 000 cut off half-way inside a bracket: published with warnings (cut bracket, fewer tasks"
            " than the 82 it declares), never dropped and never failing the build",
            "utf-8",
            min_tasks=30,
            warning=("bracket", truncated_000().decode("utf-8")[-8:]),
        ),
        Case(
            "unknown_unit_form.txt",
            UNKNOWN_UNIT.encode("utf-8"),
            "published",
            "a bracket naming people and a code instead of units: published with an unknown-unit warning",
            "utf-8",
            min_tasks=2,
            warning=("unit", "办好群众身边实事"),
        ),
        Case(
            "mixed_numbering.txt",
            MIXED_NUMBERING.encode("utf-8"),
            "published",
            "1. / 2、 / 3． / (二) numbering mixed: every task found with its lead unit",
            "utf-8",
            min_tasks=6,
        ),
        Case(
            "zz_copy_of_003.txt",
            (RAW / SAMPLE_NAMES[3]).read_bytes(),
            "rejected",
            "the same bytes as sample 003 under another name: rejected as a duplicate naming the original",
            reason=("duplicate", SAMPLE_NAMES[3].removesuffix(".txt")),
        ),
        # --- file names ------------------------------------------------------------------------
        Case("notice with spaces.txt", excerpt(7).encode(), "published", "spaces in the name", "utf-8"),
        Case("notice_with_spaces.txt", excerpt(8).encode(), "published", "sanitises like the name above", "utf-8"),
        Case("湖南省 重点工作(2023).txt", excerpt(9).encode(), "published", "Chinese, space, brackets", "utf-8"),
        Case("notice..2023.txt", excerpt(10).encode(), "published", "'..' inside the name", "utf-8"),
        Case("up..%2F..%2Fescape.txt", excerpt(11).encode(), "published", "'..' and an encoded '/'", "utf-8"),
        Case("--help.txt", excerpt(12).encode(), "published", "leading dashes (looks like an option)", "utf-8"),
        Case("-rf -- ..txt", excerpt(14).encode(), "published", "leading dash, spaces, dots", "utf-8"),
        Case(LONG_ASCII_NAME, excerpt(15).encode(), "published", "a 200-character name", "utf-8"),
        Case(LONG_CJK_NAME, excerpt(16).encode(), "published", "a long Chinese name (231 bytes)", "utf-8"),
    ]


CASES = {c.name: c for c in cases()}


# --------------------------------------------------------------------------
# One build over the corpus
# --------------------------------------------------------------------------


def _csv(release: Path, table: str) -> list[dict[str, str]]:
    with open(release / f"{table}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass
class Built:
    base: Path
    raw: Path
    release: Path
    output: str  # what `build` logged plus what went to stderr
    outside_before: set[str]
    outside_after: set[str]

    def table(self, name: str) -> list[dict[str, str]]:
        return _csv(self.release, name)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    base = tmp_path_factory.mktemp("bad_inputs")
    raw = base / "raw"
    raw.mkdir()
    for path in SAMPLE_FILES:
        shutil.copy(path, raw / path.name)
    for case in CASES.values():
        if callable(case.data):
            case.data(raw / case.name)
        else:
            (raw / case.name).write_bytes(case.data)
    outside_before = {p.name for p in base.parent.iterdir()}
    logged: list[str] = []
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            release = build(raw, base / "published", base / "state", log=logged.append)
    except SystemExit as exc:  # a BaseException: turn it into an error every test of the module reports
        raise RuntimeError(f"the build over the bad-input corpus failed: {exc}") from None
    outside_after = {p.name for p in base.parent.iterdir()}
    return Built(base, raw, release, "\n".join(logged) + "\n" + stderr.getvalue(), outside_before, outside_after)


def _by_file(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["file_name"]: r for r in rows}


def test_the_five_samples_are_published(built):
    notices = _by_file(built.table("notices"))
    for name in SAMPLE_NAMES:
        assert name in notices, f"sample {name} not published"
        assert notices[name]["encoding"] == "utf-8"
        assert int(notices[name]["n_tasks"]) > 0
    assert not set(SAMPLE_NAMES) & set(_by_file(built.table("rejects")))


@pytest.mark.parametrize("name", [c.name for c in CASES.values() if c.outcome == "published"])
def test_published_file(built, name):
    case = CASES[name]
    notices = _by_file(built.table("notices"))
    rejects = _by_file(built.table("rejects"))
    assert name not in rejects, f"{name}: expected published ({case.expect}), rejected: {rejects.get(name)}"
    assert name in notices, f"{name}: expected published ({case.expect}), missing from notices"
    row = notices[name]
    assert row["encoding"] == case.encoding, f"{name}: {case.expect}"
    assert int(row["n_tasks"]) >= case.min_tasks
    tasks = [t for t in built.table("tasks") if t["notice_id"] == row["notice_id"]]
    assert len(tasks) == int(row["n_tasks"])
    if "traditional" in case.tags:
        assert row["script"] == "traditional"


@pytest.mark.parametrize("name", [c.name for c in CASES.values() if c.outcome == "rejected"])
def test_rejected_file(built, name):
    case = CASES[name]
    rejects = _by_file(built.table("rejects"))
    assert name in rejects, f"{name}: expected rejected ({case.expect})"
    row = rejects[name]
    if case.stage:
        assert row["stage"] == case.stage, f"{name}: {row}"
    for word in case.reason:
        assert word.lower() in row["reason"].lower(), f"{name}: reason {row['reason']!r} lacks {word!r}"
    assert row["raw_sha256"] and re.fullmatch(r"[0-9a-f]{64}", row["raw_sha256"]), "content hash recorded"
    assert name not in _by_file(built.table("notices"))


def test_every_file_has_exactly_one_outcome(built):
    notices = _by_file(built.table("notices"))
    rejects = _by_file(built.table("rejects"))
    on_disk = {p.name for p in built.raw.iterdir()}
    assert set(notices) | set(rejects) == on_disk
    assert not set(notices) & set(rejects)
    ids = [r["notice_id"] for r in [*notices.values(), *rejects.values()]]
    assert len(ids) == len(set(ids)), "partition keys collide"
    assert all(ID_PATTERN.match(i) for i in ids), [i for i in ids if not ID_PATTERN.match(i)]


def test_rejects_table_has_file_hash_stage_reason(built):
    rows = built.table("rejects")
    assert rows
    for row in rows:
        assert {"file_name", "notice_id", "raw_sha256", "stage", "reason"} <= set(row)
        assert row["stage"] in ("decode", "clean", "parse", "combine") and row["reason"].strip()


def test_build_output_has_a_clear_line_per_rejected_file(built):
    lines = built.output.splitlines()
    for row in built.table("rejects"):
        hits = [line for line in lines if row["file_name"] in line and row["reason"] in line]
        assert hits, f"no line in the build output names {row['file_name']!r} with its reason {row['reason']!r}"


def test_odd_file_names_stay_inside_the_build_folders(built):
    assert built.outside_after == built.outside_before, "the build wrote next to its folders"
    # Nothing under the storage was written outside its own folder either: every path is below base.
    for path in built.base.rglob("*"):
        assert path.resolve().is_relative_to(built.base.resolve())
    notices = _by_file(built.table("notices"))
    for name in (LONG_ASCII_NAME, LONG_CJK_NAME, "--help.txt", "up..%2F..%2Fescape.txt", "-rf -- ..txt"):
        assert notices[name]["file_name"] == name  # the name round-trips exactly
        assert len(notices[name]["notice_id"]) <= 64
    assert notices["notice with spaces.txt"]["notice_id"] != notices["notice_with_spaces.txt"]["notice_id"]


def test_html_page_keeps_the_article_and_drops_the_navigation(built):
    notices = _by_file(built.table("notices"))
    for name in ("saved page.html", "saved_page_gbk.htm"):
        nid = notices[name]["notice_id"]
        texts = [t["text"] for t in built.table("tasks") if t["notice_id"] == nid]
        texts += [s["title"] + (s.get("text") or "") for s in built.table("sections") if s["notice_id"] == nid]
        joined = "\n".join(texts)
        part = "坚定不移贯彻新发展理念" if name.endswith(".html") else "加强政府自身建设"
        assert part in joined, f"{name}: the article's text is missing"
        for word in NAV_WORDS:
            assert word not in joined, f"{name}: navigation text {word!r} reached the tables"
        assert "荆州市人民政府办公室关于分解落实" in notices[name]["title"]


def test_big_file_is_parsed_like_the_sample_it_repeats(built):
    notices = _by_file(built.table("notices"))
    big, sample = notices["big_50mb.txt"], notices[SAMPLE_NAMES[2]]
    assert big["n_tasks"] == sample["n_tasks"], "the repeats are removed as duplicated paragraphs"
    assert int(big["n_removed_lines"]) > 0


@pytest.mark.parametrize("name", [c.name for c in CASES.values() if c.warning])
def test_notice_with_warnings_is_published_with_its_warnings(built, name):
    notices = _by_file(built.table("notices"))
    row = notices[name]
    assert int(row["n_warnings"]) >= 1
    warnings = [w for w in built.table("warnings") if w["notice_id"] == row["notice_id"]]
    assert len(warnings) == int(row["n_warnings"])
    assert {"notice_id", "task_id", "kind", "message"} <= set(warnings[0])
    assert all(w["message"].strip() and w["kind"].strip() for w in warnings)
    kind, words = CASES[name].warning
    found = [w for w in warnings if kind in w["kind"]]
    assert found, f"{name}: no warning of kind *{kind}* in {warnings}"
    tasks = {t["task_id"]: t for t in built.table("tasks") if t["notice_id"] == row["notice_id"]}
    assert found[-1]["task_id"] in tasks, "the warning points at its task"
    assert words in tasks[found[-1]["task_id"]]["text"]


def test_truncated_notice_warns_that_it_has_fewer_tasks_than_it_declares(built):
    row = _by_file(built.table("notices"))["truncated_000.txt"]
    assert row["declared_task_count"] == "82" and int(row["n_tasks"]) < 82
    kinds = {w["kind"] for w in built.table("warnings") if w["notice_id"] == row["notice_id"]}
    assert any("declared" in k or "count" in k for k in kinds), kinds


def test_warnings_table_agrees_with_the_counts(built):
    per_notice: dict[str, int] = {}
    for w in built.table("warnings"):
        per_notice[w["notice_id"]] = per_notice.get(w["notice_id"], 0) + 1
    for row in built.table("notices"):
        assert int(row["n_warnings"]) == per_notice.get(row["notice_id"], 0), row["file_name"]


def test_cut_bracket_keeps_the_units_read_before_the_cut(built):
    notices = _by_file(built.table("notices"))
    nid = notices["brackets_cut.txt"]["notice_id"]
    pairs = {(a["unit_raw"], a["role"]) for a in built.table("assignments") if a["task_id"].startswith(nid + ":")}
    assert ("市交通运输局", "lead") in pairs
    assert ("市住房城乡建设局", "lead") in pairs


def test_mixed_numbering_finds_every_task_with_its_lead(built):
    notices = _by_file(built.table("notices"))
    nid = notices["mixed_numbering.txt"]["notice_id"]
    tasks = {t["task_id"]: t for t in built.table("tasks") if t["notice_id"] == nid}
    leads = {(a["task_id"], a["unit_raw"]) for a in built.table("assignments") if a["role"] == "lead"}
    for words, unit in MIXED_LEADS.items():
        holders = [t for t in tasks.values() if words in t["text"]]
        assert len(holders) == 1, f"{words}: in {len(holders)} tasks"
        assert (holders[0]["task_id"], unit) in leads, f"{unit} does not lead the task {words}…"
        others = [w for w in MIXED_LEADS if w != words and w in holders[0]["text"]]
        assert not others, f"task {words}… swallowed {others}"


# --------------------------------------------------------------------------
# Pure stages: no build needed
# --------------------------------------------------------------------------


def _through(path: Path) -> ParsedOutcome:
    return parse_stage(clean_stage(read_notice(path)))


def _write(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / case.name
    if callable(case.data):
        case.data(path)
    else:
        path.write_bytes(case.data)
    return path


@pytest.mark.parametrize("name", [c.name for c in CASES.values() if c.text is not None])
def test_read_notice_decodes_each_codec_to_the_same_text(tmp_path, name):
    case = CASES[name]
    raw = read_notice(_write(tmp_path, case))
    assert raw.rejection is None, raw.rejection
    assert raw.encoding == case.encoding
    assert raw.text == case.text  # exact: no BOM, no mojibake, newlines kept


@pytest.mark.parametrize("name", [c.name for c in CASES.values() if c.outcome == "rejected" and c.stage == "decode"])
def test_read_notice_rejects_unreadable_files_with_a_reason(tmp_path, name):
    case = CASES[name]
    raw = read_notice(_write(tmp_path, case))
    assert raw.text is None and raw.rejection is not None
    assert raw.rejection.stage == "decode"
    for word in case.reason:
        assert word.lower() in raw.rejection.reason.lower()
    assert raw.raw_sha256 is not None


def test_html_main_text_without_navigation(tmp_path):
    raw = read_notice(_write(tmp_path, CASES["saved page.html"]))
    assert raw.is_html and raw.encoding == "utf-8"
    assert "坚定不移贯彻新发展理念" in raw.text
    for word in NAV_WORDS:
        assert word not in raw.text, word
    assert "<p>" not in raw.text and "function" not in raw.text


def test_prose_without_outline_is_rejected_at_parse(tmp_path):
    outcome = _through(_write(tmp_path, CASES["no_structure.txt"]))
    assert outcome.parsed is None
    assert outcome.rejection.stage == "parse" and "outline" in outcome.rejection.reason


def test_outline_without_numbered_tasks_makes_each_section_a_task(tmp_path):
    outcome = _through(_write(tmp_path, CASES["outline_no_tasks.txt"]))
    assert outcome.parsed is not None, outcome.rejection
    tasks = records(outcome.parsed, "tasks")
    assert [t["label"] for t in tasks] == ["一", "二", "三"]
    assert all(t["is_section"] for t in tasks)
    assert not records(outcome.parsed, "assignments")


def test_nested_and_unbalanced_brackets_still_yield_units(tmp_path):
    outcome = _through(_write(tmp_path, CASES["brackets_nested_unbalanced.txt"]))
    assert outcome.parsed is not None, outcome.rejection
    tasks = records(outcome.parsed, "tasks")
    assert len(tasks) == 4
    by_task: dict[str, set[tuple[str, str]]] = {}
    for a in records(outcome.parsed, "assignments"):
        by_task.setdefault(a["task_id"], set()).add((a["unit_raw"], a["role"]))
    pairs = [by_task.get(t["task_id"], set()) for t in tasks]
    # 1: the note in the nested bracket belongs to the unit it follows.
    assert ("市财政局", "responsible") in pairs[0]
    assert any(u.startswith("市发展改革委") and r == "lead" for u, r in pairs[0]), pairs[0]
    # 2: a stray ')' before the bracket changes nothing.
    assert pairs[1] == {("市市场监管局", "lead"), ("市商务局", "responsible")}
    # 3: an unclosed '(' in the text must not hide the task's own bracket.
    assert pairs[2] == {("市教育局", "lead"), ("市财政局", "responsible")}
    assert pairs[3] == {("市民政局", "lead"), ("市卫生健康委", "responsible")}


def test_cut_bracket_is_a_warning_not_a_rejection(tmp_path):
    outcome = _through(_write(tmp_path, CASES["brackets_cut.txt"]))
    assert outcome.parsed is not None, outcome.rejection
    assert any("bracket" in w for w in map(str, outcome.parsed.warnings)), outcome.parsed.warnings
    last = records(outcome.parsed, "tasks")[-1]
    assert "bracket_cut_off" in (last["flags"] or "")


def test_unknown_unit_form_is_a_warning(tmp_path):
    outcome = _through(_write(tmp_path, CASES["unknown_unit_form.txt"]))
    assert outcome.parsed is not None, outcome.rejection
    rows = {table: records(outcome.parsed, table) for table in outcome.parsed.rows}
    assert ("市数据局", "lead") in {(a["unit_raw"], a["role"]) for a in rows["assignments"]}
    second = rows["tasks"][1]["task_id"]
    kinds = [w["kind"] for w in rows.get("warnings", []) if w["task_id"] == second]
    assert any("unit" in k for k in kinds), rows.get("warnings")


def test_odd_names_get_safe_unique_keys(tmp_path):
    for case in CASES.values():
        if not callable(case.data):
            _write(tmp_path, case)
    (tmp_path / ".hidden.txt").write_bytes(b"")
    files = list_notice_files(tmp_path)
    assert ".hidden.txt" not in {p.name for p in files.values()}
    expected = {c.name for c in CASES.values() if not callable(c.data)}
    assert {p.name for p in files.values()} == expected, "every corpus file is listed once, under its own key"
    for key, path in files.items():
        assert ID_PATTERN.match(key), key
        assert "/" not in key and ".." not in key and not key.startswith("-")
        assert path.parent == tmp_path


def test_a_cleaner_error_becomes_a_rejection_with_its_reason(tmp_path, monkeypatch):
    import pipelines.stages as stages

    path = tmp_path / "notice.txt"
    path.write_text("关于印发某方案的通知\n一、总体要求\n(一)做好工作。(省发展改革委牵头)\n", encoding="utf-8")

    def broken(_text):
        raise ValueError("unexpected line")

    monkeypatch.setattr(stages, "clean_notice", broken)
    outcome = parse_stage(clean_stage(read_notice(path)))
    assert outcome.parsed is None
    assert outcome.rejection.stage == "clean"
    assert outcome.rejection.reason == "cleaner error: ValueError: unexpected line"


def test_hidden_and_editor_lock_files_are_not_notices(tmp_path):
    for name in ("通知.txt", "~$通知.txt", ".通知.txt.swp", ".DS_Store", "通知.txt.part", "图片.png"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    assert [path.name for path in list_notice_files(tmp_path).values()] == ["通知.txt"]


def test_the_garbage_collector_is_left_as_it_was_after_a_notice_fails(tmp_path, monkeypatch):
    """Parsing pauses the cyclic collector; a failing parser must not leave it off for the process."""
    import gc

    import pipelines.stages as stages

    path = tmp_path / "notice.txt"
    path.write_text("关于印发某方案的通知\n一、总体要求\n(一)做好工作。(省发展改革委牵头)\n", encoding="utf-8")
    paused = []

    def broken(_source, _cleaned):
        paused.append(not gc.isenabled())
        raise RuntimeError("parser bug")

    monkeypatch.setattr(stages, "parse_notice", broken)
    assert gc.isenabled()
    outcome = parse_stage(clean_stage(read_notice(path)))
    assert outcome.rejection.reason == "parser error: RuntimeError: parser bug"
    assert paused == [True] and gc.isenabled()
    gc.disable()  # a caller that turned it off itself keeps it off
    try:
        parse_stage(clean_stage(read_notice(path)))
        assert not gc.isenabled()
    finally:
        gc.enable()
