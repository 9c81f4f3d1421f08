"""A refresh costs what changed: GX once per build, Frictionless on the rows new since ``latest``.

What a release guarantees does not change: every published package passes a
full ``frictionless validate``, and a broken row stops the publish with table,
row and reason, whether the rows were validated in full or as a delta.
"""

import hashlib
import json
import os
import random
import re
import shutil
import sys
import time

import dagster as dg
import frictionless
import polars as pl
import pytest

from pipelines.assets.release import gx_records_dir
from pipelines.publish import package_check, release_files
from pipelines.publish import release as release_mod
from pipelines.publish.delta import release_sums
from pipelines.publish.package_check import FULL_VALIDATION_ENV, check_package, csv_records, key_failures, table_delta
from pipelines.publish.release import ReleaseBlocked, record_expectations, release_content, write_release
from pipelines.table_store import combine
from schemas.tables import TABLES
from tests.conftest import RAW

DATASET = "policy-tasks"


@pytest.fixture(scope="module")
def base_frames(samples) -> dict[str, pl.DataFrame]:
    return combine({outcome.raw.notice_id: outcome for outcome in samples.values()})


@pytest.fixture
def frames(base_frames) -> dict[str, pl.DataFrame]:
    return dict(base_frames)


@pytest.fixture(scope="module")
def first_release(base_frames, tmp_path_factory):
    """A first release (validated in full: there is nothing to compare with)."""
    out = tmp_path_factory.mktemp("incremental") / "published"
    release = write_release(base_frames, out, expectations=False)
    assert release.frictionless == "full: every row"
    return out


@pytest.fixture
def published(first_release, tmp_path):
    out = tmp_path / "published"
    shutil.copytree(first_release, out, symlinks=True)
    return out


def _late_task(frames: dict[str, pl.DataFrame]) -> tuple[int, str]:
    """A task far enough down the file to be outside the lines the CSV dialect is sniffed from."""
    idx = frames["tasks"].height - 3
    assert idx > package_check.SNIFF_LINES
    return idx, frames["tasks"].get_column("task_id")[idx]


def _rewrite(frames: dict[str, pl.DataFrame], task_id: str, text: str) -> dict[str, pl.DataFrame]:
    tasks = frames["tasks"].with_columns(
        text=pl.when(pl.col("task_id") == task_id).then(pl.lit(text)).otherwise("text")
    )
    return {**frames, "tasks": tasks}


def _state(published):
    ds = published / DATASET
    return (ds / "latest").resolve(), sorted(p.name for p in ds.iterdir())


def test_csv_records_keep_quoted_line_breaks_and_quotes():
    df = pl.DataFrame({"a": ["x", 'say "hi"\nthen go', "", None], "b": [1, 2, 3, 4]})
    data = release_mod.csv_bytes(df)
    records = csv_records(data)
    assert len(records) == df.height + 1 and b"".join(records) == data
    assert records[2].count(b"\n") == 2  # the quoted line break stays inside its record


def test_delta_keeps_the_sniffing_lines_and_the_new_records_only():
    df = pl.DataFrame({"k": [f"row{i}" for i in range(300)]})
    old = release_mod.csv_bytes(df)
    new = release_mod.csv_bytes(df.with_columns(k=pl.when(pl.col("k") == "row250").then(pl.lit("new")).otherwise("k")))
    for old_rows in (300, None):  # the shared head and tail unsplit, or both files split in full
        delta = table_delta(new, old, old_rows=old_rows)
        assert delta.reason == "delta" and delta.rows == 300
        # header + 99 rows (the dialect-sniffing lines), then the new row
        assert delta.positions(new) == [*range(package_check.SNIFF_LINES), 251]
        assert delta.data.endswith(b"new\n")
    assert table_delta(new, None).positions(new) == list(range(301))  # no previous release: everything


def _random_table(rng: random.Random, n: int) -> list[str]:
    pieces = ["a", "任务", ",", '"', "\n", "x y", "牵头", "\r", ""]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) for _ in range(n)]


@pytest.mark.parametrize("seed", range(40))
def test_every_record_outside_the_delta_is_a_record_of_the_previous_file(seed):
    """Random fields with quotes and line breaks; rows inserted, removed and changed anywhere."""
    rng = random.Random(seed)
    values = _random_table(rng, rng.randint(0, 400))
    edited = list(values)
    for _ in range(rng.randint(0, 5)):
        i = rng.randint(0, len(edited))
        action = rng.choice(["insert", "delete", "change"])
        if action == "insert" or not edited:
            edited[i:i] = _random_table(rng, rng.randint(1, 30))
        elif action == "delete":
            del edited[i : i + rng.randint(1, 30)]
        else:
            edited[min(i, len(edited) - 1)] = "改" + edited[min(i, len(edited) - 1)]
    frame = lambda v: pl.DataFrame({"k": v, "n": list(range(len(v)))}, schema={"k": pl.String, "n": pl.Int64})  # noqa: E731
    old, new = release_mod.csv_bytes(frame(values)), release_mod.csv_bytes(frame(edited))
    old_records = set(csv_records(old))
    records = csv_records(new)
    assert b"".join(records) == new and len(records) == len(edited) + 1
    for old_rows in (len(values), None):
        delta = table_delta(new, old, old_rows=old_rows)
        assert delta.reason == "delta" and delta.rows == len(edited)
        positions = delta.positions(new)
        assert positions == sorted(set(positions)) and min(positions) == 0
        assert b"".join(records[i] for i in positions) == delta.data
        head = 0
        while head < len(records) and sum(r.count(b"\n") for r in records[:head]) < package_check.SNIFF_LINES:
            head += 1
        assert positions[:head] == list(range(head))  # the sniffing sample is the table's own
        skipped = set(range(len(records))) - set(positions)
        assert all(records[i] in old_records for i in skipped)


