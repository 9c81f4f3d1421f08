"""Tests for pipelines.ingest.decode.

Every input is built here from the sample notices (re-encoded per codec) or
from a few literal header bytes, so no binary fixture is committed.
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import pickle
import random
import time
import zipfile
from pathlib import Path

import pytest

from pipelines.ingest import decode as decode_mod
from pipelines.ingest.decode import (
    MIN_CJK_CHARS,
    DecodedNotice,
    RejectedInput,
    decode_notice,
    html_to_text,
)

RAW_DIR = Path(__file__).resolve().parents[2] / "raw"
SAMPLES = sorted(RAW_DIR.glob("*.txt"))
TRADITIONAL = RAW_DIR / "001_5294619d250853ef.txt"
SIMPLIFIED = RAW_DIR / "003_e3f154de4a952553.txt"

# 001 uses six variant forms that Big5 cannot encode; swap them for the
# standard traditional forms so the whole notice can be Big5-encoded.
BIG5_VARIANTS = str.maketrans("爲着衆羣牀峯", "為著眾群床峰")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def traditional_big5_text() -> str:
    text = read(TRADITIONAL).translate(BIG5_VARIANTS)
    text.encode("big5")  # guard: the fixture must be fully Big5-encodable
    return text


def paragraphs(path: Path) -> list[str]:
    return [line.strip() for line in read(path).splitlines() if line.strip()]


def reject_reason(data: bytes) -> str:
    with pytest.raises(RejectedInput) as info:
        decode_notice(data)
    assert info.value.stage == "decode"
    return info.value.reason


# --- plain text in each codec -------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_utf8_samples_roundtrip(path: Path) -> None:
    result = decode_notice(path.read_bytes())
    assert result == DecodedNotice(text=read(path), encoding="utf-8", is_html=False)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_utf8_with_bom(path: Path) -> None:
    result = decode_notice(codecs.BOM_UTF8 + path.read_bytes())
    assert result.encoding == "utf-8-sig"
    assert result.text == read(path)
    assert not result.text.startswith("\ufeff")


@pytest.mark.parametrize(("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
@pytest.mark.parametrize("path", [TRADITIONAL, SIMPLIFIED], ids=lambda p: p.name)
def test_utf16_with_bom(path: Path, bom: bytes, codec: str) -> None:
    text = read(path)
    result = decode_notice(bom + text.encode(codec))
    assert result.encoding == "utf-16"
    assert result.text == text


def test_utf32_with_bom() -> None:
    text = read(SIMPLIFIED)
    result = decode_notice(text.encode("utf-32"))
    assert (result.text, result.encoding) == (text, "utf-32")


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_gb18030_samples_including_traditional(path: Path) -> None:
    text = read(path)
    result = decode_notice(text.encode("gb18030"))
    assert result.encoding == "gb18030"
    assert result.text == text


def test_gbk_encoded_text_decodes_as_gb18030_superset() -> None:
    text = read(SIMPLIFIED)
    result = decode_notice(text.encode("gbk"))
    assert (result.text, result.encoding) == (text, "gb18030")


def test_traditional_text_as_big5() -> None:
    text = traditional_big5_text()
    data = text.encode("big5")
    # The trap: Big5 bytes are also valid GB18030, just as mojibake.
    assert data.decode("gb18030") != text
    result = decode_notice(data)
    assert (result.text, result.encoding) == (text, "big5")


def test_traditional_variants_only_in_hkscs_decode_as_big5hkscs() -> None:
    # Keeps 着/衆/羣/牀/峯, which only Big5-HKSCS encodes (爲 is in neither).
    text = read(TRADITIONAL).replace("爲", "為")
    with pytest.raises(UnicodeEncodeError):
        text.encode("big5")
    result = decode_notice(text.encode("big5hkscs"))
    assert (result.text, result.encoding) == (text, "big5hkscs")


@pytest.mark.parametrize("codec", ["big5", "gb18030"])
@pytest.mark.parametrize("size", [25, 40, 80, 300, 2000])
def test_short_snippets_pick_the_right_legacy_codec(codec: str, size: int) -> None:
    # Short inputs give the scorer little evidence; both directions must hold.
    source = traditional_big5_text() if codec == "big5" else read(SIMPLIFIED)
    text = source[:size]
    assert decode_mod.count_cjk(text) >= MIN_CJK_CHARS
    result = decode_notice(text.encode(codec))
    assert (result.text, result.encoding) == (text, codec)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_paragraph_of_every_sample_as_gb18030_and_big5(path: Path) -> None:
    # Paragraph by paragraph is the hard case: little text per decision.
    for para in paragraphs(path):
        if decode_mod.count_cjk(para) < MIN_CJK_CHARS:
            continue
        for codec in ("gb18030", "big5"):
            try:
                data = para.encode(codec)
            except UnicodeEncodeError:
                continue  # simplified characters have no Big5 form
            result = decode_notice(data)
            assert result.text == para, (codec, para[:30])


def test_newlines_are_normalised() -> None:
    text = read(SIMPLIFIED)
    crlf = text.replace("\n", "\r\n")
    assert decode_notice(crlf.encode("utf-8")).text == text
    assert decode_notice(crlf.encode("gb18030")).text == text
    assert decode_notice(text.replace("\n", "\r").encode("utf-8")).text == text
    assert "\r" not in decode_notice(codecs.BOM_UTF16_LE + crlf.encode("utf-16-le")).text


def test_utf8_cut_off_mid_character_keeps_everything_before() -> None:
    text = read(SIMPLIFIED)
    data = text.encode("utf-8") + "通".encode()[:2]
    result = decode_notice(data)
    assert (result.text, result.encoding) == (text, "utf-8")


def test_accepts_bytearray_and_result_is_frozen() -> None:
    result = decode_notice(bytearray(SIMPLIFIED.read_bytes()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = "x"  # type: ignore[misc]


# --- rejects ---------------------------------------------------------------------


def test_reject_empty_file() -> None:
    assert reject_reason(b"") == "empty file (0 bytes)"


@pytest.mark.parametrize(
    "data",
    [b" ", b"\n\n\r\n\t  ", "\u3000\u3000\n".encode(), codecs.BOM_UTF8 + b"  \n", codecs.BOM_UTF8],
)
def test_reject_whitespace_only(data: bytes) -> None:
    assert "whitespace-only" in reject_reason(data)


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG"),
        (b"GIF89a\x01\x00\x01\x00", "GIF"),
        (b"GIF87a\x01\x00\x01\x00", "GIF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16, "OLE2"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP"),
    ],
)
def test_reject_binary_signatures_name_the_format(header: bytes, fmt: str) -> None:
    # Followed by Chinese text, to show the signature alone decides.
    reason = reject_reason(header + read(SIMPLIFIED).encode("utf-8"))
    assert reason.startswith("binary file (")
    assert fmt in reason


def _zip_with(member: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr(member, "<w:document/>")
    return buf.getvalue()


@pytest.mark.parametrize(("member", "flavour"), [("word/document.xml", "DOCX"), ("xl/workbook.xml", "XLSX")])
def test_reject_office_zip_names_docx_or_xlsx(member: str, flavour: str) -> None:
    reason = reject_reason(_zip_with(member))
    assert "ZIP archive" in reason and flavour in reason


def test_reject_pdf_header_after_leading_junk() -> None:
    assert "PDF" in reject_reason(b"\r\n  %PDF-1.4\n" + b"x" * 100)


def test_reject_nul_bytes() -> None:
    data = read(SIMPLIFIED).encode("utf-8")
    reason = reject_reason(data[:99] + b"\x00\x00" + data[99:])
    assert "NUL" in reason and "offset 99" in reason and "2 NUL" in reason


@pytest.mark.parametrize(
    ("data", "codec"),
    [
        (codecs.BOM_UTF16_LE + "通知".encode("utf-16-le") + b"\x41", "utf-16"),  # odd length
        (codecs.BOM_UTF8 + "通知".encode() + b"\xff", "utf-8-sig"),
    ],
)
def test_reject_bom_followed_by_invalid_bytes(data: bytes, codec: str) -> None:
    reason = reject_reason(data)
    assert reason.startswith(f"undecodable bytes: {codec} byte-order mark present")


def test_reject_utf16_without_bom_as_binary() -> None:
    assert "NUL" in reject_reason("Notice 通知".encode("utf-16-le") * 10)


def test_reject_undecodable_bytes() -> None:
    # 0xFF is invalid in UTF-8, GB18030 and Big5 alike.
    reason = reject_reason(read(SIMPLIFIED).encode("gb18030") + b"\xff\xff")
    assert "no candidate codec decodes cleanly" in reason
    assert "not UTF-8" in reason


def test_reject_mojibake_that_gb18030_technically_decodes() -> None:
    rng = random.Random(1234)
    # Random two-byte GB18030 sequences: valid bytes, meaningless characters.
    data = bytes(b for _ in range(400) for b in (rng.randint(0x81, 0xFE), rng.randint(0x80, 0xFE)))
    data.decode("gb18030")  # guard: it does decode
    reason = reject_reason(data)
    assert "no candidate codec decodes cleanly" in reason
    assert "gb18030" in reason


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Notice of the State Council on something important.\n" * 50, 0),
        ("关于印发通知 (Notice)", 6),
        ("第" * (MIN_CJK_CHARS - 1), MIN_CJK_CHARS - 1),
    ],
)
def test_reject_too_few_cjk_characters_with_count(text: str, count: int) -> None:
    reason = reject_reason(text.encode("utf-8"))
    assert reason.startswith("too few CJK characters")
    assert f"({count} in text" in reason


def test_exactly_min_cjk_is_accepted() -> None:
    assert decode_notice(("第" * MIN_CJK_CHARS).encode()).text == "第" * MIN_CJK_CHARS


def test_rejected_input_is_a_picklable_exception() -> None:
    err = RejectedInput("decode", "binary file (PDF signature %PDF-)")
    assert isinstance(err, Exception)
    assert str(err) == "decode: binary file (PDF signature %PDF-)"
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.stage, clone.reason) == (err.stage, err.reason)


# --- HTML ----------------------------------------------------------------------

# Page chrome in characters both Big5 and GB18030 encode, so one page
# template serves every codec.
NAV_WORDS = ["政府文件", "人事任免", "工作安排", "政策法律"]
SCRIPT_TEXT = "統計腳本不應出現"
STYLE_TEXT = "樣式表文字"
FOOTER_TEXT = "主辦單位某某市人民政府辦公室版權所有"


def gov_page(paras: list[str], charset: str = "utf-8", *, title: str = "关于印发方案的通知") -> str:
    """A saved government page: nav, scripts, styles and footer around the notice."""
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    nav = "".join(f'<li><a href="/m{i}">{w}</a></li>' for i, w in enumerate(NAV_WORDS))
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>{title}_政府信息公開</title>
<style>body {{ font-family: "{STYLE_TEXT}"; }}</style>
<script>var tracker = "{SCRIPT_TEXT}";</script>
</head><body>
<nav class="top-nav"><ul>{nav}</ul></nav>
<div class="content"><article>
<h1>{title}</h1>
{body}
</article></div>
<footer><p>{FOOTER_TEXT}</p><p>網站標識碼1234567890</p></footer>
<script>document.write("{SCRIPT_TEXT}");</script>
</body></html>"""


