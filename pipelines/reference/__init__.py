"""Reviewed reference data shipped with the pipeline (regions, unit aliases)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources


@cache
def load_csv(name: str) -> tuple[dict[str, str], ...]:
    """Rows of a reference CSV in this package, as dicts (cached, read once)."""
    with resources.files(__package__).joinpath(name).open(encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))
