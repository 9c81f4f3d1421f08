"""The whole graph on raw/ into a temporary folder, as `policy-tasks build` runs it."""

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import frictionless
import pytest

from pipelines.cli import build
from tests.conftest import RAW, ROOT


def _csv(release: Path, table: str) -> list[dict[str, str]]:
    with open(release / f"{table}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """raw/ plus two bad files, built once for this module."""
    base = tmp_path_factory.mktemp("e2e")
    raw = base / "raw"
    shutil.copytree(RAW, raw)
    (raw / "empty notice.txt").write_bytes(b"")
    (raw / "scan.txt").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    release = build(raw, base / "published", base / "state", log=lambda _m: None)
    return base, release


def test_release_is_a_valid_frictionless_package(built):
    _, release = built
    assert (release / "datapackage.json").is_file()
    report = frictionless.validate(str(release / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldNumber", "type", "note"])
    for table in ("notices", "sections", "tasks", "assignments", "units", "targets", "glossary", "rejects"):
        assert (release / f"{table}.csv").is_file()
        assert (release / "parquet" / f"{table}.parquet").is_file()


def test_published_counts_match_the_notices(built):
    _, release = built
    tasks = _csv(release, "tasks")
    per_notice = {}
    for t in tasks:
        per_notice[t["notice_id"][:3]] = per_notice.get(t["notice_id"][:3], 0) + 1
    assert per_notice["000"] == 82
    assert per_notice["001"] == 25
    assert per_notice["003"] == 114
    assert len(_csv(release, "glossary")) == 24
    assert len(_csv(release, "notices")) == 5
    assert not [a for a in _csv(release, "assignments") if a["task_id"].startswith(("001", "004"))]


def test_bad_files_land_in_rejects_and_the_rest_publishes(built):
    _, release = built
    rejects = {r["file_name"]: r for r in _csv(release, "rejects")}
    assert set(rejects) == {"empty notice.txt", "scan.txt"}
    assert rejects["scan.txt"]["stage"] == "decode" and "PDF" in rejects["scan.txt"]["reason"]
    assert "empty" in rejects["empty notice.txt"]["reason"].lower()


def test_chinese_text_round_trips_unchanged(built):
    _, release = built
    titles = {n["notice_id"][:3]: n["title"] for n in _csv(release, "notices")}
    assert titles["001"].startswith("中共湖南省委 湖南省人民政府關於貫徹落實")


def test_rebuilding_unchanged_input_gives_the_same_release(built):
    base, release = built
    again = build(base / "raw", base / "published", base / "state", log=lambda _m: None)
    assert again == release
    assert (base / "published" / "policy-tasks" / "latest").resolve() == release.resolve()


def test_dagster_loads_the_workspace():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "passed validation" in result.stderr + result.stdout
