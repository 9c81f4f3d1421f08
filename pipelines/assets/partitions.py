"""Partitions and per-run helpers shared by the asset modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import dagster as dg
from dagster import AssetExecutionContext

# One dynamic partition per notice file; the sensor adds and removes keys.
notice_partitions = dg.DynamicPartitionsDefinition(name="notices")

T = TypeVar("T")
U = TypeVar("U")


def per_partition(context: AssetExecutionContext, upstream: Any, fn: Callable[[str, T], U]) -> Any:
    """Apply ``fn`` to each partition of a run that may cover one or many.

    A single-run backfill hands the asset every partition at once: inputs
    arrive as ``{key: value}`` and the IO manager expects the same shape back.
    """
    keys = context.partition_keys
    if len(keys) == 1:
        value = upstream[keys[0]] if isinstance(upstream, Mapping) and keys[0] in upstream else upstream
        return fn(keys[0], value)
    return {key: fn(key, upstream[key] if upstream is not None else None) for key in keys}
