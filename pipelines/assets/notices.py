"""Per-notice assets: raw file → decoded text → cleaned text → parsed rows.

Thin wrappers over the pure stages. A notice that cannot be read or parsed is
carried forward as a rejection (never an exception) so that one bad file does
not fail a run that covers many.
"""

from dataclasses import dataclass

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.assets.partitions import notice_partitions, per_partition
from pipelines.clean.notice import CleanedNotice, clean_notice
from pipelines.ingest.read import RawNotice, Rejection, read_notice
from pipelines.parse.notice import ParsedNotice, SourceInfo, parse_notice
from pipelines.resources import PipelinePaths

NOTICE_POLICY = dict(
    partitions_def=notice_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="notices",
)


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


def clean_stage(raw: RawNotice) -> CleanedOutcome:
    """Clean a decoded notice; pass a rejection through untouched."""
    if raw.rejection or raw.text is None:
        return CleanedOutcome(raw, None, raw.rejection)
    cleaned = clean_notice(raw.text)
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
        parsed = parse_notice(source, outcome.cleaned)
    except Exception as exc:  # a parser bug must not lose the notice: record it
        return ParsedOutcome(raw, None, Rejection("parse", f"parser error: {type(exc).__name__}: {exc}"))
    if not parsed.rows["tasks"] and not parsed.rows["glossary"]:
        return ParsedOutcome(
            raw, None, Rejection("parse", "no recognisable outline: no numbered tasks or sections found")
        )
    return ParsedOutcome(raw, parsed, None)


def _by_key(context: AssetExecutionContext, result: object) -> dict[str, object]:
    """``{partition_key: value}`` whether the run covered one partition or many."""
    keys = context.partition_keys
    return result if len(keys) > 1 else {keys[0]: result}  # type: ignore[return-value]


def _log_rejections(context: AssetExecutionContext, outcomes: object, stage: str) -> int:
    """One warning line per file rejected at this stage (later stages only pass it on)."""
    items = outcomes.values() if isinstance(outcomes, dict) else [outcomes]
    n = 0
    for item in items:
        rejection = getattr(item, "rejection", None)
        raw = getattr(item, "raw", item)
        if rejection and rejection.stage == stage:
            n += 1
            context.log.warning(f"REJECTED {raw.file_name}: [{rejection.stage}] {rejection.reason}")
    return n


@dg.asset(**NOTICE_POLICY, kinds={"python"})
def raw_notice(context: AssetExecutionContext, paths: PipelinePaths) -> object:
    """The notice file decoded to text (encoding detected, HTML reduced to its main text)."""
    result = per_partition(context, None, lambda key, _: read_notice(paths.notice_path(key)))
    _log_rejections(context, result, "decode")
    for key, item in _by_key(context, result).items():
        # Per partition: the content hash here is what reruns compare against.
        context.add_asset_metadata(
            {
                "file_name": item.file_name,
                "raw_sha256": item.raw_sha256 or "",
                "encoding": item.encoding or "",
                "characters": len(item.text or ""),
                "rejected": item.rejection.reason if item.rejection else "",
            },
            partition_key=key,
        )
    return result


@dg.asset(**NOTICE_POLICY, kinds={"python"})
def cleaned_notice(context: AssetExecutionContext, raw_notice: object) -> object:
    """Canonical punctuation, boilerplate and repeated paragraphs removed, simplified twin."""
    result = per_partition(context, raw_notice, lambda _key, raw: clean_stage(raw))
    items = list(result.values()) if isinstance(result, dict) else [result]
    removed: dict[str, int] = {}
    for item in items:
        for reason, n in (item.cleaned.removed if item.cleaned else {}).items():
            removed[reason] = removed.get(reason, 0) + n
    context.add_output_metadata(
        {
            "notices": len(items),
            "rejected": _log_rejections(context, result, "clean"),
            "lines_kept": sum(len(i.cleaned.lines) for i in items if i.cleaned),
            "lines_removed": sum(removed.values()),
            "removed_by_reason": dg.MetadataValue.json(removed),
        }
    )
    return result


@dg.asset(**NOTICE_POLICY, kinds={"python"})
def parsed_notice(context: AssetExecutionContext, cleaned_notice: object) -> object:
    """Rows for every table from one notice: sections, tasks, assignments, targets, glossary."""
    result = per_partition(context, cleaned_notice, lambda _key, outcome: parse_stage(outcome))
    _log_rejections(context, result, "parse")
    for key, item in _by_key(context, result).items():
        meta: dict[str, object] = {"rejected": item.rejection.reason if item.rejection else ""}
        if item.parsed:
            meta.update(
                {
                    f"n_{t}": len(item.parsed.rows[t])
                    for t in ("sections", "tasks", "assignments", "targets", "glossary")
                }
            )
            meta["n_warnings"] = len(item.parsed.warnings)
            meta["warnings"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in item.parsed.warnings) or "none")
        context.add_asset_metadata(meta, partition_key=key)
    return result
