"""Pure functions of the publish step, on small frames (no Dagster, no GX run)."""

import copy
import datetime as dt

import duckdb
import polars as pl
import pytest

from pipelines.publish.changelog import changelog_markdown, diff_table, history_lines
from pipelines.publish.descriptor import package_descriptor, resource_descriptor
from pipelines.publish.drift import drift
from pipelines.publish.duckdb_export import create_table_sql, insert_batches, load_order
from pipelines.publish.excel import BOM, excel_csv_bytes
from pipelines.publish.expectations import make_docs_reproducible
from pipelines.publish.gate import foreign_key_failures, table_failures
from pipelines.publish.release import created_timestamp, csv_bytes
from schemas.tables import TABLES, empty_frame


def _package() -> dict:
    resources = [resource_descriptor(spec, f"{name}.csv", 0, "0" * 64, 0) for name, spec in TABLES.items()]
    return package_descriptor("2024.01.01-00000000", "2024-01-01T00:00:00Z", resources, [])


def test_excel_csv_has_exactly_one_bom_and_decodes_in_chinese():
    data = csv_bytes(pl.DataFrame({"unit": ["省发展改革委"]}))
    excel = excel_csv_bytes(data)
    assert excel.startswith(BOM) and not excel[3:].startswith(BOM)
    assert excel_csv_bytes(excel) == excel
    assert excel.decode("utf-8-sig") == data.decode("utf-8")
    assert "省发展改革委" in excel.decode("utf-8-sig")


def test_package_built_from_the_models_shows_no_drift():
    assert drift(_package()) == []


def test_drift_is_caught_when_package_and_model_disagree():
    package = _package()
    tampered = copy.deepcopy(package)
    fields = tampered["resources"][0]["schema"]["fields"]
    fields[0]["title_zh"] = "别的名字"
    fields.pop()
    problems = drift(tampered)
    first = next(iter(TABLES))
    assert any(f"{first}.{fields[0]['name']}: title_zh" in p for p in problems)
    assert any(p.startswith(f"{first}: columns") for p in problems)
    tampered = copy.deepcopy(package)
    tampered["resources"].pop()
    assert any("only in the models" in p for p in drift(tampered))


def test_duckdb_tables_are_created_before_the_tables_that_refer_to_them():
    order = load_order()
    assert set(order) == set(TABLES)
    for name, spec in TABLES.items():
        for fk in spec.foreign_keys:
            assert order.index(fk.ref_table) <= order.index(name)
    sql = create_table_sql(TABLES["assignments"])
    assert 'PRIMARY KEY ("task_id", "clause_no", "unit_raw", "role")' in sql
    assert 'REFERENCES "tasks"' in sql and "CHECK" in sql


def test_self_referencing_rows_are_inserted_parents_first():
    spec = TABLES["sections"]
    rows = pl.DataFrame(
        {"section_id": ["n:s3", "n:s2", "n:s1"], "parent_section_id": ["n:s2", "n:s1", None], "level": [3, 2, 1]}
    )
    df = pl.concat([empty_frame("sections"), rows], how="diagonal_relaxed")
    batches = insert_batches(spec, df)
    assert [b.get_column("section_id").to_list() for b in batches] == [["n:s1"], ["n:s2"], ["n:s3"]]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE sections (section_id VARCHAR PRIMARY KEY, parent_section_id VARCHAR REFERENCES sections (section_id))"
    )
    for b in batches:
        arrow = b.select("section_id", "parent_section_id").to_arrow()  # noqa: F841
        con.execute("INSERT INTO sections SELECT * FROM arrow")
    assert con.execute("SELECT count(*) FROM sections").fetchone()[0] == 3


def test_dangling_foreign_key_names_table_rows_and_reason():
    frames = {name: empty_frame(name) for name in TABLES}
    frames["glossary"] = pl.DataFrame({"notice_id": ["ghost"], "term": ["“四上”单位"], "definition": ["规模以上企业"]})
    failures = foreign_key_failures("glossary", frames)
    assert len(failures) == 1
    text = failures[0].describe()
    assert "glossary" in text and "notice_id → notices.notice_id" in text and "term=“四上”单位" in text
    assert table_failures(frames)  # the whole gate says no as well


def test_a_missing_table_blocks():
    frames = {name: empty_frame(name) for name in TABLES if name != "rejects"}
    assert [f.table for f in table_failures(frames)] == ["rejects"]


