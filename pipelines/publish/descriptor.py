"""Frictionless descriptors derived from the Pandera models (never typed twice)."""

from __future__ import annotations

from typing import Any

from schemas.fields import TableSpec

DATASET = "policy-tasks"
TITLE_ZH = "政策任务分工数据集"
TITLE_EN = "Policy task assignments from Chinese government notices"
DESCRIPTION_ZH = "从地方政府任务分工通知中自动抽取的任务、牵头和责任单位、量化目标等表格。"
DESCRIPTION_EN = (
    "Tasks, lead and responsible units, and quantitative targets extracted automatically "
    "from Chinese government notices that divide a plan into numbered tasks."
)
LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0",
}
KEYWORDS = ["China", "policy", "government notices", "task division", "政策", "任务分工", "牵头单位"]
CONTRIBUTORS = [{"title": "policy-tasks pipeline maintainers", "roles": ["creator"]}]

# How every table's CSV is written (``release.csv_bytes`` reads these) and declared
# in its resource, so readers need not sniff it: Frictionless then reads a file,
# or the delta of one, with this dialect whatever its first lines look like.
CSV_DIALECT = {
    "header": True,
    "delimiter": ",",
    "lineTerminator": "\n",
    "quoteChar": '"',
    "doubleQuote": True,
    "skipInitialSpace": False,
}

_TYPES = {
    "String": "string",
    "Int64": "integer",
    "Int32": "integer",
    "Float64": "number",
    "Boolean": "boolean",
    "Date": "date",
}


def field_descriptor(name: str, column: Any) -> dict[str, Any]:
    """A Table Schema field from one Pandera column: type, titles, constraints."""
    meta = column.metadata or {}
    out: dict[str, Any] = {
        "name": name,
        "type": _TYPES[str(column.dtype)],
        "title": meta.get("title_en", name),
        "description": meta.get("description_en", ""),
        "title_en": meta.get("title_en", name),
        "title_zh": meta.get("title_zh", ""),
        "description_en": meta.get("description_en", ""),
        "description_zh": meta.get("description_zh", ""),
    }
    constraints: dict[str, Any] = {}
    if not column.nullable:
        constraints["required"] = True
    if column.unique:
        constraints["unique"] = True
    for check in column.checks:
        stats = check.statistics or {}
        if "allowed_values" in stats:
            constraints["enum"] = list(stats["allowed_values"])
        elif "pattern" in stats:
            constraints["pattern"] = str(stats["pattern"])
        elif "min_value" in stats:
            constraints["minimum"] = stats["min_value"]
        elif "max_value" in stats:
            constraints["maximum"] = stats["max_value"]
    if constraints:
        out["constraints"] = constraints
    return out


def table_schema(spec: TableSpec) -> dict[str, Any]:
    """A Frictionless Table Schema for one table."""
    schema = spec.schema
    out: dict[str, Any] = {
        "fields": [field_descriptor(name, col) for name, col in schema.columns.items()],
        "primaryKey": list(spec.primary_key),
        "missingValues": [""],
    }
    if spec.foreign_keys:
        out["foreignKeys"] = [
            {
                "fields": list(fk.fields),
                "reference": {
                    "resource": "" if fk.ref_table == spec.name else fk.ref_table,
                    "fields": list(fk.ref_fields),
                },
            }
            for fk in spec.foreign_keys
        ]
    return out


def resource_descriptor(spec: TableSpec, path: str, n_bytes: int, sha256: str, rows: int) -> dict[str, Any]:
    """A tabular data resource for one CSV file of the release."""
    return {
        "name": spec.name,
        "type": "table",
        "path": path,
        "scheme": "file",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": CSV_DIALECT,
        "title": f"{spec.title_en} ({spec.title_zh})",
        "description": f"{spec.description_en} / {spec.description_zh}",
        "title_en": spec.title_en,
        "title_zh": spec.title_zh,
        "description_en": spec.description_en,
        "description_zh": spec.description_zh,
        "bytes": n_bytes,
        "hash": f"sha256:{sha256}",
        "sha256": sha256,
        "rows": rows,
        "schema": table_schema(spec),
    }


def package_descriptor(
    version: str,
    created: str,
    resources: list[dict[str, Any]],
    sources: list[dict[str, Any]],
) -> dict[str, Any]:
    """The datapackage.json of a release (Data Package v2)."""
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": DATASET,
        "title": f"{TITLE_EN} / {TITLE_ZH}",
        "title_en": TITLE_EN,
        "title_zh": TITLE_ZH,
        "description": f"{DESCRIPTION_EN}\n\n{DESCRIPTION_ZH}",
        "description_en": DESCRIPTION_EN,
        "description_zh": DESCRIPTION_ZH,
        "version": version,
        "created": created,
        "licenses": [LICENSE],
        "keywords": KEYWORDS,
        "contributors": CONTRIBUTORS,
        "sources": sources,
        "resources": resources,
    }
