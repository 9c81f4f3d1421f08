"""The parser's rows are tuples in the order of each table's model; old stored notices still load."""

from __future__ import annotations

import pickle

import pytest

from pipelines import combine
from pipelines.parse.notice import COLUMNS, ParsedNotice
from schemas.tables import polars_schema


def test_row_order_is_the_models_column_order():
    for table, names in COLUMNS.items():
        assert names == tuple(polars_schema(table)), table


def test_every_row_has_one_value_per_column(samples):
    for prefix, outcome in samples.items():
        assert outcome.parsed is not None, prefix
        assert set(outcome.parsed.rows) == set(COLUMNS)
        for table, rows in outcome.parsed.rows.items():
            assert all(isinstance(r, tuple) and len(r) == len(COLUMNS[table]) for r in rows), (prefix, table)


def test_records_name_each_value(samples):
    parsed = samples["000"].parsed
    tasks = parsed.records("tasks")
    assert len(tasks) == len(parsed.rows["tasks"]) > 0
    first = tasks[0]
    assert tuple(first) == COLUMNS["tasks"]
    assert first["task_id"].startswith(parsed.notice_id + ":t")
    assert first["notice_id"] == parsed.notice_id
    assert parsed.warnings == [w["message"] for w in parsed.records("warnings")]


def test_a_notice_stored_with_dict_rows_loads_as_tuples(samples):
    # What the per-partition store holds from before rows were tuples: the same
    # notice with each row a dict keyed by column. Read back, it is today's notice.
    parsed = samples["001"].parsed
    old = ParsedNotice(parsed.notice_id, {table: parsed.records(table) for table in parsed.rows})
    assert isinstance(old.rows["tasks"][0], dict)
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.rows == parsed.rows
    assert pickle.loads(pickle.dumps(parsed)).rows == parsed.rows


def test_frames_refuse_rows_in_another_order(monkeypatch, samples):
    swapped = dict(COLUMNS)
    swapped["assignments"] = ("clause_no", "task_id", *COLUMNS["assignments"][2:])
    monkeypatch.setattr(combine, "COLUMNS", swapped)
    combine._checked_schema.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="assignments"):
            combine.frame("assignments", samples["000"].parsed.rows["assignments"])
    finally:
        monkeypatch.undo()
        combine._checked_schema.cache_clear()
    assert combine.frame("assignments", samples["000"].parsed.rows["assignments"]).height > 0
