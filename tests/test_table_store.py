"""The table store: an update reads only what changed and gives the tables a full combine gives."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.ingest.read import Rejection
from pipelines.table_store import TableStore, combine
from schemas.tables import TABLES


class Counting(Mapping[str, Any]):
    """Outcomes by key that count which keys were read."""

    def __init__(self, outcomes: dict[str, Any]) -> None:
        self.outcomes, self.reads = outcomes, []

    def __getitem__(self, key: str) -> Any:
        self.reads.append(key)
        return self.outcomes[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)


def _same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    assert list(a) == list(b) == list(TABLES)
    for name in TABLES:
        assert_frame_equal(a[name], b[name], check_exact=True)


@pytest.fixture
def keyed(samples) -> dict[str, Any]:
    return {o.raw.notice_id: o for o in samples.values()}


def test_an_update_reads_only_changed_partitions_and_matches_a_full_combine(keyed, tmp_path):
    store = TableStore(tmp_path / "store")
    keys = sorted(keyed)
    first = {k: keyed[k] for k in keys[:3]}
    stamps = dict.fromkeys(first, "v1")
    frames, update = store.update(Counting(first), stamps)
    _same(frames, combine(first))
    assert (update.read, update.kept, update.removed) == (3, 0, 0)

    # Two notices land: only they are read; the result is the full combine of all five.
    outcomes = Counting(dict(keyed))
    frames, update = store.update(outcomes, {**stamps, **dict.fromkeys(keys[3:], "v1")})
    assert sorted(outcomes.reads) == keys[3:]
    assert (update.read, update.kept, update.removed) == (2, 3, 0)
    _same(frames, combine(keyed))

    # Nothing changed: nothing is read.
    outcomes = Counting(dict(keyed))
    frames, update = store.update(outcomes, dict.fromkeys(keys, "v1"))
    assert outcomes.reads == [] and update.read == 0
    _same(frames, combine(keyed))


def test_changed_and_removed_notices_leave_no_old_rows(keyed, tmp_path):
    store = TableStore(tmp_path / "store")
    keys = sorted(keyed)
    store.update(keyed, dict.fromkeys(keys, "v1"))
    # One notice is re-parsed into a rejection (its stamp changes), one file goes.
    changed = dict(keyed)
    changed[keys[0]] = replace(keyed[keys[0]], parsed=None, rejection=Rejection("parse", "parser error: test"))
    del changed[keys[1]]
    stamps = {**dict.fromkeys(keys, "v1"), keys[0]: "v2"}
    frames, update = store.update(changed, {k: stamps[k] for k in changed})
    assert (update.read, update.removed) == (1, 1)
    _same(frames, combine(changed))
    assert set(frames["notices"].get_column("notice_id")) == set(keys[2:])
    assert frames["rejects"].get_column("notice_id").to_list() == [keys[0]]


def test_a_duplicate_is_published_once_and_takes_over_when_the_original_goes(keyed, tmp_path):
    store = TableStore(tmp_path / "store")
    key = sorted(keyed)[2]
    copy = replace(keyed[key], raw=replace(keyed[key].raw, notice_id="zz_copy", file_name="zz_copy.txt"))
    with_copy = {**keyed, "zz_copy": copy}
    frames, _ = store.update(with_copy, dict.fromkeys(with_copy, "v1"))
    assert frames["rejects"].select("notice_id", "stage").rows() == [("zz_copy", "combine")]
    without_original = {k: v for k, v in with_copy.items() if k != key}
    frames, update = store.update(without_original, dict.fromkeys(without_original, "v1"))
    assert update.read == 0 and frames["rejects"].height == 0
    _same(frames, combine(without_original))


def test_a_store_of_another_layout_or_model_is_rebuilt(keyed, tmp_path, monkeypatch):
    from pipelines import table_store

    store = TableStore(tmp_path / "store")
    store.update(keyed, dict.fromkeys(keyed, "v1"))
    monkeypatch.setattr(table_store, "LAYOUT", table_store.LAYOUT + 1)
    outcomes = Counting(dict(keyed))
    frames, update = store.update(outcomes, dict.fromkeys(keyed, "v1"))
    assert update.rebuilt == "store layout changed" and update.read == len(keyed)
    _same(frames, combine(keyed))


def test_without_stamps_every_notice_is_read_and_nothing_is_stored(keyed, tmp_path):
    store = TableStore(tmp_path / "store")
    outcomes = Counting(dict(keyed))
    frames, update = store.update(outcomes, None)
    assert sorted(outcomes.reads) == sorted(keyed) and update.rebuilt
    assert not (tmp_path / "store").exists()
    _same(frames, combine(keyed))


def _segments(folder) -> list[dict]:
    return json.loads((folder / "store.json").read_text(encoding="utf-8"))["segments"]


def test_an_update_appends_a_segment_and_compacts_when_rows_go_stale(keyed, tmp_path):
    folder = tmp_path / "store"
    store = TableStore(folder)
    keys = sorted(keyed)
    stamps = dict.fromkeys(keys, "v1")
    store.update(keyed, stamps)
    assert [s["keys"] for s in _segments(folder)] == [5]

    # One notice of five re-parsed: its rows go to a second segment, the first is not rewritten.
    first = _segments(folder)[0]["name"]
    before = (folder / first / "tasks.arrow").stat().st_mtime_ns
    changed = dict(keyed)
    changed[keys[0]] = replace(keyed[keys[0]], parsed=None, rejection=Rejection("parse", "parser error: test"))
    stamps[keys[0]] = "v2"
    store.update(changed, stamps)
    segments = _segments(folder)
    assert segments[0]["name"] == first and [s["keys"] for s in segments] == [5, 1]
    assert (folder / first / "tasks.arrow").stat().st_mtime_ns == before

    # Read back, the first segment's superseded rows of that notice are left out.
    outcomes = Counting(changed)
    frames, update = store.update(outcomes, stamps)
    assert outcomes.reads == [] and update.read == 0
    _same(frames, combine(changed))
    assert keys[0] not in frames["tasks"].get_column("notice_id").to_list()

    # A second one re-parsed: a third of the stored rows are stale now, so the store is compacted.
    changed[keys[1]] = replace(keyed[keys[1]], parsed=None, rejection=Rejection("parse", "parser error: test"))
    stamps[keys[1]] = "v2"
    frames, _ = store.update(changed, stamps)
    assert [s["keys"] for s in _segments(folder)] == [5]
    _same(frames, combine(changed))
    _same(store.update(changed, stamps)[0], combine(changed))
    # Nothing but the current index, segments and store.json is left behind.
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["store.json", json.loads((folder / "store.json").read_text())["index"], _segments(folder)[0]["name"]]
    )


def test_many_small_updates_are_merged_without_rewriting_the_largest_segment(keyed, tmp_path, monkeypatch):
    from pipelines import table_store

    monkeypatch.setattr(table_store, "MAX_SEGMENTS", 3)
    folder = tmp_path / "store"
    store = TableStore(folder)
    keys = sorted(keyed)
    added = {key: keyed[key] for key in keys[:2]}  # a corpus of two, built at once
    store.update(Counting(added), dict.fromkeys(added, "v1"))
    base = _segments(folder)[0]["name"]
    written = (folder / base / "tasks.arrow").stat().st_mtime_ns
    sizes = []
    for key in keys[2:]:  # then notices land one at a time
        added[key] = keyed[key]
        frames, update = store.update(Counting(added), dict.fromkeys(added, "v1"))
        assert update.read == 1
        _same(frames, combine(added))
        sizes.append([s["keys"] for s in _segments(folder)])
    # Two small segments and the new notice are merged into one; the corpus's segment stays as written.
    assert sizes == [[2, 1], [2, 1, 1], [2, 3]]
    assert _segments(folder)[0]["name"] == base and (folder / base / "tasks.arrow").stat().st_mtime_ns == written
    _same(TableStore(folder).update(Counting(added), dict.fromkeys(added, "v1"))[0], combine(added))


def test_a_rewrite_with_its_modification_time_restored_still_changes_the_stamp(tmp_path):
    import os
    import pickle
    import time

    from pipelines.storage import PartitionFiles

    path = tmp_path / "k.pkl"
    path.write_bytes(pickle.dumps("alpha"))
    files = PartitionFiles(tmp_path, ["k"], ".pkl")
    before, st = files.stamps(), path.stat()
    time.sleep(0.05)  # past the file system's timestamp tick
    path.write_bytes(pickle.dumps("omega"))  # the same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # as a sync tool that keeps times does
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert files.stamps() != before
    assert files["k"] == "omega"