def test_changelog_counts_rows_added_removed_and_changed_by_key():
    old = pl.DataFrame({"notice_id": ["a", "a", "b"], "term": ["x", "y", "z"], "definition": ["1", "2", "3"]})
    new = pl.DataFrame({"notice_id": ["a", "a", "c"], "term": ["x", "y", "w"], "definition": ["1", "CHANGED", "4"]})
    d = diff_table("glossary", old, new)
    assert d.added == [{"notice_id": "c", "term": "w"}]
    assert d.removed == [{"notice_id": "b", "term": "z"}]
    assert d.changed == [{"notice_id": "a", "term": "y"}]


def test_changelog_reports_changed_notice_by_content_hash_and_keeps_history():
    frames = {name: empty_frame(name) for name in TABLES}
    notice = {"notice_id": "n1", "title": "某通知", "raw_sha256": "a" * 64}
    old = {"notices": pl.DataFrame([notice])}
    frames["notices"] = pl.DataFrame([{**notice, "raw_sha256": "b" * 64}])
    first = changelog_markdown("v1", "2024-01-01T00:00:00Z", {**frames, "notices": old["notices"]}, None, {})
    text = changelog_markdown("v2", "2024-01-02T00:00:00Z", frames, "v1", old, first)
    assert "Compared with the previous release `v1`" in text
    assert "- changed: 1" in text and "`n1` 某通知" in text
    assert [line.split("`")[1] for line in history_lines(text)] == ["v2", "v1"]


def test_created_comes_from_source_date_epoch_or_the_newest_notice(monkeypatch):
    notices = pl.DataFrame({"published_date": [dt.date(2023, 1, 17), dt.date(2024, 1, 31)]})
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert created_timestamp(notices) == "2024-01-31T00:00:00Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert created_timestamp(notices) == "2023-11-14T22:13:20Z"


def test_data_docs_lose_wall_clock_stamps_and_random_ids(tmp_path):
    page = tmp_path / "index.html"
    html = (
        '<img src="logo.png?d=20261123T071803.190773Z"><a href="#b-8bff0436-5509-4ad4-a008-54a5fd4ae382">'
        '</a><div id="b-8bff0436-5509-4ad4-a008-54a5fd4ae382"></div>'
    )
    page.write_text(html, encoding="utf-8")
    make_docs_reproducible(tmp_path)
    out = page.read_text(encoding="utf-8")
    assert "?d=" not in out and "8bff0436" not in out
    assert out.count("00000000-0000-0000-0000-000000000001") == 2  # the link still matches its target


@pytest.mark.parametrize("table", list(TABLES))
def test_every_field_has_chinese_and_english_titles_and_descriptions(table):
    for field in _package()["resources"][list(TABLES).index(table)]["schema"]["fields"]:
        assert field["title_zh"] and field["title_en"] and field["description_en"] and field["description_zh"]


def _targets(values: list[float]) -> dict[str, pl.DataFrame]:
    n = len(values)
    return {
        "targets": pl.DataFrame(
            {
                "target_id": [f"n:t001:{i}" for i in range(n)],
                "task_id": ["n:t001"] * n,
                "section_id": ["n:s001"] * n,
                "metric": ["地区生产总值增长"] * n,
                "value": values,
                "value_max": [None] * n,
                "unit": ["%"] * n,
                "qualifier": ["左右"] * n,
                "year": [2024] * n,
                "span": ["增长6%左右"] * n,
                "span_start": list(range(n)),
            },
            schema=empty_frame("targets").schema,
        )
    }


