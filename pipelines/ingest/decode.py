"""Decode raw notice files (bytes) into Unicode text.

Scraped notices arrive as UTF-8, UTF-16, GB18030/GBK or Big5 text, sometimes as
a saved HTML page, and sometimes as something that is not a notice at all (a
PDF, an image, an empty file).  `decode_notice` turns the first kind into a
`DecodedNotice` and rejects the rest with a `RejectedInput` whose reason is
specific enough to act on from the rejects table.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from itertools import islice
from typing import Any

import lxml.etree
import lxml.html
import trafilatura

__all__ = [
    "MIN_CJK_CHARS",
    "DecodedNotice",
    "RejectedInput",
    "decode_notice",
    "html_to_text",
]

STAGE = "decode"

#: A real notice has at least a title and a sentence; fewer CJK characters than
#: this means a stub, an error page or a non-Chinese file.
MIN_CJK_CHARS = 20

# Any CJK ideograph: URO, extension A, compatibility ideographs, and the
# supplementary-plane extensions B..H.
_CJK_RE = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]",
)

# Legacy codecs tried after UTF-8, in order of preference on a tie: mainland
# notices are far more often GBK/GB18030 than Big5.  big5hkscs is a superset
# of big5 and only consulted when plain big5 fails.
_LEGACY_CODECS = ("gb18030", "big5", "big5hkscs")

# Below this share of common characters among the ideographs (and other
# letters a mis-decode produces), a decode is mojibake rather than Chinese.
# Real notices score ~0.99; Big5 read as GB18030 scores ~0.0-0.35.
_MIN_PLAUSIBILITY = 0.6

# Scoring looks at a prefix only: one notice has one encoding, and this keeps
# 50 MB inputs cheap.
_SCORE_SAMPLE_CHARS = 200_000

# How far into the file we look for markup and <meta charset>.
_HTML_SNIFF_CHARS = 65_536


class RejectedInput(Exception):
    """Input that cannot become a notice; `stage` and `reason` end up in a rejects table."""

    def __init__(self, stage: str, reason: str) -> None:
        # Passing both to Exception keeps the exception picklable (Dagster
        # may ship it between processes), since args match __init__.
        super().__init__(stage, reason)
        self.stage = stage
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.stage}: {self.reason}"


@dataclass(frozen=True)
class DecodedNotice:
    """A notice as Unicode text, with the codec that produced it."""

    text: str  # Unicode text, newlines normalised to \n, BOM removed
    encoding: str  # canonical codec name actually used, e.g. 'utf-8', 'gb18030'
    is_html: bool  # True when the input was HTML and `text` is its main text


def _reject(reason: str) -> RejectedInput:
    return RejectedInput(STAGE, reason)


# --------------------------------------------------------------------------
# Binary detection
# --------------------------------------------------------------------------

# (signature, format name, printable signature) checked at offset 0.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "PDF", "%PDF-"),
    (b"\x89PNG\r\n\x1a\n", "PNG image", "\\x89PNG"),
    (b"\xff\xd8\xff", "JPEG image", "\\xFF\\xD8\\xFF"),
    (b"GIF87a", "GIF image", "GIF87a"),
    (b"GIF89a", "GIF image", "GIF89a"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "OLE2 compound file (legacy DOC/XLS/PPT)",
        "\\xD0\\xCF\\x11\\xE0",
    ),
    (b"Rar!\x1a\x07", "RAR archive", "Rar!"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive", "7z\\xBC\\xAF"),
    (b"\x1f\x8b", "gzip archive", "\\x1F\\x8B"),
    (b"{\\rtf", "RTF document", "{\\rtf"),
)
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

# Members that identify Office Open XML / ODF packages inside a ZIP.
_ZIP_FLAVOURS: tuple[tuple[bytes, str], ...] = (
    (b"word/", "DOCX"),
    (b"xl/", "XLSX"),
    (b"ppt/", "PPTX"),
    (b"application/vnd.oasis.opendocument", "ODF"),
)


def _check_binary(data: bytes) -> None:
    """Raise when `data` carries a known binary file signature."""
    for magic, name, shown in _MAGIC:
        if data.startswith(magic):
            raise _reject(f"binary file ({name} signature {shown})")
    # PDF allows junk before the header within the first 1024 bytes.
    pos = data.find(b"%PDF-", 0, 1024)
    if pos > 0:
        raise _reject(f"binary file (PDF signature %PDF- at offset {pos})")
    if data.startswith(_ZIP_SIGNATURES):
        # Member names are stored in clear in the local headers, so the first
        # few KB tell DOCX/XLSX apart from a plain ZIP without unpacking.
        head = data[:8192]
        flavour = next((f for marker, f in _ZIP_FLAVOURS if marker in head), None)
        kind = f"ZIP archive, looks like {flavour}" if flavour else "ZIP archive"
        raise _reject(f"binary file ({kind}; signature PK\\x03\\x04)")


def _check_nul(data: bytes) -> None:
    """Raise on NUL bytes, which no supported 8-bit/multibyte text contains."""
    pos = data.find(b"\x00")
    if pos >= 0:
        count = data.count(b"\x00")
        raise _reject(
            f"binary content ({count} NUL byte(s), first at offset {pos}; UTF-16 without a BOM is not supported)"
        )


# --------------------------------------------------------------------------
# Codec selection
# --------------------------------------------------------------------------


@cache
def _common_chars() -> frozenset[str]:
    """Common hanzi: GB2312 (simplified) plus Big5 level 1 (traditional).

    Both standards were designed around everyday character frequency, so
    together they cover essentially all text of a government notice, while a
    wrong decode lands mostly on rare characters, kana or symbols.
    """
    common: set[str] = set()
    for cp in range(0x4E00, 0xA000):
        ch = chr(cp)
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            pass
        else:
            common.add(ch)
            continue
        try:
            encoded = ch.encode("big5")
        except UnicodeEncodeError:
            continue
        if b"\xa4\x40" <= encoded <= b"\xc6\x7e":  # Big5 level-1 hanzi block
            common.add(ch)
    return frozenset(common)


def _is_suspicious(ch: str) -> bool:
    """Characters a mis-decode typically produces instead of common hanzi."""
    cp = ord(ch)
    return (
        0x3400 <= cp <= 0x9FFF  # ideographs not in the common set
        or 0xF900 <= cp <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= cp <= 0x3134F  # supplementary ideographs
        or 0xE000 <= cp <= 0xF8FF  # private use area (GB user-defined)
        or 0x3040 <= cp <= 0x30FF  # kana: GB rows 4/5 = Big5 hanzi lead A4/A5
        or 0x0370 <= cp <= 0x04FF  # Greek/Cyrillic: GB rows 6/7
        or 0xAC00 <= cp <= 0xD7AF  # hangul
        or 0x2460 <= cp <= 0x24FF  # enclosed alphanumerics (stray symbols)
        or 0x2500 <= cp <= 0x257F  # box drawing
    )


def plausibility(text: str) -> tuple[float, int]:
    """Return (share of common hanzi among letter-like chars, their count).

    ASCII, punctuation and digits are neutral: they do not tell codecs apart.
    """
    counts = Counter(text[:_SCORE_SAMPLE_CHARS])
    common = _common_chars()
    good = bad = 0
    for ch, n in counts.items():
        if ch in common:
            good += n
        elif ord(ch) >= 0x80 and _is_suspicious(ch):
            bad += n
    total = good + bad
    return (good / total if total else 0.0, total)


def _canonical(codec: str) -> str:
    return codecs.lookup(codec).name


_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)

# Labels seen on Chinese pages, mapped to the codec we actually decode with:
# GB2312/GBK pages routinely contain GBK-only characters, so use the superset.
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "gb18030": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5",
    "x-x-big5": "big5",
    "cp950": "big5",
    "big5-hkscs": "big5hkscs",
    "big5hkscs": "big5hkscs",
    "utf-8": "utf-8",
    "utf8": "utf-8",
}


def declared_charset(data: bytes) -> str | None:
    """Codec declared by `<meta charset=…>` / `http-equiv` in an HTML head."""
    match = _META_CHARSET_RE.search(data[:_HTML_SNIFF_CHARS])
    if not match:
        return None
    label = match.group(1).decode("ascii", "replace").lower()
    return _CHARSET_ALIASES.get(label)


def _try_decode(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _decode_bom(data: bytes) -> tuple[str, str] | None:
    """Decode by byte-order mark; None when there is no BOM."""
    # UTF-32 LE's BOM starts with UTF-16 LE's, so it must be checked first.
    boms = (
        ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32"),
        ((codecs.BOM_UTF8,), "utf-8-sig"),
        ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16"),
    )
    for marks, codec in boms:
        if data.startswith(marks):
            try:
                # These codecs consume the BOM themselves.
                return data.decode(codec), codec
            except UnicodeDecodeError as exc:
                raise _reject(
                    f"undecodable bytes: {codec} byte-order mark present but "
                    f"invalid {codec} at offset {exc.start} ({exc.reason})"
                ) from None
    return None


def _decode_utf8(data: bytes) -> tuple[str | None, str]:
    """Strict UTF-8; returns (text or None, why it failed)."""
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        # A scrape cut off mid-character: only an incomplete final sequence
        # is wrong, and that sequence is not a character we could keep.
        if exc.reason == "unexpected end of data" and exc.end == len(data):
            head = _try_decode(data[: exc.start], "utf-8")
            if head is not None:
                return head, ""
        return (
            None,
            f"not UTF-8 (invalid byte 0x{data[exc.start]:02X} at offset {exc.start})",
        )


def _decode_legacy(data: bytes, utf8_failure: str) -> tuple[str, str]:
    """Pick the legacy codec whose decode looks most like Chinese text."""
    declared = declared_charset(data) if _looks_like_html(data[:_HTML_SNIFF_CHARS].decode("latin-1")) else None
    if declared and declared != "utf-8":
        text = _try_decode(data, declared)
        # A declaration is trusted only if the bytes agree with it.
        if text is not None and plausibility(text)[0] >= _MIN_PLAUSIBILITY:
            return text, _canonical(declared)

    scored: list[tuple[float, int, int, str, str]] = []
    for rank, codec in enumerate(_LEGACY_CODECS):
        if codec == "big5hkscs" and any(s[-1] == "big5" for s in scored):
            continue  # superset only needed when plain Big5 fails
        text = _try_decode(data, codec)
        if text is None:
            continue
        score, letters = plausibility(text)
        # Higher score wins; on a tie, the earlier (more common) codec wins.
        scored.append((score, -rank, letters, text, codec))
    if not scored:
        raise _reject(
            f"undecodable bytes: no candidate codec decodes cleanly ({utf8_failure}; not valid GB18030 or Big5)"
        )
    score, _, letters, text, codec = max(scored, key=lambda s: (s[0], s[1]))
    if letters >= MIN_CJK_CHARS and score < _MIN_PLAUSIBILITY:
        raise _reject(
            "undecodable bytes: no candidate codec decodes cleanly; best was "
            f"{codec} with only {score:.0%} common characters among {letters} "
            "CJK-like characters (mojibake or unsupported encoding)"
        )
    return text, _canonical(codec)


def _decode_bytes(data: bytes) -> tuple[str, str]:
    """Return (text, canonical codec name) or raise RejectedInput."""
    by_bom = _decode_bom(data)
    if by_bom is not None:
        return by_bom
    _check_nul(data)
    text, utf8_failure = _decode_utf8(data)
    if text is not None:
        return text, "utf-8"
    return _decode_legacy(data, utf8_failure)


# --------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------

_NEWLINES_RE = re.compile("\r\n?|[\u2028\u2029\x85]")


def _normalise_newlines(text: str) -> str:
    # Most files break lines with \n alone: four membership tests (C, no
    # regex scan) leave them as they are.
    if "\r" not in text and "\u2028" not in text and "\u2029" not in text and "\x85" not in text:
        return text
    return _NEWLINES_RE.sub("\n", text)


def count_cjk(text: str, limit: int | None = None) -> int:
    """Count CJK ideographs, stopping early at `limit` to stay cheap on big files."""
    return sum(1 for _ in islice(_CJK_RE.finditer(text), limit))


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

_HTML_MARKER_RE = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]{0,2000})?/?>")


def _looks_like_html(head: str) -> bool:
    """HTML by marker (`<html`, `<!DOCTYPE html`) or by tag density."""
    if "<" not in head:  # both tests need one; plain notices have none
        return False
    if _HTML_MARKER_RE.search(head[:4096]):
        return True
    tags = _TAG_RE.findall(head)
    if len(tags) < 5:
        return False
    # Fragments without <html> still count when markup is a big share.
    return sum(map(len, tags)) / max(len(head), 1) > 0.15


def is_html_text(text: str) -> bool:
    """True when decoded text is an HTML page rather than plain text."""
    return _looks_like_html(text[:_HTML_SNIFF_CHARS])


_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)

# Dropped from the fallback extraction: code, chrome and forms, never content.
_DROP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "footer", "aside",
        "form", "iframe", "svg", "select", "button", "head", "title", "meta",
        "link", "object", "embed", "canvas", "map", "menu",
    }
)  # fmt: skip
_DROP_CLASS_TOKENS = frozenset({"nav", "navbar", "navigation", "menu", "breadcrumb", "crumbs", "footer", "sidebar"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "blockquote", "body", "caption", "center", "dd",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "html", "li", "main", "ol", "p", "pre",
        "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_CLASS_SPLIT_RE = re.compile(r"[\s_-]+")
_SPACES_RE = re.compile(r"[^\S\n]+")


def _clean_lines(text: str) -> str:
    """Collapse in-line whitespace, strip lines, drop empty ones."""
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _is_chrome(el: Any) -> bool:
    """Elements that are navigation/footer by tag, role or class/id."""
    if el.tag in _DROP_TAGS:
        return True
    if el.tag == "header" and not any(a.tag in ("article", "main") for a in el.iterancestors()):
        return True  # page header; an <article>'s header holds the title
    if (el.get("role") or "").lower() in ("navigation", "banner", "contentinfo"):
        return True
    tokens = _CLASS_SPLIT_RE.split(f"{el.get('class') or ''} {el.get('id') or ''}".lower())
    return any(t in _DROP_CLASS_TOKENS for t in tokens)


def _body_text(html: str) -> str:
    """Plain text of the page body, one block element per line, chrome dropped."""
    try:
        doc = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return ""
    for el in [e for e in doc.iter() if isinstance(e.tag, str) and _is_chrome(e)]:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent

    parts: list[str] = []
    # iterwalk is iterative: deeply nested pages cannot hit the recursion limit.
    for event, el in lxml.etree.iterwalk(doc, events=("start", "end")):
        is_element = isinstance(el.tag, str)
        if event == "start":
            if is_element and (el.tag in _BLOCK_TAGS or el.tag == "br"):
                parts.append("\n")
            if is_element and el.text:  # comment/PI text is not page text
                parts.append(" ".join(el.text.split("\n")))
        else:
            if is_element and el.tag in _BLOCK_TAGS:
                parts.append("\n")
            if el.tail:
                parts.append(" ".join(el.tail.split("\n")))
    return _clean_lines("".join(parts))


def _trafilatura_text(html: str) -> str:
    extracted = trafilatura.extract(
        html,
        # Precision mode: on short pages the default recall fallbacks pull
        # navigation menus into the "main" text.
        favor_precision=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        output_format="txt",
        deduplicate=False,
        with_metadata=False,
    )
    return _clean_lines(extracted or "")


def html_to_text(html: str) -> str:
    """Main text of an HTML page, one paragraph per line.

    Uses trafilatura's main-content extraction; when that finds too little
    (short pages are often not recognised as articles) falls back to the text
    of the body with scripts, styles, navigation and footers removed.
    """
    # lxml refuses str input that carries an XML encoding declaration.
    html = _XML_DECL_RE.sub("", html, count=1)
    if not html.strip():
        return ""
    main = _trafilatura_text(html)
    main_cjk = count_cjk(main)
    if main_cjk >= MIN_CJK_CHARS:
        body = _body_text(html)
        # Trafilatura keeps the article and drops chrome, so it is preferred
        # unless it clearly missed the bulk of the page's Chinese text.
        if main_cjk >= 0.2 * count_cjk(body):
            return main
        return body
    body = _body_text(html)
    return body if count_cjk(body) > main_cjk else main


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def decode_notice(data: bytes) -> DecodedNotice:
    """Decode one raw notice file, or raise RejectedInput(stage="decode")."""
    data = bytes(data)  # accept bytearray/memoryview; a no-op for bytes
    if not data:
        raise _reject("empty file (0 bytes)")
    _check_binary(data)
    raw_text, encoding = _decode_bytes(data)
    text = _normalise_newlines(raw_text)
    if text.startswith("\ufeff"):  # e.g. a BOM repeated after the real one
        text = text.lstrip("\ufeff")
    if "\x00" in text:  # only reachable through UTF-16/32 text holding U+0000
        raise _reject(f"binary content (NUL character in {encoding} text at index {text.index(chr(0))})")
    if not text or text.isspace():  # not text.strip(), which copies the text
        raise _reject(f"whitespace-only text ({len(data)} bytes, no visible characters)")

    is_html = is_html_text(text)
    if is_html:
        text = html_to_text(text)
        if not text:
            raise _reject("HTML page with no extractable text")

    cjk = count_cjk(text, MIN_CJK_CHARS)
    if cjk < MIN_CJK_CHARS:
        what = "extracted HTML text" if is_html else "text"
        raise _reject(f"too few CJK characters to be a Chinese notice ({cjk} in {what}, need at least {MIN_CJK_CHARS})")
    return DecodedNotice(text=text, encoding=encoding, is_html=is_html)