def assert_clean_extraction(text: str, paras: list[str]) -> None:
    lines = text.split("\n")
    pos = -1
    for para in paras:  # paragraphs survive whole, one per line, in order
        pos = lines.index(" ".join(para.split()), pos + 1)
    for junk in [*NAV_WORDS, SCRIPT_TEXT, STYLE_TEXT, FOOTER_TEXT, "<p>", "</"]:
        assert junk not in text


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_html_page_utf8_main_text_extracted(path: Path) -> None:
    paras = paragraphs(path)
    result = decode_notice(gov_page(paras).encode("utf-8"))
    assert result.is_html and result.encoding == "utf-8"
    assert_clean_extraction(result.text, paras)


def test_html_page_gb2312_uses_meta_charset() -> None:
    paras = paragraphs(SIMPLIFIED)[:12]
    result = decode_notice(gov_page(paras, "gb2312").encode("gb18030"))
    assert (result.is_html, result.encoding) == (True, "gb18030")
    assert_clean_extraction(result.text, paras)


def test_html_page_big5_uses_meta_charset() -> None:
    paras = [p for p in traditional_big5_text().splitlines() if p.strip()][:10]
    result = decode_notice(gov_page(paras, "big5", title="關於實施意見的通知").encode("big5"))
    assert (result.is_html, result.encoding) == (True, "big5")
    for para in paras:
        assert para in result.text.split("\n")