@pytest.mark.parametrize("seed", range(10))
def test_quotes_counted_in_chunks_find_the_same_records(seed, monkeypatch):
    """The quote count that finds record boundaries, in NumPy chunks of 16 bytes: the same deltas."""
    monkeypatch.setattr(package_check, "_COUNT_CHUNK", 16)
    data = release_mod.csv_bytes(pl.DataFrame({"k": _random_table(random.Random(seed), 200)}))
    for start, end in ((0, len(data)), (5, len(data) - 3), (17, 17), (3, 40)):
        assert package_check._count_quotes(data, start, end) == data.count(b'"', start, end)
    test_every_record_outside_the_delta_is_a_record_of_the_previous_file(seed)


def test_the_dialect_is_sniffed_as_frictionless_sniffs_it(first_release, tmp_path):
    from frictionless.formats.csv.control import CsvControl

    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_bytes(b"a;b\n" + b"".join(f"{i};x,y\n".encode() for i in range(150)))
    for path in [*sorted((first_release / DATASET / "latest").glob("*.csv")), semicolons]:
        resource = frictionless.Resource(path=path.name, basepath=str(path.parent), format="csv", encoding="utf-8")
        with resource:
            d = CsvControl.from_dialect(resource.dialect).to_python()
        assert package_check.sniffed_dialect(path.read_bytes()) == (
            d.delimiter,
            d.quotechar,
            d.escapechar,
            d.skipinitialspace,
        ), path.name
    assert package_check.sniffed_dialect(semicolons.read_bytes())[0] == ";"


def test_each_table_declares_the_dialect_it_is_written_in(first_release):
    """A reader (Frictionless, or a researcher's own CSV reader) need not guess how a file is quoted."""
    from frictionless.formats.csv.control import CsvControl

    latest = first_release / DATASET / "latest"
    package = frictionless.Package(str(latest / "datapackage.json"))
    for resource in package.resources:
        control = CsvControl.from_dialect(resource.dialect)
        assert (control.delimiter, control.quote_char, control.double_quote) == (",", '"', True)
        assert resource.dialect.header is True
        data = (latest / resource.path).read_bytes()
        assert data.startswith(",".join(TABLES[resource.name].columns).encode() + b"\n")
        assert b"\r\n" not in data  # the declared line terminator


