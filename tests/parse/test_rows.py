"""The parser's rows are tuples in the order of each table's model; old stored notices still combine."""

from __future__ import annotations

import pickle
from dataclasses import replace

from polars.testing import assert_frame_equal

from pipelines.combine import as_tuples, frame, records
from pipelines.parse.notice import ParsedNotice
from pipelines.table_store import ROW_TABLES, notice_rows
from schemas.tables import TABLES, polars_schema


def test_every_row_has_one_value_per_model_column(samples):
    for prefix, outcome in samples.items():
        assert outcome.parsed is not None, prefix
        assert set(outcome.parsed.rows) == set(ROW_TABLES)
        for table, rows in outcome.parsed.rows.items():
            width = len(polars_schema(table))
            assert all(isinstance(r, tuple) and len(r) == width for r in rows), (prefix, table)


def test_each_value_lands_in_its_models_column(samples):
    # The models check ids, roles, levels and types: a value in the wrong place fails them.
    for prefix, outcome in samples.items():
        for table, rows in outcome.parsed.rows.items():
            if rows and table in TABLES:
                TABLES[table].model.validate(frame(table, rows), lazy=True)
        tasks = records(outcome.parsed, "tasks")
        assert [t["position"] for t in tasks] == list(range(len(tasks)))
        assert all(t["task_id"].startswith(outcome.parsed.notice_id + ":t") for t in tasks), prefix


def test_records_name_each_value(samples):
    parsed = samples["000"].parsed
    tasks = records(parsed, "tasks")
    assert len(tasks) == len(parsed.rows["tasks"]) > 0
    assert tuple(tasks[0]) == tuple(polars_schema("tasks"))
    assert tasks[0]["notice_id"] == parsed.notice_id
    assert parsed.warnings == [w["message"] for w in records(parsed, "warnings")]


def test_a_notice_stored_with_dict_rows_combines_beside_new_ones(samples):
    # What the per-partition store holds from before rows were tuples: each row a
    # dict keyed by column. Combined with notices parsed now, the tables are the same.
    old = samples["001"].parsed
    stored = pickle.loads(pickle.dumps(ParsedNotice(old.notice_id, {t: records(old, t) for t in old.rows})))
    assert isinstance(stored.rows["tasks"][0], dict)
    assert as_tuples("tasks", stored.rows["tasks"]) == old.rows["tasks"]
    now = {"000": samples["000"], "001": samples["001"]}
    mixed = {"000": samples["000"], "001": replace(samples["001"], parsed=stored)}
    index, rows = notice_rows(now)
    index_mixed, rows_mixed = notice_rows(mixed)
    assert_frame_equal(index, index_mixed)
    for table in ROW_TABLES:
        assert_frame_equal(rows[table], rows_mixed[table])
