"""The release a researcher downloads: built once from a copy of raw/, then inspected.

Covers the issue's "done when": frictionless validate passes, Excel CSVs carry
a BOM, the DuckDB file opens and its views answer, two builds give the same
hashes, and a broken table stops the publish with ``latest`` unchanged.
"""

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import frictionless
import polars as pl
import pytest

from pipelines.assets.release import gx_check_name
from pipelines.cli import build
from pipelines.publish import release as release_mod
from pipelines.publish import release_files
from pipelines.publish.changelog import read_release_tables
from pipelines.publish.excel import BOM
from pipelines.publish.release import PublishError, ReleaseBlocked, write_release
from schemas.tables import TABLES
from tests.conftest import RAW, ROOT

DATASET = "policy-tasks"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """raw/ copied and built twice from scratch: in process, and meanwhile by the CLI in a subprocess.

    The second build has its own state and output folder, so it shares nothing
    with the first but raw/; running it alongside keeps the test run short.
    """
    base = tmp_path_factory.mktemp("release")
    shutil.copytree(RAW, base / "raw")
    second = base / "second"
    args = ["build", "--raw", str(base / "raw"), "--out", str(second / "published"), "--state", str(second / "state")]
    cli = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    path = build(base / "raw", base / "published", base / "state", log=lambda _m: None)
    yield base, path, cli
    if cli.poll() is None:
        cli.kill()
        cli.wait()


@pytest.fixture(scope="module")
def built(builds):
    return builds[0], builds[1]


@pytest.fixture
def frames(built):
    return read_release_tables(built[1])


@pytest.fixture
def published(built, tmp_path):
    """A private copy of the published folder, so a test may add or break releases."""
    out = tmp_path / "published"
    shutil.copytree(built[0] / "published", out, symlinks=True)
    return out


