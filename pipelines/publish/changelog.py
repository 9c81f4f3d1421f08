"""CHANGELOG.md of a release: what changed against the previous release.

Notices are compared by their raw content hash; every table by its primary key
(a row is *changed* when its key stays and another value differs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.publish.delta import ReleaseDelta, TableDelta
from schemas.tables import TABLES

SHOW_KEYS = 10


@dataclass(frozen=True)
class TableDiff:
    table: str
    rows: int
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)


def read_release_tables(release_dir: Path) -> dict[str, pl.DataFrame]:
    """The tables of a published release (Parquet keeps the types; missing tables are skipped)."""
    out = {}
    for name in TABLES:
        path = release_dir / "parquet" / f"{name}.parquet"
        if path.is_file():
            out[name] = pl.read_parquet(path)
    return out


def diff_table(table: str, old: pl.DataFrame | None, new: pl.DataFrame, delta: TableDelta | None = None) -> TableDiff:
    """Rows added, removed and changed by primary key.

    ``delta``: the table's rows new since ``old`` (:mod:`pipelines.publish.delta`),
    when known: then only those rows are compared, by key.
    """
    key = list(TABLES[table].primary_key)
    if old is None or not set(key) <= set(old.columns):
        return TableDiff(table, new.height, added=new.select(key).to_dicts())
    if delta is not None:
        fresh = delta.new_rows.select(key)
        # Only old keys that share a first key column with a fresh row can match one:
        # a hashed membership test narrows a table of every key to a few rows before the joins.
        first = pl.col(key[0])
        old_keys = old.select(key).filter(first.is_in(fresh.get_column(key[0]).implode(), nulls_equal=True))
        return TableDiff(
            table,
            new.height,
            fresh.join(old_keys, on=key, how="anti", nulls_equal=True).sort(key).to_dicts(),
            delta.gone_keys.sort(key).to_dicts(),
            fresh.join(old_keys, on=key, how="semi", nulls_equal=True).sort(key).to_dicts(),
        )
    common = [c for c in new.columns if c in old.columns and c not in key]
    old_c = old.select(key + common).cast({c: new.schema[c] for c in key + common}, strict=False)
    new_c = new.select(key + common)
    added = new_c.join(old_c, on=key, how="anti", nulls_equal=True).select(key)
    removed = old_c.join(new_c, on=key, how="anti", nulls_equal=True).select(key)
    both = new_c.join(old_c, on=key, how="inner", suffix="__old", nulls_equal=True)
    differs = (
        pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}__old")) for c in common]) if common else pl.lit(False)
    )
    changed = both.filter(differs).select(key)
    return TableDiff(
        table,
        new.height,
        added.sort(key).to_dicts(),
        removed.sort(key).to_dicts(),
        changed.sort(key).to_dicts(),
        [c for c in new.columns if c not in old.columns],
        [c for c in old.columns if c not in new.columns],
    )


def notice_changes(old: pl.DataFrame | None, new: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Notices added, removed, or changed (same id, different raw content hash)."""
    cols = ["notice_id", "title", "raw_sha256"]
    if old is None:
        return {"added": new.select(cols).sort("notice_id").to_dicts(), "removed": [], "changed": []}
    old_c = old.select(cols)
    new_c = new.select(cols)
    return {
        "added": new_c.join(old_c, on="notice_id", how="anti").sort("notice_id").to_dicts(),
        "removed": old_c.join(new_c, on="notice_id", how="anti").sort("notice_id").to_dicts(),
        "changed": new_c.join(old_c, on="notice_id", suffix="__old")
        .filter(pl.col("raw_sha256") != pl.col("raw_sha256__old"))
        .sort("notice_id")
        .to_dicts(),
    }


def _key_text(key: dict[str, Any]) -> str:
    return ", ".join(str(v) for v in key.values())


def _key_lines(label: str, keys: list[dict[str, Any]]) -> list[str]:
    if not keys:
        return []
    shown = "; ".join(f"`{_key_text(k)}`" for k in keys[:SHOW_KEYS])
    more = f" … and {len(keys) - SHOW_KEYS} more" if len(keys) > SHOW_KEYS else ""
    return [f"- {label}: {shown}{more}"]


def changelog_markdown(
    version: str,
    created: str,
    frames: dict[str, pl.DataFrame],
    previous_version: str | None,
    previous: dict[str, pl.DataFrame],
    previous_changelog: str | None = None,
    delta: ReleaseDelta | None = None,
) -> str:
    """The CHANGELOG.md text of ``version`` against ``previous`` (empty when it is the first).

    ``delta``: the rows new since ``previous``, when already known (saves comparing whole tables).
    """
    lines = [f"# Changelog · 变更记录 — {version}", "", f"Created {created}."]
    if previous_version:
        lines.append(f"Compared with the previous release `{previous_version}`.")
    else:
        lines.append("First release: every row is new. 首次发布。")
    notices = notice_changes(previous.get("notices"), frames["notices"])
    lines += ["", "## Notices · 通知", ""]
    for what, rows in notices.items():
        lines.append(f"- {what}: {len(rows)}")
        lines += [f"  - `{r['notice_id']}` {r['title']}" for r in rows]
    diffs = [
        diff_table(name, previous.get(name), frames[name], delta.tables[name] if delta is not None else None)
        for name in TABLES
    ]
    lines += [
        "",
        "## Rows per table · 各表行数变化",
        "",
        "| table | rows | added | removed | changed |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {d.table} | {d.rows} | {len(d.added)} | {len(d.removed)} | {len(d.changed)} |" for d in diffs]
    for d in diffs:
        detail = _key_lines("added", d.added) + _key_lines("removed", d.removed) + _key_lines("changed", d.changed)
        if d.columns_added:
            detail.append(f"- columns added: {', '.join(d.columns_added)}")
        if d.columns_removed:
            detail.append(f"- columns removed: {', '.join(d.columns_removed)}")
        if detail and previous_version:
            lines += ["", f"### {d.table} (key: {', '.join(TABLES[d.table].primary_key)})", "", *detail]
    summary = (
        f"- `{version}` ({created[:10]}): notices +{len(notices['added'])} −{len(notices['removed'])} "
        f"~{len(notices['changed'])}; rows +{sum(len(d.added) for d in diffs)} −{sum(len(d.removed) for d in diffs)} "
        f"~{sum(len(d.changed) for d in diffs)}"
    )
    lines += ["", HISTORY, "", summary, *history_lines(previous_changelog)]
    return "\n".join(lines) + "\n"


HISTORY = "## History · 历史"


def history_lines(changelog: str | None) -> list[str]:
    """The one-line summaries of every earlier release, newest first, read from the previous CHANGELOG."""
    if not changelog or HISTORY not in changelog:
        return []
    tail = changelog.split(HISTORY, 1)[1]
    return [line for line in tail.splitlines() if line.startswith("- `")]