def _docs_bytes(docs) -> dict[str, bytes]:
    return {str(p.relative_to(docs)): p.read_bytes() for p in sorted(docs.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("values", [[6.0, 7.5], [6.0, -1.0, -2.0]], ids=["passing", "failing"])
def test_gx_gives_the_same_outcomes_and_docs_with_its_shortcuts(tmp_path, monkeypatch, values):
    import contextlib

    from great_expectations.expectations.expectation import Expectation
    from great_expectations.render.view.view import DefaultJinjaView

    from pipelines.publish import expectations as gx_mod

    before = Expectation.__dict__["configuration"], DefaultJinjaView.__dict__["__init__"]
    fast = gx_mod.validate_tables(_targets(values), tables=["targets"], docs_dir=tmp_path / "fast")
    assert (Expectation.__dict__["configuration"], DefaultJinjaView.__dict__["__init__"]) == before  # undone
    monkeypatch.setattr(gx_mod, "configurations_built_once", contextlib.nullcontext)
    monkeypatch.setattr(gx_mod, "templates_compiled_once", contextlib.nullcontext)
    monkeypatch.setattr(gx_mod, "unsaved_configuration", lambda context: context)
    plain = gx_mod.validate_tables(_targets(values), tables=["targets"], docs_dir=tmp_path / "plain")
    assert fast == plain
    assert _docs_bytes(tmp_path / "fast") == _docs_bytes(tmp_path / "plain")
    if values[-1] < 0:  # the failing rows by key, from the second (COMPLETE) run
        (failure,) = fast["targets"].failures
        assert failure.n_rows == 2 and [k["target_id"] for k in failure.keys] == ["n:t001:1", "n:t001:2"]


def test_configurations_built_once_only_in_its_thread_and_until_it_ends():
    import threading

    import great_expectations.expectations as gxe

    from pipelines.publish.gx_shortcuts import configurations_built_once

    expectation = gxe.ExpectColumnValuesToNotBeNull(column="task_id")
    assert expectation.configuration is not expectation.configuration  # GX builds one per access
    elsewhere = []
    with configurations_built_once():
        first = expectation.configuration
        assert expectation.configuration is first
        thread = threading.Thread(target=lambda: elsewhere.append(expectation.configuration))
        thread.start()
        thread.join()
        assert elsewhere[0] is not first and elsewhere[0] == first
    assert expectation.configuration is not first


def test_data_docs_compile_each_gx_template_once(tmp_path, monkeypatch):
    import contextlib

    import jinja2

    from pipelines.publish import expectations as gx_mod
    from pipelines.publish import gx_shortcuts

    compiled: list[str] = []
    compile_ = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):
        compiled.append(name)
        return compile_(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    monkeypatch.setattr(gx_shortcuts, "_TEMPLATES", gx_shortcuts._CompiledTemplates())  # nothing cached yet
    gx_mod.validate_tables(_targets([6.0]), tables=["targets"], docs_dir=tmp_path / "once")
    assert compiled and len(compiled) == len(set(compiled))
    gx_mod.validate_tables(_targets([6.0]), tables=["targets"], docs_dir=tmp_path / "again")
    assert len(compiled) == len(set(compiled))  # the next build compiles none again
    # Without the shortcut GX compiles the same templates over and over.
    compiled.clear()
    monkeypatch.setattr(gx_mod, "templates_compiled_once", contextlib.nullcontext)
    gx_mod.validate_tables(_targets([6.0]), tables=["targets"], docs_dir=tmp_path / "plain")
    assert len(compiled) > len(set(compiled))


def test_an_ephemeral_gx_context_does_not_serialise_its_configuration(monkeypatch):
    import great_expectations as gx
    from great_expectations.data_context.data_context_variables import DataContextVariables

    from pipelines.publish.gx_shortcuts import unsaved_configuration

    saves = []
    monkeypatch.setattr(DataContextVariables, "save", lambda self: saves.append(self))
    plain = gx.get_context(mode="ephemeral")
    plain.data_sources.add_pandas("tables").add_dataframe_asset("t")
    assert saves  # GX saves on every change
    saves.clear()
    context = unsaved_configuration(gx.get_context(mode="ephemeral"))
    context.data_sources.add_pandas("tables").add_dataframe_asset("t")
    assert saves == [] and list(context.data_sources.all()) == ["tables"]
    other = object()
    assert unsaved_configuration(other) is other


def test_the_delta_of_a_table_is_its_new_and_changed_rows_and_the_keys_that_went():
    """A composite key, one part null: unchanged, changed, removed and added rows, read off by hand."""
    from pipelines.publish.delta import table_delta

    def rows(*items: tuple) -> pl.DataFrame:
        return pl.DataFrame(items, schema=empty_frame("assignments").schema, orient="row")

    kept = ("n:t001", 1, "省财政厅", "u1", "support", None, "(省财政厅负责)")
    led_before = ("n:t002", 1, "省发展改革委", "u2", "lead", None, "(省发展改革委牵头)")
    led_after = ("n:t002", 1, "省发展改革委", "u2", "lead", "2025年底前", "(省发展改革委牵头,2025年底前)")
    removed = ("n:t003", None, "市政府", None, "lead", None, "(市政府负责)")
    added = ("n:t004", 2, "省教育厅", "u3", "lead", None, "(省教育厅牵头)")
    delta = table_delta("assignments", rows(kept, led_after, added), rows(kept, led_before, removed))
    assert delta.new_rows.rows() == [led_after, added]
    assert delta.gone_keys.rows() == [("n:t003", None, "市政府", "lead")]
    assert delta.base_rows == 3
    assert table_delta("assignments", rows(kept, removed), rows(kept, removed)).empty
