"""Helpers to declare a column once, with its Chinese and English titles.

Every published column is declared through :func:`field`, which returns a
Pandera ``Field`` carrying the bilingual titles and descriptions in its
metadata. The Frictionless table schemas, the data dictionary and the Great
Expectations suites all read them back from the Pandera models.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import cached_property
from typing import Any

import pandera.polars as pa


def field(
    title_zh: str,
    title_en: str,
    description_zh: str,
    description_en: str,
    **checks: Any,
) -> Any:
    """A Pandera field with bilingual documentation in its metadata."""
    return pa.Field(
        title=title_en,
        description=description_en,
        metadata={
            "title_zh": title_zh,
            "title_en": title_en,
            "description_zh": description_zh,
            "description_en": description_en,
        },
        **checks,
    )


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key from ``fields`` of this table to ``ref_fields`` of ``ref_table``."""

    fields: tuple[str, ...]
    ref_table: str
    ref_fields: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    """One published table: its Pandera model and the facts a model cannot hold."""

    name: str
    model: type[pa.DataFrameModel]
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = dc_field(default=())

    @cached_property  # building a schema from the model is slow, and every check reads it
    def schema(self) -> pa.DataFrameSchema:
        return self.model.to_schema()

    @property
    def columns(self) -> list[str]:
        return list(self.schema.columns)
