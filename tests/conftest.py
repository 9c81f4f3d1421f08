"""Shared fixtures: the sample notices of raw/, parsed once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.combine import records
from pipelines.ingest.read import read_notice
from pipelines.stages import ParsedOutcome, clean_stage, parse_stage

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "raw"
SAMPLES = {p.name[:3]: p for p in sorted(RAW.glob("*.txt"))}


@pytest.fixture(scope="session")
def samples() -> dict[str, ParsedOutcome]:
    """Every sample notice through ingest, clean and parse, keyed '000'…'004'."""
    return {prefix: parse_stage(clean_stage(read_notice(path))) for prefix, path in SAMPLES.items()}


def rows(samples: dict[str, ParsedOutcome], prefix: str, table: str) -> list[dict]:
    outcome = samples[prefix]
    assert outcome.parsed is not None, outcome.rejection
    return records(outcome.parsed, table)


@pytest.fixture(autouse=True)
def _fresh_encoding_memo():
    """Each test encodes its own tables: the release's in-process memo of the last encoding starts empty
    (a test that swaps the CSV writer must see it called)."""
    from pipelines.publish import release

    release._last_encoded = None
    release._ahead = None  # nor content prepared ahead by an earlier test's tables step
    yield
    release._last_encoded = None
    release._ahead = None


@pytest.fixture(autouse=True)
def _no_dagster_instance_left_current():
    """Each test starts outside any Dagster instance's context.

    Entering an instance (``with instance:``) makes its definitions-state
    storage the current one, in a context variable; one left current by an
    earlier test outlives its instance (the storage holds only a weak
    reference), and loading definitions then failed with "Attempted to
    resolve undefined DagsterInstance weakref" depending on when the garbage
    collector had run. A test that needs an instance's context enters it.
    """
    from dagster._core.storage.defs_state.base import set_defs_state_storage

    with set_defs_state_storage(None):
        yield