def test_html_wrong_meta_charset_falls_back_to_scoring() -> None:
    paras = [p for p in traditional_big5_text().splitlines() if p.strip()][:10]
    page = gov_page(paras, "gb2312", title="關於實施意見的通知")  # declared wrongly
    result = decode_notice(page.encode("big5"))
    assert result.encoding == "big5"
    assert paras[0] in result.text


def test_short_html_page_keeps_only_the_notice() -> None:
    paras = paragraphs(SIMPLIFIED)[:2]
    result = decode_notice(gov_page(paras).encode("utf-8"))
    assert_clean_extraction(result.text, paras)


def test_html_fallback_when_trafilatura_finds_too_little(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode_mod, "_trafilatura_text", lambda html: "")
    paras = paragraphs(SIMPLIFIED)[:6]
    text = html_to_text(gov_page(paras))
    assert_clean_extraction(text, paras)


def test_html_fallback_splits_blocks_and_br_into_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode_mod, "_trafilatura_text", lambda html: "")
    html = (
        '<html><body><div id="menu">首页 | 政务公开</div>'
        "<div>第一段文字<br>第二段文字<!-- 注释文字 --><span>同一行</span></div>"
        '<table><tr><td>序号</td><td>任务</td></tr></table><div class="footer">页脚</div>'
        "</body></html>"
    )
    assert html_to_text(html) == "第一段文字\n第二段文字同一行\n序号\n任务"