def test_frictionless_validate_passes(built):
    report = frictionless.validate(str(built[1] / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldNumber", "type", "note"])


def test_package_describes_the_data_for_citation(built):
    _, path = built
    pkg = json.loads((path / "datapackage.json").read_text(encoding="utf-8"))
    assert pkg["$schema"].endswith("/2.0/datapackage.json")
    assert pkg["name"] == DATASET and pkg["version"] == path.name
    assert pkg["title_zh"] and pkg["title_en"] and pkg["description_zh"] and pkg["description_en"]
    assert pkg["licenses"][0]["name"] == "CC-BY-4.0" and pkg["contributors"] and pkg["keywords"]
    assert pkg["created"] == "2024-01-31T00:00:00Z"  # newest notice date, not the wall clock
    hunan = next(s for s in pkg["sources"] if s.get("doc_number") == "湘政发〔2023〕1号")
    assert hunan["issuer"] == "湖南省人民政府" and hunan["date"] == "2023-01-17" and hunan["path"].startswith("raw/")
    assert len(pkg["sources"]) == 5
    for res in pkg["resources"]:
        data = (path / res["path"]).read_bytes()
        assert res["bytes"] == len(data) and res["sha256"] == hashlib.sha256(data).hexdigest()
        assert res["schema"]["primaryKey"] == list(TABLES[res["name"]].primary_key)


def test_package_fields_match_the_pandera_models(built):
    """Schema drift: read each model's own metadata and compare with what was published."""
    _, path = built
    pkg = json.loads((path / "datapackage.json").read_text(encoding="utf-8"))
    resources = {r["name"]: r for r in pkg["resources"]}
    assert list(resources) == list(TABLES)
    for name, spec in TABLES.items():
        fields = resources[name]["schema"]["fields"]
        assert [f["name"] for f in fields] == spec.columns
        for f, (col_name, col) in zip(fields, spec.schema.columns.items(), strict=True):
            meta = col.metadata
            assert (f["title_zh"], f["title_en"]) == (meta["title_zh"], meta["title_en"]), col_name
            assert (f["description_zh"], f["description_en"]) == (meta["description_zh"], meta["description_en"])
            assert f.get("constraints", {}).get("required", False) == (not col.nullable), col_name
        with open(path / f"{name}.csv", encoding="utf-8", newline="") as fh:
            assert next(csv.reader(fh)) == spec.columns
        fks = [
            (fk["fields"], fk["reference"]["resource"] or name)
            for fk in resources[name]["schema"].get("foreignKeys", [])
        ]
        assert fks == [(list(fk.fields), fk.ref_table) for fk in spec.foreign_keys]


def test_excel_csvs_carry_a_bom_and_the_same_rows(built):
    _, path = built
    for name in TABLES:
        excel = (path / "csv-excel" / f"{name}.csv").read_bytes()
        assert excel.startswith(BOM)
        assert excel[len(BOM) :] == (path / f"{name}.csv").read_bytes()
    assert "湖南省人民政府" in (path / "csv-excel" / "notices.csv").read_bytes().decode("utf-8-sig")


def test_duckdb_opens_with_every_table_and_its_views_answer(built, frames):
    _, path = built
    con = duckdb.connect(str(path / f"{DATASET}.duckdb"), read_only=True)
    for name, df in frames.items():
        assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == df.height
    n_tasks = con.execute("SELECT count(*), count(DISTINCT task_id) FROM task_leads").fetchone()
    assert n_tasks == (frames["tasks"].height, frames["tasks"].height)  # one row per task
    leads = con.execute(
        "SELECT lead_units FROM task_leads WHERE notice_id LIKE '000%' AND lead_units LIKE '%发展和改革委员会%' LIMIT 1"
    ).fetchone()
    assert leads is not None
    expected = (
        frames["assignments"]
        .filter(pl.col("role").is_in(["lead", "lead_each"]) & pl.col("unit_id").is_not_null())
        .select("unit_id", "task_id")
        .unique()
        .height
    )
    assert con.execute("SELECT sum(n_lead) FROM unit_workload").fetchone()[0] == expected
    # The keys are real constraints, not comments.
    with pytest.raises(duckdb.Error):
        con.execute("INSERT INTO notices SELECT * FROM notices LIMIT 1")


def test_release_documents_itself(built, frames):
    _, path = built
    readme = (path / "README.md").read_text(encoding="utf-8")
    for name, spec in TABLES.items():
        assert f"### {name} · {spec.title_zh} ({frames[name].height} rows)" in readme
    for needle in ("Known limitations", "automatically", "CITATION.cff", "pl.read_parquet", "pd.read_csv", "dbConnect"):
        assert needle in readme
    assert f'version: "{path.name}"' in (path / "CITATION.cff").read_text(encoding="utf-8")
    assert "First release" in (path / "CHANGELOG.md").read_text(encoding="utf-8")
    sums = dict(line.split("  ", 1)[::-1] for line in (path / "SHA256SUMS").read_text().splitlines())
    assert sums["tasks.csv"] == _sha(path / "tasks.csv")


def test_gx_suites_ran_as_blocking_dagster_checks_and_docs_are_in_the_release(built):
    base, path = built
    instance = dg.DagsterInstance.from_config(str(base / "state"))
    for name in TABLES:
        key = dg.AssetCheckKey(dg.AssetKey(name), gx_check_name(name))
        record = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        assert record and record[0].event.dagster_event.event_specific_data.passed, name
    docs = path / "gx-docs"
    assert (docs / "index.html").is_file()
    assert {p.stem for p in (docs / "expectations").glob("*.html")} == set(TABLES)


def test_two_builds_from_the_same_raw_give_the_same_bytes(builds):
    _, first, cli = builds
    out, err = cli.communicate(timeout=300)
    assert cli.returncode == 0, err[-2000:]
    second = Path(out.strip().splitlines()[-1])
    assert second.name == first.name and second != first
    a, b = _files(first), _files(second)
    # DuckDB stamps a random database id into its header; everything else must match byte for byte.
    variable = {f"{DATASET}.duckdb", "SHA256SUMS"}
    assert set(a) == set(b)
    assert {k: v for k, v in a.items() if k not in variable} == {k: v for k, v in b.items() if k not in variable}
    con_a = duckdb.connect(str(first / f"{DATASET}.duckdb"), read_only=True)
    con_b = duckdb.connect(str(second / f"{DATASET}.duckdb"), read_only=True)
    for name in TABLES:
        sql = f'SELECT * FROM "{name}" ORDER BY ALL'
        assert con_a.execute(sql).fetchall() == con_b.execute(sql).fetchall()


def _state(published: Path) -> tuple[Path, list[str]]:
    ds = published / DATASET
    return (ds / "latest").resolve(), sorted(p.name for p in ds.iterdir())


@pytest.mark.parametrize(
    ("table", "breakage", "check", "reason"),
    [
        ("assignments", lambda df: df.with_columns(role=pl.lit("boss")), "pandera", "role fails isin"),
        ("assignments", lambda df: df.with_columns(unit_id=pl.lit("u-missing")), "foreign_key", "unit_id → units"),
        (
            "targets",
            lambda df: df.with_columns(value=pl.when(pl.col("span_start") == 0).then(-1.0).otherwise("value")),
            "great_expectations",
            "a target's value is positive",
        ),
    ],
)
def test_a_broken_table_is_not_published_and_latest_stays(published, frames, table, breakage, check, reason):
    before = _state(published)
    frames[table] = breakage(frames[table])
    with pytest.raises(ReleaseBlocked) as err:
        write_release(frames, published)
    failure = next(f for f in err.value.failures if f.check == check)
    assert failure.table == table and reason in failure.reason
    key = TABLES[table].primary_key[0]
    assert failure.rows and key in failure.rows[0]  # which rows: by primary key
    assert table in str(err.value) and reason in str(err.value)
    assert _state(published) == before  # no new version, no temporary folder, latest unchanged


def test_a_crash_midway_leaves_no_half_written_release(published, frames, monkeypatch):
    before = _state(published)
    frames["glossary"] = frames["glossary"].head(3)  # a new version, so something would be written

    def crash(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(release_files, "write_duckdb", crash)  # written anew…
    monkeypatch.setattr(release_files, "patch_duckdb", crash)  # …or patched from the previous release
    with pytest.raises(PublishError, match=r"policy-tasks\.duckdb could not be written: disk full"):
        write_release(frames, published, expectations=False)
    assert _state(published) == before


def test_copies_that_cannot_be_written_fail_the_release_by_name(published, frames, monkeypatch):
    before = _state(published)
    frames["glossary"] = frames["glossary"].head(3)

    def crash(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(release_files, "write_excel_csv", crash)  # in the worker thread
    with pytest.raises(PublishError, match="csv-excel/ and parquet/ copies could not be written: disk full"):
        write_release(frames, published, expectations=False)
    assert _state(published) == before


def test_a_new_release_keeps_the_old_one_and_logs_the_changes(published, frames, built):
    old = built[1].name
    frames["glossary"] = frames["glossary"].slice(1)
    task_id = frames["tasks"].get_column("task_id")[0]
    frames["tasks"] = frames["tasks"].with_columns(
        text=pl.when(pl.col("task_id") == task_id).then(pl.lit("改写")).otherwise("text")
    )
    new = write_release(frames, published, expectations=False)  # GX is tested above; this is about history
    ds = published / DATASET
    assert new.new and new.previous == old and new.version != old
    assert (ds / old / "datapackage.json").is_file()  # old releases are kept
    assert (ds / "latest").resolve() == new.path.resolve()
    log = (new.path / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"previous release `{old}`" in log
    assert "| glossary |" in log and "| 0 | 1 | 0 |" in log
    assert f"- changed: `{task_id}`" in log


def test_dagster_blocking_check_stops_the_release(published, frames):
    from pipelines.assets.release import great_expectations_suites, release
    from pipelines.resources import PipelinePaths

    before = _state(published)
    frames["targets"] = frames["targets"].with_columns(value=-pl.col("value"))

    def stub(name: str, df: pl.DataFrame) -> dg.AssetsDefinition:
        @dg.asset(name=name)
        def _table() -> pl.DataFrame:
            return df

        return _table

    result = dg.materialize(
        [*(stub(n, df) for n, df in frames.items()), great_expectations_suites, release],
        resources={"paths": PipelinePaths(raw_dir=str(RAW), published_dir=str(published))},
        raise_on_error=False,
    )
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    failed = checks[gx_check_name("targets")]
    assert not failed.passed and "positive" in (failed.description or "")
    assert not result.asset_materializations_for_node("release")
    assert _state(published) == before


def _stub(name: str, df: pl.DataFrame) -> dg.AssetsDefinition:
    @dg.asset(name=name)
    def _table() -> pl.DataFrame:
        return df

    return _table


def test_a_release_run_without_the_table_checks_checks_the_tables_itself(published, frames):
    from pipelines.assets.release import release
    from pipelines.resources import PipelinePaths

    before = _state(published)
    frames["assignments"] = frames["assignments"].with_columns(unit_id=pl.lit("u-missing"))
    result = dg.materialize(
        [*(_stub(n, df) for n, df in frames.items()), release],
        resources={"paths": PipelinePaths(raw_dir=str(RAW), published_dir=str(published))},
        raise_on_error=False,
    )
    assert not result.success
    errors = [e.step_failure_data.error.to_string() for e in result.all_events if e.is_step_failure]
    assert any("table checks" in m and "unit_id → units" in m for m in errors), errors
    assert _state(published) == before


def test_the_publish_run_does_not_check_the_tables_twice(tmp_path, monkeypatch):
    """Its blocking schema checks passed in the same run: release trusts them (and still publishes)."""

    def twice(_frames):
        raise AssertionError("the release checked the tables again")

    monkeypatch.setattr(release_mod, "table_failures", twice)
    shutil.copytree(RAW, tmp_path / "raw")
    path = build(tmp_path / "raw", tmp_path / "published", tmp_path / "state", log=lambda _m: None)
    assert (path / "datapackage.json").is_file()


def test_publish_error_is_the_base_of_blocked_releases():
    assert issubclass(ReleaseBlocked, PublishError)