def test_a_refresh_between_releases_that_declare_the_dialect_sniffs_nothing(published, frames, monkeypatch):
    """New rows at the top of a table change the lines a sniffer would read; the declared dialect stands."""
    tasks = frames["tasks"]
    first = tasks.get_column("task_id")[0]
    frames = _rewrite(frames, first, "改写的第一条任务,含逗号和“引号”")

    def no_sniffing(data):
        raise AssertionError("sniffed although both releases declare their dialect")

    monkeypatch.setattr(package_check, "sniffed_dialect", no_sniffing)
    release = write_release(frames, published, expectations=False)
    assert release.frictionless.startswith("delta: ")
    report = frictionless.validate(str(release.path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldNumber", "type", "note"])


def test_a_release_without_a_declared_dialect_is_compared_by_sniffing(frames):
    from pipelines.publish.descriptor import CSV_DIALECT

    new = release_mod.csv_bytes(frames["tasks"])
    semicolons = b"a;b\n" + b"".join(f"{i};x,y\n".encode() for i in range(150))
    declared = {"dialect": CSV_DIALECT}
    assert package_check.same_dialect(new, new, declared, {})  # the old file sniffs as declared
    assert not package_check.same_dialect(new, semicolons, declared, {})


def test_declared_dialects_are_compared_whole_even_for_identical_bytes(frames):
    """Frictionless reads the same bytes differently under two declarations: no shortcut on the bytes."""
    from pipelines.publish.descriptor import CSV_DIALECT

    data = release_mod.csv_bytes(frames["tasks"])
    spaced = {"dialect": {**CSV_DIALECT, "skipInitialSpace": True}}
    assert package_check.same_dialect(data, data, {"dialect": CSV_DIALECT}, {"dialect": dict(CSV_DIALECT)})
    assert not package_check.same_dialect(data, data, {"dialect": CSV_DIALECT}, spaced)
    assert not package_check.same_dialect(
        data, data, {"dialect": CSV_DIALECT}, {"dialect": {**CSV_DIALECT, "header": False}}
    )
    partial = {"dialect": {"delimiter": ","}}  # the rest sniffed from a narrowed sample: not compared
    assert not package_check.same_dialect(data, data, partial, partial)


def test_only_sources_the_previous_release_did_not_list_are_checked_again():
    a, b, c = ({"title": t, "path": f"raw/{t}.txt"} for t in "abc")
    descriptor = {"name": "x", "sources": [a, b, c], "resources": []}
    assert package_check.new_sources_only(descriptor, {"sources": [a, b]})["sources"] == [c]
    assert package_check.new_sources_only(descriptor, {})["sources"] == [a, b, c]
    # Nothing new: one entry stays, so the list itself is still checked.
    assert package_check.new_sources_only(descriptor, {"sources": [a, b, c]})["sources"] == [a]
    # A changed entry (same notice, new hash) counts as new.
    changed = {**c, "sha256": "0" * 64}
    checked = package_check.new_sources_only({**descriptor, "sources": [a, b, changed]}, descriptor)
    assert checked["sources"] == [changed]


def test_a_previous_descriptor_edited_after_publication_carries_nothing_over(published, frames):
    """Its sources and tables no longer say what was validated: everything is checked again."""
    latest = (published / DATASET / "latest").resolve()
    descriptor = latest / "datapackage.json"
    descriptor.write_text(descriptor.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    _, task_id = _late_task(frames)
    release = write_release(_rewrite(frames, task_id, "改写"), published, expectations=False)
    validated, total = (int(n) for n in release.frictionless.split(": ")[1].split(" rows")[0].split(" of "))
    assert validated == total
    check = _check_against(frames, latest, published.parent / "again")
    assert set(check.full_tables) == set(TABLES)
    assert set(check.full_tables.values()) == {"previous descriptor does not match its recorded hash"}


def test_a_bad_new_source_entry_fails_the_package_check(published, frames, monkeypatch):
    """The previous release's entries are skipped, a new one is still checked against the profile."""
    real = release_mod.sources

    def with_bad_entry(notices):
        return [*real(notices), {"title": 42, "path": ["not", "a", "path"]}]

    monkeypatch.setattr(release_mod, "sources", with_bad_entry)
    _, task_id = _late_task(frames)
    before = _state(published)
    with pytest.raises(ReleaseBlocked) as err:
        write_release(_rewrite(frames, task_id, "改写"), published, expectations=False)
    assert any(f.table == "package" for f in err.value.failures), err.value
    assert _state(published) == before


def test_the_check_and_the_release_encode_the_same_tables_once(frames, monkeypatch):
    """A build's GX check and its release step take the same tables: the CSV bytes are made once."""
    calls = []
    real = release_mod.csv_bytes
    monkeypatch.setattr(release_mod, "csv_bytes", lambda df: calls.append(1) or real(df))
    first = release_content(frames)
    assert len(calls) == len(TABLES)
    again = release_content({name: df.clone() for name, df in frames.items()})  # equal, not the same objects
    assert len(calls) == len(TABLES) and again.version == first.version and again.encoded == first.encoded
    _, task_id = _late_task(frames)
    changed = release_content(_rewrite(frames, task_id, "改写"))
    assert len(calls) == 2 * len(TABLES)
    assert changed.version != first.version and changed.encoded["tasks"] != first.encoded["tasks"]
    assert "改写".encode() in changed.encoded["tasks"]
    # A frame changed in place after it was encoded is encoded again.
    mutable = {name: df.clone() for name, df in frames.items()}
    before_edit = release_content(mutable).encoded["tasks"]
    mutable["tasks"][0, "text"] = "就地改写"
    after_edit = release_content(mutable).encoded["tasks"]
    assert after_edit != before_edit and "就地改写".encode() in after_edit
    # Polars calls -0.0 equal to 0.0; the CSV does not, so neither may the memo.
    signed = {
        sign: {**frames, "targets": frames["targets"].with_columns(pl.lit(sign * 0.0).alias("value_max"))}
        for sign in (1, -1)
    }
    positive, negative = (release_content(signed[s]).encoded["targets"] for s in (1, -1))
    assert positive != negative and b",-0.0," in negative
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # the timestamp is not part of the memo
    stamped = release_content(frames)
    assert stamped.created == "2023-11-14T22:13:20Z" and stamped.version != first.version


def test_a_refresh_validates_only_new_rows_and_the_package_stays_valid(published, frames, monkeypatch):
    _, task_id = _late_task(frames)
    frames = _rewrite(frames, task_id, "改写的任务")
    seen: list[str] = []
    real = package_check.frictionless.validate
    monkeypatch.setattr(
        package_check.frictionless, "validate", lambda source, **kw: seen.append(source) or real(source, **kw)
    )
    release = write_release(frames, published, expectations=False)
    assert release.frictionless.startswith("delta: ")
    validated, total = (int(n) for n in release.frictionless.split(": ")[1].split(" rows")[0].split(" of "))
    assert validated < total
    assert len(seen) == 1 and ".tmp-delta-" in seen[0]  # the delta package, not the release
    report = frictionless.validate(str(release.path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldNumber", "type", "note"])


def test_a_broken_new_row_stops_the_publish_with_table_row_and_reason(published, frames, monkeypatch):
    """The CSV writer corrupts one new row (an extra cell): only Frictionless can see it.

    The delta validation reports exactly what a full validation reports.
    """
    idx, task_id = _late_task(frames)
    frames = _rewrite(frames, task_id, "改写的任务")
    real = release_mod.csv_bytes
    monkeypatch.setattr(
        release_mod, "csv_bytes", lambda df: real(df).replace("改写的任务".encode(), "改写,多余".encode())
    )
    before = _state(published)
    reported = []
    for full in (False, True):
        with pytest.raises(ReleaseBlocked) as err:
            write_release(frames, published, expectations=False, full_validation=full)
        failures = [f for f in err.value.failures if f.check == "frictionless"]
        assert failures and {f.table for f in failures} == {"tasks"}
        assert any("extra-cell" in f.reason for f in failures)
        for f in failures:  # the row of tasks.csv, not of the delta file
            assert re.search(rf'[Rr]ow (at position )?"{idx + 2}"', f.reason), f.reason
        assert "tasks" in str(err.value)
        assert _state(published) == before
        reported.append([f.reason for f in failures])
    assert reported[0] == reported[1]


def test_full_validation_when_asked_for(published, frames, monkeypatch):
    _, task_id = _late_task(frames)
    assert write_release(
        _rewrite(frames, task_id, "一"), published, expectations=False, full_validation=True
    ).frictionless == ("full: every row")
    monkeypatch.setenv(FULL_VALIDATION_ENV, "1")
    assert (
        write_release(_rewrite(frames, task_id, "二"), published, expectations=False).frictionless == "full: every row"
    )


def _check_against(frames: dict[str, pl.DataFrame], previous, root) -> package_check.PackageCheck:
    """Write the tables' CSVs and descriptor to ``root`` and check them against ``previous``."""
    content = release_content(frames)
    release_files.write_tables(root, content.encoded)
    resources = release_mod.table_resources(content.frames, content.encoded, content.sha256)
    descriptor = release_mod.package_descriptor(content.version, content.created, resources, [])
    (root / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False), encoding="utf-8")
    return check_package(root, descriptor, content.frames, previous)


def _republish_descriptor(release, package) -> None:
    """Rewrite a release's descriptor and its line in SHA256SUMS, as if it had been published so."""
    data = json.dumps(package, ensure_ascii=False).encode()
    (release / "datapackage.json").write_bytes(data)
    sums = (release / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    digest = hashlib.sha256(data).hexdigest()
    sums = [f"{digest}  datapackage.json" if line.endswith("  datapackage.json") else line for line in sums]
    (release / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")


def test_a_table_whose_schema_changed_is_validated_in_full(published, frames, tmp_path):
    latest = (published / DATASET / "latest").resolve()
    package = json.loads((latest / "datapackage.json").read_text(encoding="utf-8"))
    glossary = next(r for r in package["resources"] if r["name"] == "glossary")
    glossary["schema"]["fields"][0]["description"] = "an older wording"
    # As a release of an older model would have published it: its SHA256SUMS agrees.
    _republish_descriptor(latest, package)
    (latest / "tasks.csv").write_bytes(b"tampered\n")  # no longer what its release validated
    check = _check_against(frames, latest, tmp_path / "release")
    assert not check.failures and check.mode == "delta"
    assert check.full_tables == {
        "glossary": "table schema changed",
        "tasks": "previous file does not match its recorded hash",
    }


def test_a_previous_file_that_cannot_be_read_is_validated_in_full(published, frames, tmp_path, monkeypatch):
    latest = (published / DATASET / "latest").resolve()
    unreadable = latest / "tasks.csv"
    real = package_check.Path.read_bytes

    def read_bytes(path):
        if path == unreadable:
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(package_check.Path, "read_bytes", read_bytes)
    check = _check_against(frames, latest, tmp_path / "release")
    assert not check.failures and check.mode == "delta"
    assert check.full_tables == {"tasks": "previous file unreadable (Permission denied)"}


def test_keys_are_checked_on_the_full_tables(frames):
    tasks = frames["tasks"]
    frames["tasks"] = pl.concat([tasks, tasks.head(1)])  # an old key again, in a new row
    failures = key_failures(frames)
    assert [(f.table, f.n_rows) for f in failures] == [("tasks", 2), ("tasks", 2)]  # primary key and unique task_id
    assert "repeats" in failures[0].reason and failures[0].rows[0]["task_id"] == tasks.get_column("task_id")[0]


def _stub(name: str, df: pl.DataFrame) -> dg.AssetsDefinition:
    @dg.asset(name=name)
    def _table() -> pl.DataFrame:
        return df

    return _table


def test_gx_runs_once_per_build_and_the_release_publishes_its_docs(published, frames, monkeypatch):
    from pipelines.assets.release import great_expectations_suites, release
    from pipelines.resources import PipelinePaths

    runs: list[bool] = []
    real = release_mod.validate_tables
    monkeypatch.setattr(release_mod, "validate_tables", lambda *a, **kw: runs.append(True) or real(*a, **kw))
    _, task_id = _late_task(frames)
    frames = _rewrite(frames, task_id, "新的任务")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [*(_stub(n, df) for n, df in frames.items()), great_expectations_suites, release],
        resources={"paths": PipelinePaths(raw_dir=str(RAW), published_dir=str(published))},
        instance=instance,
    )
    assert len(runs) == 1  # in the check; the release reused it
    meta = result.asset_materializations_for_node("release")[0].metadata
    assert meta["great_expectations"].value == "recorded by the check"
    assert meta["frictionless_validation"].value.startswith("delta: ")
    path = published / DATASET / str(meta["version"].value)
    assert (path / "gx-docs" / "index.html").is_file()
    assert {p.stem for p in (path / "gx-docs" / "expectations").glob("*.html")} == set(TABLES)
    assert not any(gx_records_dir(instance).iterdir())  # the record was consumed


def test_a_recorded_failure_blocks_without_a_second_run(published, frames, monkeypatch, tmp_path):
    frames["targets"] = frames["targets"].with_columns(value=-pl.col("value"))
    records = tmp_path / "records"
    made: list[bool] = []
    real = release_files.stage_files
    monkeypatch.setattr(release_mod, "stage_files", lambda *a: made.append(real(*a)) or made[-1])
    outcomes = record_expectations(frames, records, published)
    assert not outcomes["targets"].passed
    assert made == [True] and _staged(published) == []  # staged while GX ran, removed when it failed
    monkeypatch.setattr(release_mod, "validate_tables", lambda *a, **kw: pytest.fail("GX ran a second time"))
    before = _state(published)
    with pytest.raises(ReleaseBlocked) as err:
        write_release(frames, published, gx_records=records)
    failure = next(f for f in err.value.failures if f.check == "great_expectations")
    assert failure.table == "targets" and "positive" in failure.reason and failure.rows
    assert _state(published) == before


def test_a_record_of_other_content_is_not_reused(published, frames, monkeypatch, tmp_path):
    records = tmp_path / "records"
    record_expectations(frames, records, published / "elsewhere")
    _, task_id = _late_task(frames)
    runs: list[bool] = []
    real = release_mod.validate_tables
    monkeypatch.setattr(release_mod, "validate_tables", lambda *a, **kw: runs.append(True) or real(*a, **kw))
    release = write_release(_rewrite(frames, task_id, "别的内容"), published, gx_records=records)
    assert release.expectations.startswith("run") and runs == [True]


def _duckdb_rows(path) -> dict[str, list[tuple]]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            name: con.execute(f'SELECT * FROM "{name}" ORDER BY {", ".join(spec.primary_key)}').fetchall()
            for name, spec in TABLES.items()
        } | {
            view: con.execute(f'SELECT * FROM "{view}" ORDER BY ALL').fetchall()
            for view in ("task_leads", "unit_workload")
        }
    finally:
        con.close()


def _one_notice_less(frames: dict[str, pl.DataFrame]) -> tuple[dict[str, pl.DataFrame], str]:
    """The tables without their last notice (what they were before it landed)."""
    last = frames["notices"].get_column("notice_id").sort()[-1]
    owned = {"notices", "sections", "tasks", "glossary", "warnings"}
    out = {n: (df.filter(pl.col("notice_id") != last) if n in owned else df) for n, df in frames.items()}
    out["assignments"] = frames["assignments"].join(out["tasks"].select("task_id"), on="task_id", how="semi")
    out["targets"] = frames["targets"].join(out["sections"].select("section_id"), on="section_id", how="semi")
    used = out["assignments"].select("unit_id").drop_nulls().unique()
    out["units"] = frames["units"].join(used, on="unit_id", how="semi")
    return out, last


def test_the_delta_is_the_rows_that_came_changed_and_went(frames, tmp_path):
    from pipelines.publish.delta import release_delta

    before, last = _one_notice_less(frames)
    _, task_id = _late_task(before)
    before = _rewrite(before, task_id, "旧的写法")  # this row changes back in the new release
    first = write_release(before, tmp_path / "published", expectations=False)
    delta = release_delta(frames, first.path)
    assert delta is not None and delta.base == first.path
    tasks = delta.tables["tasks"]
    expected_new = frames["tasks"].filter((pl.col("notice_id") == last) | (pl.col("task_id") == task_id))
    assert sorted(tasks.new_rows.get_column("task_id")) == sorted(expected_new.get_column("task_id"))
    assert tasks.gone_keys.height == 0
    back = release_delta(before, first.path)  # the same tables: nothing is new
    assert all(d.empty for d in back.tables.values())
    gone = release_delta(_one_notice_less(before)[0], first.path).tables["notices"].gone_keys
    assert gone.height == 1  # the next notice went


def test_the_changelog_from_the_delta_matches_a_full_comparison(frames, tmp_path):
    """Rows added, changed and removed, by key: the delta-driven diff says what comparing every row says."""
    from pipelines.publish.changelog import diff_table
    from pipelines.publish.delta import release_delta

    before, _ = _one_notice_less(frames)
    _, task_id = _late_task(before)
    before = _rewrite(before, task_id, "旧的写法")
    dropped = frames["assignments"].get_column("task_id")[5]  # its rows go in the new release
    new_frames = {**frames, "assignments": frames["assignments"].filter(pl.col("task_id") != dropped)}
    new_frames["assignments"] = new_frames["assignments"].with_columns(  # and one row changes in place
        pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("改过的原文")).otherwise("span").alias("span")
    )
    first = write_release(before, tmp_path / "published", expectations=False)
    delta = release_delta(new_frames, first.path)
    for table in ("tasks", "assignments", "notices"):
        quick = diff_table(table, delta.old[table], new_frames[table], delta.tables[table])
        full = diff_table(table, delta.old[table], new_frames[table])
        assert (quick.added, quick.removed, quick.changed) == (full.added, full.removed, full.changed), table
    assignments = diff_table("assignments", delta.old["assignments"], new_frames["assignments"])
    assert assignments.removed and assignments.changed  # the diff had something of each kind to find
    assert diff_table("notices", delta.old["notices"], new_frames["notices"]).added


def test_a_release_edited_after_publication_is_no_base(frames, tmp_path):
    from pipelines.publish.delta import release_delta

    first = write_release(frames, tmp_path / "published", expectations=False)
    assert release_delta(frames, first.path) is not None
    pq = first.path / "parquet" / "tasks.parquet"
    frames["tasks"].head(3).write_parquet(pq)  # no longer the file SHA256SUMS recorded
    assert release_delta(frames, first.path) is None


def test_the_patched_duckdb_file_holds_what_a_fresh_one_holds(frames, tmp_path, monkeypatch):
    """Add a notice, change a task, drop a notice, change a parent section: the patched file equals a full write."""
    import duckdb

    from pipelines.publish.duckdb_export import write_duckdb

    before, _ = _one_notice_less(frames)
    _, task_id = _late_task(before)
    out = tmp_path / "published"
    first = write_release(_rewrite(before, task_id, "旧的写法"), out, expectations=False)
    fresh_writes = []  # after the first release every file is patched, none written anew
    monkeypatch.setattr(release_files, "write_duckdb", lambda *a: fresh_writes.append(a) or write_duckdb(*a))
    second = write_release(frames, out, expectations=False)
    third_frames, _ = _one_notice_less(_one_notice_less(frames)[0])
    third = write_release(third_frames, out, expectations=False)
    # A section that others name as their parent changes: it is replaced with its children.
    sections = third_frames["sections"]
    parent = sections.get_column("parent_section_id").drop_nulls()[0]
    fourth_frames = {
        **third_frames,
        "sections": sections.with_columns(
            title=pl.when(pl.col("section_id") == parent).then(pl.lit("改过的标题")).otherwise("title")
        ),
    }
    fourth = write_release(fourth_frames, out, expectations=False)
    assert fresh_writes == []
    for release, tables in ((second, frames), (third, third_frames), (fourth, fourth_frames)):
        fresh = tmp_path / f"{release.version}.duckdb"
        write_duckdb(tables, fresh)
        assert _duckdb_rows(release.path / "policy-tasks.duckdb") == _duckdb_rows(fresh)
    # The constraints still hold in the patched file: a dangling assignment is refused.
    con = duckdb.connect(str(third.path / "policy-tasks.duckdb"))
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO assignments SELECT * REPLACE ('nope:t001' AS task_id) FROM assignments LIMIT 1")
    con.close()
    assert first.path.is_dir() and (first.path / "policy-tasks.duckdb").stat().st_size > 0


def test_a_duckdb_file_that_cannot_be_patched_is_written_anew(frames, tmp_path, monkeypatch):
    import duckdb

    from pipelines.publish.duckdb_export import write_duckdb

    before, _ = _one_notice_less(frames)
    fresh = tmp_path / "fresh.duckdb"
    write_duckdb(frames, fresh)
    # Refused by DuckDB (a foreign key), or by the batching of a self-referencing table.
    for error in (duckdb.ConstraintException("violates foreign key constraint"), ValueError("a dangling key")):
        out = tmp_path / type(error).__name__ / "published"
        write_release(before, out, expectations=False)
        patched: list[bool] = []

        def refuse(*_a, error=error, patched=patched, **_k):
            patched.append(True)
            raise error

        monkeypatch.setattr(release_files, "patch_duckdb", refuse)
        second = write_release(frames, out, expectations=False)
        monkeypatch.undo()
        assert patched  # it was tried, and failed
        assert _duckdb_rows(second.path / "policy-tasks.duckdb") == _duckdb_rows(fresh)


def test_gx_validates_the_new_rows_and_says_so(published, frames, tmp_path):
    _, task_id = _late_task(frames)
    frames = _rewrite(frames, task_id, "新的任务")
    release = write_release(frames, published)
    assert release.expectations.startswith("run on 1 new or changed row(s) since ")
    note = json.loads((release.path / "gx-docs" / "validation.json").read_text(encoding="utf-8"))
    assert note["mode"] == "delta" and note["rows_validated"] == 1
    assert note["tables"]["tasks"]["rows_validated"] == 1 and note["tables"]["assignments"]["rows_validated"] == 0
    assert {p.stem for p in (release.path / "gx-docs" / "expectations").glob("*.html")} == set(TABLES)


def test_a_bad_new_row_fails_gx_in_a_delta_validation(published, frames):
    targets = frames["targets"]
    bad = targets.with_columns(
        value=pl.when(pl.int_range(pl.len()) == targets.height - 1).then(-1.0).otherwise("value")
    )
    before = _state(published)
    with pytest.raises(ReleaseBlocked) as err:
        write_release({**frames, "targets": bad}, published)
    failure = next(f for f in err.value.failures if f.check == "great_expectations")
    assert failure.table == "targets" and failure.n_rows == 1 and "positive" in failure.reason
    assert failure.rows[0]["target_id"] == targets.get_column("target_id")[-1]
    assert _state(published) == before


def test_the_code_fingerprint_follows_an_edit_of_the_pipeline(tmp_path, monkeypatch):
    """A recorded GX validation is reused only by the same code: an edited source file is seen at once."""
    for folder in ("pipelines", "schemas"):
        (tmp_path / folder).mkdir()
    source = tmp_path / "pipelines" / "suite.py"
    source.write_text("MIN = 1\n", encoding="utf-8")
    (tmp_path / "schemas" / "tables.py").write_text("X = 1\n", encoding="utf-8")
    monkeypatch.setattr(release_mod, "ROOT", tmp_path)
    first = release_mod.code_fingerprint()
    assert release_mod.code_fingerprint() == first
    before = source.stat()
    source.write_text("MIN = 2\n", encoding="utf-8")  # same size, and the modification time put back
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (source.stat().st_mtime_ns, source.stat().st_size) == (before.st_mtime_ns, before.st_size)
    second = release_mod.code_fingerprint()
    assert second != first
    (tmp_path / "schemas" / "new.py").write_text("", encoding="utf-8")  # a file added
    assert release_mod.code_fingerprint() not in (first, second)


# --- the GX check stages the data files; the release takes them ------------------------


def _staged(published) -> list:
    return sorted((published / DATASET).glob(".staged-*"))


def _files_and_sums(release) -> tuple[dict[str, bytes], dict[str, str]]:
    """Every file of a release by path, and what its SHA256SUMS says of each."""
    files = {p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()}
    del files["SHA256SUMS"]
    return files, release_sums(release)


def _assert_sums_hold(release) -> None:
    """SHA256SUMS lists every file of the release with its hash, and every data file is there."""
    files, sums = _files_and_sums(release)
    assert set(release_files.data_files()) <= set(files)
    assert set(sums) == set(files)
    assert {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()} == sums


def test_the_check_stages_the_data_files_and_the_release_takes_them(published, frames, monkeypatch, tmp_path):
    _, task_id = _late_task(frames)
    frames = _rewrite(frames, task_id, "暂存的任务")
    record_expectations(frames, tmp_path / "records", published)
    [staged] = _staged(published)
    assert {"tasks.csv", "csv-excel/tasks.csv", "parquet/tasks.parquet", "policy-tasks.duckdb"} <= {
        p.relative_to(staged).as_posix() for p in staged.rglob("*")
    }

    def written_twice(*_a, **_k):
        pytest.fail("the release wrote a data file the check had staged")

    for name in ("write_tables", "write_copies", "write_database"):
        monkeypatch.setattr(release_files, name, written_twice)
    monkeypatch.setattr(release_mod, "write_tables", written_twice)  # imported by name there
    release = write_release(frames, published, gx_records=tmp_path / "records")
    monkeypatch.undo()
    assert _staged(published) == [] and release.expectations == "recorded by the check"
    assert not (release.path / "staged.json").exists()
    _assert_sums_hold(release.path)
    # The same files as a release that wrote them itself (DuckDB stamps a random id: its rows are compared).
    elsewhere = write_release(frames, tmp_path / "direct", expectations=False)
    staged_files, direct_files = _files_and_sums(release.path)[0], _files_and_sums(elsewhere.path)[0]
    data = [r for r in direct_files if r.endswith((".csv", ".parquet"))]
    assert len(data) == 3 * len(TABLES)
    assert {r: staged_files[r] for r in data} == {r: direct_files[r] for r in data}
    assert _duckdb_rows(release.path / "policy-tasks.duckdb") == _duckdb_rows(elsewhere.path / "policy-tasks.duckdb")


@pytest.mark.parametrize(
    "damaged", ["tasks.csv", "csv-excel/tasks.csv", "parquet/tasks.parquet", "policy-tasks.duckdb"]
)
@pytest.mark.parametrize(
    "damage",
    [lambda data: data[:100], lambda data: data[:-1] + bytes([data[-1] ^ 1])],
    ids=["cut short", "same size, other bytes"],
)
def test_a_damaged_staged_file_is_written_anew(published, frames, tmp_path, damaged, damage):
    _, task_id = _late_task(frames)
    frames = _rewrite(frames, task_id, "损坏的暂存")
    record_expectations(frames, tmp_path / "records", published)
    [staged] = _staged(published)
    (staged / damaged).write_bytes(damage((staged / damaged).read_bytes()))
    release = write_release(frames, published, gx_records=tmp_path / "records")
    assert _staged(published) == []
    _assert_sums_hold(release.path)
    csv = (release.path / "tasks.csv").read_bytes()
    assert hashlib.sha256(csv).hexdigest() == release_content(frames).sha256["tasks"]
    assert (release.path / "csv-excel" / "tasks.csv").read_bytes() == b"\xef\xbb\xbf" + csv
    assert pl.read_parquet(release.path / "parquet" / "tasks.parquet").equals(release_content(frames).frames["tasks"])
    assert _duckdb_rows(release.path / "policy-tasks.duckdb")["tasks"] == sorted(frames["tasks"].rows())


def test_a_staging_that_fails_leaves_nothing_and_the_release_writes_the_files(published, frames, monkeypatch, tmp_path):
    _, task_id = _late_task(frames)
    frames = _rewrite(frames, task_id, "写不进去")

    def crash(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(release_files, "write_excel_csv", crash)
    outcomes = record_expectations(frames, tmp_path / "records", published)
    monkeypatch.undo()
    assert all(o.passed for o in outcomes.values())  # a staging failure is not a failed check
    assert _staged(published) == [] and not list((published / DATASET).glob(".staging-*"))
    release = write_release(frames, published, gx_records=tmp_path / "records")
    _assert_sums_hold(release.path)


def test_stagings_no_release_took_are_dropped_after_an_hour(published, frames):
    ds = published / DATASET
    old = [ds / ".staged-2020.01.01-00000000-abc", ds / ".staging-2020.01.01-00000000-abc-1f2e"]
    recent = [ds / ".staged-2020.01.02-00000000-abc", ds / ".staging-2020.01.02-00000000-abc-3d4c"]
    for folder in old + recent:
        folder.mkdir()
        (folder / "tasks.csv").write_text("x", encoding="utf-8")
    hours_ago = time.time() - 2 * 3600
    for folder in old:
        os.utime(folder, (hours_ago, hours_ago))
    _, task_id = _late_task(frames)
    write_release(_rewrite(frames, task_id, "清理"), published, expectations=False)
    assert not any(f.exists() for f in old)
    assert all(f.is_dir() for f in recent)  # they may be another build's, still running
    assert not list(ds.glob(".discard-*"))


def test_the_switch_interval_is_short_while_writer_threads_run(published, frames, monkeypatch):
    interval = sys.getswitchinterval()
    seen: list[float] = []
    real = release_files.write_copies
    monkeypatch.setattr(release_files, "write_copies", lambda *a: seen.append(sys.getswitchinterval()) or real(*a))
    _, task_id = _late_task(frames)
    write_release(_rewrite(frames, task_id, "切换"), published, expectations=False)
    # Shortened while the writer threads ran beside the checks, then restored.
    assert seen and seen[0] < interval and sys.getswitchinterval() == interval


# --- the check runs Frictionless on the delta too; the release publishes that record ---------


def test_the_release_publishes_the_checks_frictionless_validation(published, frames, monkeypatch, tmp_path):
    _, task_id = _late_task(frames)
    frames = _rewrite(frames, task_id, "预先校验的任务")
    # The same package checked by a release that validates it itself, for comparison.
    alone = tmp_path / "alone"
    shutil.copytree(published, alone, symlinks=True)
    direct = write_release(frames, alone, expectations=False)
    record_expectations(frames, tmp_path / "records", published)
    monkeypatch.setattr(release_mod, "check_package", lambda *a, **k: pytest.fail("Frictionless ran again"))
    release = write_release(frames, published, gx_records=tmp_path / "records")
    assert release.frictionless == direct.frictionless + " (recorded by the check)"
    assert release.frictionless.startswith("delta: ") and release.version == direct.version
    _assert_sums_hold(release.path)


def test_a_recorded_frictionless_failure_blocks_the_release(published, frames, tmp_path):
    _, task_id = _late_task(frames)
    frames = _rewrite(frames, task_id, "记录的失败")
    records = tmp_path / "records"
    record_expectations(frames, records, published)
    [record] = [p for p in records.iterdir() if (p / release_mod.PACKAGE_CHECK).is_file()]
    item = json.loads((record / release_mod.PACKAGE_CHECK).read_text(encoding="utf-8"))
    assert item["check"]["failures"] == [] and item["check"]["mode"] == "delta"
    failure = {
        "table": "tasks",
        "check": "frictionless",
        "reason": "constraint-error: 记录的原因",
        "n_rows": 0,
        "rows": [],
    }
    item["check"]["failures"] = [failure]
    (record / release_mod.PACKAGE_CHECK).write_text(json.dumps(item, ensure_ascii=False), encoding="utf-8")
    before = _state(published)
    with pytest.raises(ReleaseBlocked) as err:
        write_release(frames, published, gx_records=records)
    assert "Frictionless" in str(err.value) and err.value.failures[0].reason == failure["reason"]
    assert _state(published)[0] == before[0]  # latest unchanged


def test_a_record_made_against_another_previous_release_is_not_used(published, frames, monkeypatch, tmp_path):
    _, task_id = _late_task(frames)
    records = tmp_path / "records"
    record_expectations(_rewrite(frames, task_id, "另一个基础"), records, published)
    # Another release is published meanwhile: the record compared with the one before it.
    write_release(frames | {"glossary": frames["glossary"].head(3)}, published, expectations=False)
    ran = []
    real = release_mod.check_package
    monkeypatch.setattr(release_mod, "check_package", lambda *a, **k: ran.append(True) or real(*a, **k))
    release = write_release(_rewrite(frames, task_id, "另一个基础"), published, gx_records=records)
    assert ran == [True] and "recorded" not in release.frictionless


def test_the_base_just_written_is_not_decoded_again_and_an_edited_one_is_no_base(frames, tmp_path, monkeypatch):
    """The previous release's tables come from this process's memory only for the very files it wrote."""
    from pipelines.publish import delta as delta_mod

    release = write_release(frames, tmp_path / "published", expectations=False)
    decoded = []
    real_read = delta_mod.pl.read_parquet

    def read_parquet(*args, **kwargs):
        decoded.append(args)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(delta_mod.pl, "read_parquet", read_parquet)
    remembered = delta_mod.base_frames(release.path)
    assert decoded == [] and remembered is not None
    assert all(remembered[name].equals(frames[name]) for name in TABLES)

    monkeypatch.setattr(delta_mod, "_written", {})  # another process: every file is decoded
    read_back = delta_mod.base_frames(release.path)
    assert len(decoded) == len(TABLES) and all(read_back[name].equals(frames[name]) for name in TABLES)

    tasks = release.path / "parquet" / "tasks.parquet"
    tasks.chmod(0o644)
    frames["tasks"].head(3).write_parquet(tasks)  # edited after publication: no base at all
    assert delta_mod.base_frames(release.path) is None


def test_content_prepared_ahead_is_used_only_for_the_same_tables_and_base(published, frames, monkeypatch):
    """The tables step starts the encoding; the check step takes it for equal tables and an unchanged base."""
    encodings, comparisons = [], []
    real = release_mod.csv_bytes
    monkeypatch.setattr(release_mod, "csv_bytes", lambda df: encodings.append(df.height) or real(df))
    real_delta = release_mod.release_delta
    monkeypatch.setattr(release_mod, "release_delta", lambda *a: comparisons.append(a[1]) or real_delta(*a))
    monkeypatch.setattr(release_mod, "_last_encoded", None)
    changed, _ = _one_notice_less(frames)

    release_mod.prepare_release(changed, published)
    reloaded = {name: df.clone() for name, df in changed.items()}  # as the next step loads them: equal, not the same
    content, delta = release_mod.content_and_delta(reloaded, published)
    assert len(encodings) == len(TABLES)  # once, ahead
    assert len(comparisons) == 1  # the comparison with latest too (the encoding memo alone would not spare it)
    assert content.version == release_content(changed).version
    assert delta is not None and delta.tables["notices"].gone_keys.height == 1  # against the published base

    encodings.clear()
    monkeypatch.setattr(release_mod, "_last_encoded", None)
    release_mod.prepare_release(changed, published)
    other, _ = _one_notice_less(changed)
    release_mod.content_and_delta(other, published)  # other tables: encoded again, for themselves
    assert len(encodings) == 2 * len(TABLES)

    encodings.clear()
    monkeypatch.setattr(release_mod, "_last_encoded", None)
    release_mod.prepare_release(changed, published)
    release_mod._ahead.result.result()
    write_release(other, published, expectations=False)  # another build published meanwhile: a new base
    content, delta = release_mod.content_and_delta(reloaded, published)
    assert delta is not None and delta.base.name == release_content(other).version
