"""README.md of a release: what the data is, how it was made, a data dictionary, how to cite and open it.

Every table and column fact comes from the Pandera models and the TABLES
registry; counts come from the frames being published.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pipelines.publish.descriptor import (
    _TYPES,
    CONTRIBUTORS,
    DATASET,
    DESCRIPTION_EN,
    DESCRIPTION_ZH,
    LICENSE,
    TITLE_EN,
    TITLE_ZH,
)
from pipelines.publish.duckdb_export import VIEW_COMMENTS, VIEWS
from pipelines.publish.excel import FOLDER as EXCEL_FOLDER
from schemas.fields import TableSpec
from schemas.tables import TABLES

DUCKDB_FILE = f"{DATASET}.duckdb"
DOCS_FOLDER = "gx-docs"


def _cell(text: Any) -> str:
    return "" if text is None else str(text).replace("|", "\\|").replace("\n", " ")


def _constraints(column: Any) -> str:
    parts = []
    if column.unique:
        parts.append("unique")
    for check in column.checks:
        stats = check.statistics or {}
        if "allowed_values" in stats:
            parts.append("one of " + ", ".join(f"`{v}`" for v in stats["allowed_values"]))
        elif "pattern" in stats:
            parts.append(f"matches `{stats['pattern']}`")
        elif "min_value" in stats:
            parts.append(f"≥ {stats['min_value']}")
        elif "max_value" in stats:
            parts.append(f"≤ {stats['max_value']}")
    return "; ".join(parts)


def data_dictionary(spec: TableSpec, rows: int) -> list[str]:
    """One table's section: what a row is, keys, and every column in both languages."""
    lines = [
        f"### {spec.name} · {spec.title_zh} ({rows} rows)",
        "",
        f"{spec.description_en}. {spec.description_zh}。",
        "",
        f"Primary key: `{', '.join(spec.primary_key)}`.",
    ]
    for fk in spec.foreign_keys:
        lines.append(f"Foreign key: `{', '.join(fk.fields)}` → `{fk.ref_table}.{', '.join(fk.ref_fields)}`.")
    lines += [
        "",
        "| column | 中文 | English | type | required | description | 说明 | constraints |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, col in spec.schema.columns.items():
        meta = col.metadata or {}
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    f"`{name}`",
                    meta.get("title_zh"),
                    meta.get("title_en"),
                    _TYPES[str(col.dtype)],
                    "no" if col.nullable else "yes",
                    meta.get("description_en"),
                    meta.get("description_zh"),
                    _constraints(col),
                )
            )
            + " |"
        )
    return lines


def limitations(frames: dict[str, pl.DataFrame]) -> list[str]:
    """Known limitations, with the counts of flagged rows in this release."""
    lines = [
        "- Everything here was extracted **automatically** from scraped text; nothing was checked by hand row by row. "
        "Task boundaries, unit names and roles can be wrong where the source text is damaged (lost brackets, "
        "pages out of order, cut sentences).",
        "- Unit names are normalised through a reference list of aliases; two spellings of one organisation can "
        "remain separate units, and generic parties (各有关部门) are kept as `generic`.",
    ]
    for name, df in frames.items():
        if "flags" in df.columns:
            counts = (
                df.get_column("flags").drop_nulls().str.split(";").explode().value_counts(sort=True, name="n").rows()
            )
            flagged = ", ".join(f"`{flag}` {n}" for flag, n in counts if flag) or "none"
            lines.append(f"- `{name}.flags` marks rows the extractor was unsure of: {flagged}.")
    if "warnings" in frames and "kind" in frames["warnings"].columns:
        counts = frames["warnings"].get_column("kind").value_counts(sort=True, name="n").rows()
        listed = ", ".join(f"`{k}` {n}" for k, n in counts) or "none"
        lines.append(
            f"- The `warnings` table lists what looked wrong per notice ({frames['warnings'].height}): {listed}."
        )
    if "rejects" in frames:
        lines.append(
            f"- Files that could not be read or parsed are not dropped silently: `rejects` holds "
            f"{frames['rejects'].height} of them with the reason."
        )
    return lines


