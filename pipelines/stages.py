"""One notice through the pure stages: decoded file → cleaned text → parsed rows.

What the per-notice assets call, without Dagster, so tests and benchmarks run
them directly. A notice that cannot be cleaned or parsed is carried forward as
a rejection (never an exception) so that one bad file does not fail a run.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass

from pipelines.clean.notice import CleanedNotice, clean_notice
from pipelines.ingest.read import RawNotice, Rejection
from pipelines.parse.notice import ParsedNotice, SourceInfo, parse_notice


@dataclass(frozen=True)
class CleanedOutcome:
    raw: RawNotice
    cleaned: CleanedNotice | None
    rejection: Rejection | None


@dataclass(frozen=True)
class ParsedOutcome:
    raw: RawNotice
    parsed: ParsedNotice | None
    rejection: Rejection | None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while one notice is cleaned or parsed, as it was after.

    A notice allocates tens of thousands of small objects that all live until
    it is done, and the collector keeps re-scanning them (and everything else
    alive in the process) as they pile up: about a sixth of the parse time.
    Reference counting still frees what is dropped; the few cycles (outline
    nodes and their parents) go at the next collection after this.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def clean_stage(raw: RawNotice) -> CleanedOutcome:
    """Clean a decoded notice; pass a rejection through untouched."""
    if raw.rejection or raw.text is None:
        return CleanedOutcome(raw, None, raw.rejection)
    try:
        with gc_paused():
            cleaned = clean_notice(raw.text)
    except Exception as exc:  # a cleaner bug must not lose the notice (nor fail a run of many): record it
        return CleanedOutcome(raw, None, Rejection("clean", f"cleaner error: {type(exc).__name__}: {exc}"))
    if not cleaned.lines:
        return CleanedOutcome(raw, None, Rejection("clean", "nothing left after removing web boilerplate"))
    return CleanedOutcome(raw, cleaned, None)


def parse_stage(outcome: CleanedOutcome) -> ParsedOutcome:
    """Parse a cleaned notice; any parser failure becomes a rejection with its reason."""
    raw = outcome.raw
    if outcome.cleaned is None:
        return ParsedOutcome(raw, None, outcome.rejection)
    source = SourceInfo(raw.notice_id, raw.file_name, raw.raw_sha256 or "", raw.encoding or "", raw.text or "")
    try:
        with gc_paused():
            parsed = parse_notice(source, outcome.cleaned)
    except Exception as exc:  # a parser bug must not lose the notice: record it
        return ParsedOutcome(raw, None, Rejection("parse", f"parser error: {type(exc).__name__}: {exc}"))
    if not parsed.rows["tasks"] and not parsed.rows["glossary"]:
        return ParsedOutcome(
            raw, None, Rejection("parse", "no recognisable outline: no numbered tasks or sections found")
        )
    return ParsedOutcome(raw, parsed, None)
