"""Web boilerplate: navigation, share/print footers and comment widgets."""

from __future__ import annotations

import re

# Each pattern names why a line goes, so the removal can be counted by reason.
BOILERPLATE: dict[str, re.Pattern[str]] = {
    "navigation": re.compile(r"^(您当前所在的位置|当前位置|您的位置|首页\s*>|扫码访问$)"),
    "font_size_widget": re.compile(r"【字体:|【\s*字号|字号:\s*大\s*中\s*小"),
    "share_print": re.compile(r"^(扫一扫在手机打开当前页|分享到|【打印|打印本页|关闭窗口|【关闭】|\[打印\]|\[关闭\])"),
    "comments": re.compile(r"^(评论一下|评论\s*\d+人参与|还没有评论|最热评论|最新评论|已有\d+人参与|我要评论)"),
    # Traditional-script pages say 相關文章: both scripts are matched.
    "related_links": re.compile(r"^相[关關](阅读|閱讀|文件:?|链接|鏈接|新闻|新聞|文章)$"),
    "source_footer": re.compile(r"^(信息来源:.*责任编辑|责任编辑:|信息来源:\s*$)"),
}


# Two regexes, one call each per line: the patterns anchored at the line start
# are tried at position 0 only (``match``); only the few floating ones are
# searched along the line. One search over every pattern costs ~10x more.
_ANCHORED = re.compile(
    "|".join(f"(?P<{reason}>{p.pattern[1:]})" for reason, p in BOILERPLATE.items() if p.pattern.startswith("^"))
)
_FLOATING = re.compile(
    "|".join(f"(?P<{reason}>{p.pattern})" for reason, p in BOILERPLATE.items() if not p.pattern.startswith("^"))
)


# The characters an anchored pattern's match can start with (tests/clean derives
# them from the patterns): a line starting otherwise (almost all) skips the match.
_ANCHORED_FIRST = frozenset("您当首扫分【打关[评还最已我相信责")

# Every floating pattern holds 【 or 字号. A notice with neither (most) is spared
# the floating search, which scans each of its lines to the end.
_FLOATING_MARKS = ("【", "字号")


def may_float(text: str) -> bool:
    """False when no line of ``text`` can hold a floating widget (``【字体:``)."""
    return any(mark in text for mark in _FLOATING_MARKS)


def boilerplate_reason(line: str, floating: bool = True) -> str | None:
    """The reason a (normalised) line is web boilerplate, or None if it is content.

    ``floating=False`` skips the mid-line widgets: for notices where
    ``may_float`` says none can occur.
    """
    m = (_ANCHORED.match(line) if line[:1] in _ANCHORED_FIRST else None) or (
        _FLOATING.search(line) if floating else None
    )
    return m.lastgroup if m else None
