"""``policy-tasks build``: run the whole asset graph in process on raw/.

The same Definitions load in ``dagster dev -w workspace.yaml``; this command
is the scripted path: add a partition per notice file, run the per-notice
assets for every new or changed notice in one run, then combine, check and
publish. It prints the release path and exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import atexit
import fcntl
import gc
import json
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from pipelines.assets.partitions import notice_partitions
from pipelines.atomic import write_atomic
from pipelines.definitions import build_definitions
from pipelines.event_log import INSTANCE_YAML
from pipelines.ingest.read import list_notice_files
from pipelines.publish.package_check import FULL_VALIDATION_ENV
from pipelines.refresh import (
    contiguous_ranges,
    latest_release,
    load_cache,
    plan_refresh,
    range_tags,
    scan_files,
    update_changelog,
)
from pipelines.schedules import release_decision
from pipelines.storage import wait_for_table_writes

STATE_DIR = ".policy_tasks_state"
# The build's own cache of raw/ hashes (the sensor keeps its own, named by its cursor).
RAW_SCAN_CACHE = "raw_scan_build.json"


def _instance(state_dir: Path) -> dg.DagsterInstance:
    """A persistent local Dagster instance, so reruns only redo what changed.

    Its ``dagster.yaml`` selects the pooled event log (:mod:`pipelines.event_log`);
    a file someone else wrote there is left as it is.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    config = state_dir / "dagster.yaml"
    current = config.read_text(encoding="utf-8") if config.is_file() else ""
    if not current.strip() or current.startswith(INSTANCE_YAML.splitlines()[0]):
        wanted = INSTANCE_YAML.format(base_dir=json.dumps(str((state_dir / "history" / "runs").resolve())))
        if current != wanted:
            config.write_text(wanted, encoding="utf-8")
    return dg.DagsterInstance.from_config(str(state_dir.resolve()))


def _run_config(verbose: bool) -> dict:
    """Console logging: warnings (rejected files, failed checks) unless verbose."""
    return {"loggers": {"console": {"config": {"log_level": "INFO" if verbose else "WARNING"}}}}


def build(
    raw_dir: Path,
    out_dir: Path,
    state_dir: Path,
    log=print,
    verbose: bool = False,
    force: bool = False,
    full_validation: bool = False,
) -> Path:
    """Bring the release of ``raw_dir`` up to date and return its path.

    Only notices whose bytes changed since they were last parsed are parsed
    (all of them in one run when they are contiguous); removed files lose their
    partition. The tables and the release are rebuilt only when the inputs
    differ from the latest release's, so a second build of the same ``raw_dir``
    parses nothing and returns the same release. ``force`` reparses every notice
    and republishes (after a parser change). ``full_validation`` has Frictionless
    read every row of the release, not only the rows new since ``latest``.
    """
    if full_validation:
        saved = os.environ.get(FULL_VALIDATION_ENV)
        os.environ[FULL_VALIDATION_ENV] = "1"
        try:
            return build(raw_dir, out_dir, state_dir, log, verbose, force)
        finally:
            if saved is None:
                os.environ.pop(FULL_VALIDATION_ENV, None)
            else:
                os.environ[FULL_VALIDATION_ENV] = saved
    with state_lock(state_dir, log):
        release = _build(raw_dir, out_dir, state_dir, log, verbose, force)
    _freeze_survivors()
    return release


_frozen = False


def _freeze_survivors() -> None:
    """After a process's first build, exempt what survived it from the cyclic collector.

    The imports (Dagster, GX, Frictionless: about half a million objects) and
    the caches a build fills stay for the life of the process, yet every full
    collection walked them all again: a fifth of a second, several times in a
    build that adds one notice. Frozen objects are still freed by reference
    counting; only a cycle among them would outlive the process. Once per
    process, after one collection, so that no earlier garbage is kept.
    """
    global _frozen
    if not _frozen and gc.isenabled():  # a flag: gc.get_freeze_count() walks every frozen object
        _frozen = True
        gc.collect()
        gc.freeze()
        # Before the interpreter's last collection: extension types (DuckDB's) that
        # it did not get to free report themselves as leaked on the way out.
        atexit.register(gc.unfreeze)


