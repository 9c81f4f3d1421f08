"""Files this pipeline wrote and hashed are not hashed again unless they may have changed.

A changed file is still caught: a same-size rewrite, a rewrite with the old
modification time put back, a write in the same clock tick as the record.
"""

import hashlib
import os

import polars as pl
import pytest

from pipelines.publish import package_check, release_files, stamps
from pipelines.publish.release import record_expectations, write_release
from pipelines.table_store import combine

DATASET = "policy-tasks"


@pytest.fixture(scope="module")
def all_frames(samples) -> dict[str, pl.DataFrame]:
    return combine({outcome.raw.notice_id: outcome for outcome in samples.values()})


def _rewrite(frames: dict[str, pl.DataFrame], text: str) -> dict[str, pl.DataFrame]:
    """The tables with the text of one task far down the file changed (a small delta)."""
    task_id = frames["tasks"].get_column("task_id")[frames["tasks"].height - 3]
    tasks = frames["tasks"].with_columns(
        text=pl.when(pl.col("task_id") == task_id).then(pl.lit(text)).otherwise("text")
    )
    return {**frames, "tasks": tasks}


def _flip_last_byte(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))


def test_a_stamp_counts_only_for_a_file_untouched_since_the_record(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n1,2\n")
    entry = {"sha256": hashlib.sha256(b"a,b\n1,2\n").hexdigest(), "stamp": stamps.file_stamp(path)}
    changed_at = entry["stamp"][3]
    assert stamps.unchanged(path, entry, changed_at + 1)
    # Written in the very tick the record was made: not to be told apart, so not trusted.
    assert not stamps.unchanged(path, entry, changed_at)
    assert not stamps.unchanged(path, {"stamp": "?"}, changed_at + 1)
    assert not stamps.unchanged(tmp_path / "missing.csv", entry, changed_at + 1)

    # The same bytes again, and the old modification time put back: the change time moved.
    st = os.stat(path)
    path.write_bytes(b"a,b\n1,3\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == entry["stamp"][0] and os.stat(path).st_mtime_ns == entry["stamp"][2]
    assert not stamps.unchanged(path, entry, 2**62)


def test_a_refresh_hashes_what_it_wrote_once(all_frames, tmp_path, monkeypatch):
    """The staged files and the previous release's files are not hashed a second time."""
    out, records = tmp_path / "published", tmp_path / "records"
    first = write_release(all_frames, out, expectations=False)
    assert (out / DATASET / stamps.FOLDER / f"{first.version}.json").is_file()

    hashed: list[str] = []
    file_sha256 = release_files.file_sha256
    monkeypatch.setattr(release_files, "file_sha256", lambda p: hashed.append(p.name) or file_sha256(p))
    big: list[int] = []  # what the package check hashes (the previous release's CSVs, when it must)

    class Counting:
        @staticmethod
        def sha256(data=b""):
            big.append(len(data))
            return hashlib.sha256(data)

    monkeypatch.setattr(package_check, "hashlib", Counting)
    frames = _rewrite(all_frames, "盖过章的文件")
    record_expectations(frames, records, out)
    # Staging: the patched DuckDB file and the Parquet copies are hashed as written; the copy of
    # the previous release's DuckDB file is not hashed to prove it was that file.
    assert hashed.count("policy-tasks.duckdb") == 1
    staged_hashes = len(hashed)
    second = write_release(frames, out, gx_records=records)
    assert second.expectations == "recorded by the check"
    assert len(hashed) == staged_hashes  # the release took the staged files without hashing them again
    previous_csvs = {(first.path / f"{name}.csv").stat().st_size for name in all_frames}
    assert previous_csvs.isdisjoint(big)  # the previous release's CSVs were not hashed again
    sums = (second.path / "SHA256SUMS").read_text(encoding="utf-8")
    for rel in release_files.data_files():
        assert f"{hashlib.sha256((second.path / rel).read_bytes()).hexdigest()}  {rel}\n" in sums


@pytest.mark.parametrize("damaged", ["tasks.csv", "policy-tasks.duckdb"])
def test_a_previous_file_rewritten_in_place_is_hashed_and_not_trusted(all_frames, tmp_path, monkeypatch, damaged):
    """Same size, other bytes, in the release folder itself (its stamps record is still there)."""
    out = tmp_path / "published"
    first = write_release(all_frames, out, expectations=False)
    _flip_last_byte(first.path / damaged)
    fresh: list[object] = []
    write_duckdb = release_files.write_duckdb
    monkeypatch.setattr(release_files, "write_duckdb", lambda *a: fresh.append(a) or write_duckdb(*a))
    check = package_check.check_package
    checks: list[package_check.PackageCheck] = []
    monkeypatch.setattr(
        "pipelines.publish.release.check_package", lambda *a, **k: checks.append(check(*a, **k)) or checks[-1]
    )
    second = write_release(_rewrite(all_frames, "改过的文件"), out, expectations=False)
    if damaged == "tasks.csv":
        assert checks[0].full_tables.get("tasks") == "previous file does not match its recorded hash"
        assert not fresh  # the DuckDB file was still the one recorded: patched
    else:
        assert "tasks" not in checks[0].full_tables
        assert len(fresh) == 1  # not the file its release recorded: written anew
    assert second.new