def test_html_fragment_detected_by_tag_density() -> None:
    paras = paragraphs(SIMPLIFIED)[:8]
    fragment = "<div>" + "".join(f'<p class="x">{p}</p>' for p in paras) + "</div>"
    result = decode_notice(fragment.encode("utf-8"))
    assert result.is_html
    assert paras[0] in result.text.split("\n")


def test_html_with_xml_declaration() -> None:
    paras = paragraphs(SIMPLIFIED)[:4]
    page = '<?xml version="1.0" encoding="utf-8"?>\n' + gov_page(paras)
    assert paras[0] in html_to_text(page).split("\n")


def test_plain_text_notice_is_not_html() -> None:
    assert decode_notice(SIMPLIFIED.read_bytes()).is_html is False


def test_html_without_chinese_text_is_rejected() -> None:
    page = "<!DOCTYPE html><html><body><nav>首页</nav><p>Page not found</p></body></html>"
    reason = reject_reason(page.encode())
    assert "too few CJK characters" in reason and "HTML" in reason


def test_html_to_text_empty() -> None:
    assert html_to_text("") == ""


# --- size ----------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-8", "gb18030"])
def test_50mb_input_decodes_in_linear_time(codec: str) -> None:
    chunk = read(SIMPLIFIED).encode(codec)
    data = chunk * (50_000_000 // len(chunk) + 1)
    start = time.perf_counter()
    result = decode_notice(data)
    elapsed = time.perf_counter() - start
    assert result.encoding == codec
    assert len(result.text) > 15_000_000
    assert elapsed < 20, f"{elapsed:.1f}s for {len(data) / 1e6:.0f} MB"
