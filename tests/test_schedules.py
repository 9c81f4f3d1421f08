"""daily_release: a run when what would be published differs from the latest release, a skip otherwise."""

import csv
import json

import dagster as dg
import pytest

from pipelines.resources import PipelinePaths
from pipelines.schedules import daily_release


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    with dg.instance_for_test(temp_dir=str(tmp_path_factory.mktemp("dagster"))) as instance:
        yield instance


@pytest.fixture
def published(tmp_path, instance):
    for key in instance.get_dynamic_partitions("notices"):
        instance.delete_dynamic_partition("notices", key)
    instance.wipe_assets([dg.AssetKey("raw_notice"), dg.AssetKey("parsed_notice")])
    return tmp_path / "published"


def _parsed(instance, inputs: dict[str, str]) -> None:
    instance.add_dynamic_partitions("notices", [k for k in inputs if not instance.has_dynamic_partition("notices", k)])
    for key, sha in inputs.items():
        instance.report_runless_asset_event(
            dg.AssetMaterialization("raw_notice", partition=key, metadata={"raw_sha256": sha})
        )
        instance.report_runless_asset_event(dg.AssetMaterialization("parsed_notice", partition=key))


def _release(published, version: str, notices: dict[str, str], rejects: dict[str, str] | None = None) -> None:
    """A release as publish writes it, reduced to what the schedule reads."""
    folder = published / "policy-tasks" / version
    folder.mkdir(parents=True)
    (folder / "datapackage.json").write_text(json.dumps({"name": "policy-tasks", "version": version}))
    for table, rows in (("notices", notices), ("rejects", rejects or {})):
        with open(folder / f"{table}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["notice_id", "title", "raw_sha256"])
            writer.writerows([k, "t", v] for k, v in rows.items())
    latest = published / "policy-tasks" / "latest"
    if latest.is_symlink():
        latest.unlink()
    latest.symlink_to(version)


def _tick(instance, published):
    context = dg.build_schedule_context(
        instance=instance, resources={"paths": PipelinePaths(raw_dir="unused", published_dir=str(published))}
    )
    return daily_release(context)


def test_nothing_parsed_and_nothing_published_skips(instance, published):
    assert isinstance(_tick(instance, published), dg.SkipReason)


def test_first_release_runs(instance, published):
    _parsed(instance, {"a": "1", "b": "2"})
    request = _tick(instance, published)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["policy_tasks/added"] == "2"


def test_unchanged_inputs_skip(instance, published):
    _parsed(instance, {"a": "1", "b": "2", "bad": "3"})
    _release(published, "v1", {"a": "1", "b": "2"}, rejects={"bad": "3"})
    result = _tick(instance, published)
    assert isinstance(result, dg.SkipReason)
    assert "nothing changed since release v1" in result.skip_message


def test_changed_notice_runs(instance, published):
    _parsed(instance, {"a": "1", "b": "2-new"})
    _release(published, "v1", {"a": "1", "b": "2"})
    request = _tick(instance, published)
    assert isinstance(request, dg.RunRequest) and request.tags["policy_tasks/changed"] == "1"


def test_removed_notice_runs(instance, published):
    _parsed(instance, {"a": "1"})  # b's partition was deleted by the sensor
    _release(published, "v1", {"a": "1", "b": "2"})
    request = _tick(instance, published)
    assert isinstance(request, dg.RunRequest) and request.tags["policy_tasks/removed"] == "1"


def test_schedule_is_on_by_default_and_targets_the_publish_job():
    assert daily_release.default_status == dg.DefaultScheduleStatus.RUNNING
    assert daily_release.job_name == "publish_job"
