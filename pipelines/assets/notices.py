"""Per-notice assets: raw file → decoded text → cleaned text → parsed rows.

Thin wrappers over the pure stages. A notice that cannot be read or parsed is
carried forward as a rejection (never an exception) so that one bad file does
not fail a run that covers many.
"""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.assets.partitions import notice_partitions, per_partition
from pipelines.ingest.read import read_notice
from pipelines.resources import PipelinePaths
from pipelines.stages import CleanedOutcome, ParsedOutcome, clean_stage, parse_stage  # noqa: F401

# CleanedOutcome and ParsedOutcome are imported here too: partitions stored
# before they moved to pipelines.stages are pickles that name this module.

NOTICE_POLICY = dict(
    partitions_def=notice_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="notices",
)


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