def recipes(version: str) -> list[str]:
    first = next(iter(TABLES))
    return [
        "**pandas / polars**",
        "",
        "```python",
        "import pandas as pd",
        f'{first} = pd.read_csv("{first}.csv", dtype=str, keep_default_na=False)',
        "import polars as pl",
        'tasks = pl.read_parquet("parquet/tasks.parquet")',
        "```",
        "",
        "**DuckDB** (SQL; also from Python with `duckdb.connect`)",
        "",
        "```sql",
        f"-- duckdb {DUCKDB_FILE}",
        "SELECT task_id, lead_units FROM task_leads WHERE n_leads > 0 LIMIT 10;",
        "SELECT name, n_tasks, n_lead FROM unit_workload LIMIT 10;",
        "```",
        "",
        "**R**",
        "",
        "```r",
        "library(readr); library(duckdb)",
        'tasks <- read_csv("tasks.csv", col_types = cols(.default = "c"))',
        f'con <- dbConnect(duckdb(), "{DUCKDB_FILE}", read_only = TRUE)',
        'dbGetQuery(con, "SELECT * FROM unit_workload LIMIT 10")',
        "```",
    ]


def release_readme(
    version: str,
    created: str,
    frames: dict[str, pl.DataFrame],
    n_expectations: int,
) -> str:
    """The README.md text of one release (no wall-clock time: the same inputs give the same text)."""
    notices = frames["notices"]
    authors = ", ".join(c["title"] for c in CONTRIBUTORS)
    lines = [
        f"# {TITLE_ZH} · {TITLE_EN}",
        "",
        f"Version `{version}` · created {created} · licence {LICENSE['title']} ({LICENSE['name']}).",
        "",
        DESCRIPTION_ZH,
        "",
        DESCRIPTION_EN,
        "",
        "## Sources · 来源",
        "",
        "| notice | issuer 发文机关 | number 字号 | date 日期 |",
        "|---|---|---|---|",
    ]
    for row in notices.sort("notice_id").iter_rows(named=True):
        lines.append(
            f"| {_cell(row['title'])} | {_cell(row.get('issuer'))} | {_cell(row.get('doc_number'))} | "
            f"{_cell(row.get('published_date'))} |"
        )
    lines += [
        "",
        "## How it was made · 制作方法",
        "",
        "Each notice file is decoded, cleaned (web boilerplate and repeated paragraphs removed, punctuation "
        "unified, a simplified twin of traditional text), and parsed into its outline, numbered tasks, assignment "
        "brackets such as `(省发展改革委牵头,省财政厅等按职责分工负责)`, quantitative targets and glossary. "
        "Before publishing, every table passed: its Pandera model (types, required values, allowed sets, ranges), "
        f"its foreign keys, {n_expectations} Great Expectations checks (report in `{DOCS_FOLDER}/index.html`) "
        "and Frictionless validation of this package. A release built on a previous one validates with Great "
        f"Expectations and Frictionless the rows that are new or changed since it (`{DOCS_FOLDER}/validation.json` "
        "says which); the other rows passed the same checks in that release. Building again from the same notices "
        "gives the same bytes and hashes in every data file.",
        "",
        "## Files · 文件",
        "",
        "| file | what |",
        "|---|---|",
        "| `datapackage.json` | Frictionless Data Package v2: bilingual field titles, keys, sizes and SHA-256 |",
        "| `<table>.csv` | UTF-8 CSV, dates `YYYY-MM-DD`, empty cell = missing |",
        f"| `{EXCEL_FOLDER}/<table>.csv` | the same CSVs with a byte-order mark, so Excel shows the Chinese text |",
        "| `parquet/<table>.parquet` | the same tables with their types |",
        f"| `{DUCKDB_FILE}` | every table with keys and comments, plus views "
        + ", ".join(f"`{v}` ({VIEW_COMMENTS[v]})" for v in VIEWS)
        + "; DuckDB stamps a random id into the file, so its bytes differ between builds while its rows do not |",
        f"| `{DOCS_FOLDER}/` | Great Expectations data docs (static HTML) |",
        "| `CHANGELOG.md` | notices and rows added, removed and changed against the previous release |",
        "| `CITATION.cff` | how to cite this version |",
        "| `SHA256SUMS` | checksums of the files above (`sha256sum -c SHA256SUMS`) |",
        "",
        "## Data dictionary · 数据字典",
        "",
    ]
    for name, spec in TABLES.items():
        lines += [*data_dictionary(spec, frames[name].height), ""]
    lines += ["## Known limitations · 已知局限", "", *limitations(frames), ""]
    lines += [
        "## How to cite · 引用",
        "",
        f"{authors} ({created[:4]}). *{TITLE_EN} / {TITLE_ZH}*, version {version}. "
        f"Dataset, {LICENSE['name']}. See `CITATION.cff`.",
        "",
        "## Recipes · 用法",
        "",
        *recipes(version),
    ]
    return "\n".join(lines) + "\n"
