"""Schema drift: does a written datapackage.json still say what the Pandera models say?"""

from __future__ import annotations

from typing import Any

from pipelines.publish.descriptor import field_descriptor
from schemas.tables import TABLES

# What a user of the package relies on per field; the rest is presentation.
FIELD_FACTS = ("name", "type", "title_en", "title_zh", "description_en", "description_zh", "constraints")


def drift(package: dict[str, Any]) -> list[str]:
    """Differences between a package descriptor and the models (empty when they agree)."""
    problems: list[str] = []
    resources = {r.get("name"): r for r in package.get("resources", [])}
    for name in sorted(set(resources) ^ set(TABLES)):
        where = "package" if name in resources else "models"
        problems.append(f"table {name} only in the {where}")
    for name, spec in TABLES.items():
        schema = resources.get(name, {}).get("schema")
        if schema is None:
            continue
        published = {f["name"]: f for f in schema.get("fields", [])}
        if list(published) != spec.columns:
            problems.append(f"{name}: columns {list(published)} != model {spec.columns}")
        for col_name, column in spec.schema.columns.items():
            want = field_descriptor(col_name, column)
            got = published.get(col_name, {})
            for fact in FIELD_FACTS:
                if got and got.get(fact) != want.get(fact):
                    problems.append(f"{name}.{col_name}: {fact} {got.get(fact)!r} != model {want.get(fact)!r}")
        if schema.get("primaryKey") != list(spec.primary_key):
            problems.append(f"{name}: primaryKey {schema.get('primaryKey')} != {list(spec.primary_key)}")
        fks = [(tuple(fk["fields"]), fk["reference"]["resource"] or name) for fk in schema.get("foreignKeys", [])]
        want_fks = [(fk.fields, fk.ref_table) for fk in spec.foreign_keys]
        if fks != want_fks:
            problems.append(f"{name}: foreignKeys {fks} != {want_fks}")
    return problems