@contextmanager
def state_lock(state_dir: Path, log=print) -> Iterator[None]:
    """One build per state folder at a time; a second one waits for the first.

    Two at once would share the tables handed between steps, so a release could
    mix tables of both builds, or publish a view of raw/ older than the other's.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "build.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another build of {state_dir} to finish")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build(raw_dir: Path, out_dir: Path, state_dir: Path, log, verbose: bool, force: bool) -> Path:
    """:func:`build`, holding the state folder's lock."""
    defs = build_definitions(str(raw_dir), str(out_dir), str(state_dir / "storage"))
    instance = _instance(state_dir)
    # The event log keeps connections open: close them when the build is done.
    with instance:
        # The hashes of the last build's look at raw/, for the files that still carry their stamps.
        scan_cache = state_dir / RAW_SCAN_CACHE
        cached = load_cache(scan_cache)
        scan = scan_files(list_notice_files(raw_dir), cached, settle_seconds=0)
        if scan.cache != cached:
            write_atomic(scan_cache, json.dumps(scan.cache, sort_keys=True, ensure_ascii=False))
        plan = plan_refresh(instance, scan)
        if plan.delete:
            for key in plan.delete:
                instance.delete_dynamic_partition(notice_partitions.name, key)
            log(f"removed {len(plan.delete)} notice(s) no longer in {raw_dir}")
        if plan.add:
            instance.add_dynamic_partitions(notice_partitions.name, plan.add)
        todo = sorted(scan.digests) if force else plan.run
        log(f"{len(scan.digests)} notice file(s) in {raw_dir}; {len(todo)} new or changed to parse")
        if todo:
            run_notice_partitions(defs, instance, todo, _run_config(verbose))
        # What was parsed is known from the plan, but for the partitions just run.
        ran = set(todo)
        decision = release_decision(instance, out_dir, {k: v for k, v in plan.parsed.items() if k not in ran})
        latest = latest_release(out_dir)
        if latest is not None and not decision.publish and not force:
            log(f"release unchanged: {decision.reason}")
            update_changelog(out_dir)
            return latest
        result = defs.resolve_job_def("publish_job").execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config=_run_config(verbose),
            tags={"policy_tasks/reason": "cli"},
        )
        # The checks ran while the table files were written (pipelines/storage.py); were they?
        wait_for_table_writes()
        if not result.success:
            raise SystemExit(_failure_summary(result))
        for check in result.get_asset_check_evaluations():
            # Only failed ERROR checks stop a build; WARN checks (a declared count
            # that differs) are reported and published with the data.
            if not check.passed and check.severity == dg.AssetCheckSeverity.ERROR:
                raise SystemExit(f"check {check.check_name} failed")
            if not check.passed:
                log(f"warning: check {check.check_name} on {check.asset_key.to_user_string()} did not pass")
        rejects = [
            m
            for m in result.asset_materializations_for_node("notice_tables")
            if m.asset_key.to_user_string() == "rejects"
        ]
        n_rejects = int(rejects[0].metadata["dagster/row_count"].value) if rejects else 0
        mats = result.asset_materializations_for_node("release")
        path = Path(str(mats[0].metadata["path"].value))
        changes = update_changelog(out_dir)
        if changes is not None and changes.removed:
            log(f"release drops the rows of {len(changes.removed)} removed notice(s); see CHANGELOG.md")
        if n_rejects:
            log(f"{n_rejects} file(s) rejected; see rejects.csv in the release")
        return path


def run_notice_partitions(
    defs: dg.Definitions, instance: dg.DagsterInstance, keys: list[str], run_config: dict | None = None
) -> None:
    """One run per contiguous range of the partitions to (re)build (a single-run backfill each)."""
    job = defs.resolve_job_def("notice_job")
    order = instance.get_dynamic_partitions(notice_partitions.name)
    for start, end in contiguous_ranges(order, keys):
        tags = {**range_tags(start, end), "policy_tasks/reason": "cli"}
        result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False, run_config=run_config or {})
        if not result.success:
            raise SystemExit(_failure_summary(result))


def _failure_summary(result: dg.ExecuteInProcessResult) -> str:
    lines = ["build failed:"]
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            lines.append(f"  {event.step_key}: {event.step_failure_data.error.message.strip()}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-tasks", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="parse the notices in raw/ and publish a release")
    b.add_argument("--raw", type=Path, default=Path("raw"), help="folder of notice files (default raw/)")
    b.add_argument("--out", type=Path, default=Path("published"), help="release folder (default published/)")
    b.add_argument(
        "--state",
        type=Path,
        default=Path(os.environ.get("POLICY_TASKS_STATE", STATE_DIR)),
        help="Dagster instance and storage",
    )
    b.add_argument("--force", action="store_true", help="reparse every notice and republish (after a parser change)")
    b.add_argument(
        "--full-validation",
        action="store_true",
        help="Frictionless validates every row, not only the rows new since the latest release",
    )
    b.add_argument("-v", "--verbose", action="store_true", help="show Dagster's step logs")
    args = parser.parse_args(argv)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    warnings.filterwarnings("ignore", category=dg.BetaWarning) if hasattr(dg, "BetaWarning") else None
    if args.command == "build":
        if not args.raw.is_dir():
            print(f"error: {args.raw} is not a folder", file=sys.stderr)
            return 2
        path = build(
            args.raw,
            args.out,
            args.state,
            log=lambda m: print(m, file=sys.stderr),
            verbose=args.verbose,
            force=args.force,
            full_validation=args.full_validation,
        )
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
