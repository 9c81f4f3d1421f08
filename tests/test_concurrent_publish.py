"""Two builds publishing to the same published/ at once must not corrupt it."""

import multiprocessing as mp
import time

import pytest

from pipelines.publish.release import PublishError, publish_lock

CTX = mp.get_context("fork")


def _hold_lock(dataset_dir, seconds, ready):
    with publish_lock(dataset_dir):
        ready.set()
        time.sleep(seconds)
        # Written while still holding the lock: whoever gets the lock next sees it.
        (dataset_dir / "first-done").write_text("done")


def test_a_second_publisher_waits_for_the_first(tmp_path):
    ready = CTX.Event()
    holder = CTX.Process(target=_hold_lock, args=(tmp_path, 1.0, ready))
    holder.start()
    assert ready.wait(30)
    with publish_lock(tmp_path, wait=30):
        assert (tmp_path / "first-done").exists()
    holder.join(10)
    assert holder.exitcode == 0


def test_a_second_publisher_gives_up_with_a_clear_message(tmp_path):
    ready = CTX.Event()
    holder = CTX.Process(target=_hold_lock, args=(tmp_path, 3.0, ready))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(PublishError, match="another build is publishing"):
            with publish_lock(tmp_path, wait=0.3):
                pass
    finally:
        holder.join(10)
