"""A daily release when anything changed, nothing when nothing did.

The schedule compares what a publish would combine now (every current
partition with the content hash it was parsed from) with the inputs of the
latest release (``notices.csv`` + ``rejects.csv`` name each notice and its
hash). Equal: skip, with the reason. Different (a notice added, changed or
removed): one run of ``publish_job`` — tables, their blocking checks, release.
Unchanged notices are not parsed again: the tables load their stored rows.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster import ScheduleEvaluationContext

from pipelines.automation import publish_job
from pipelines.refresh import InputChanges, input_changes, latest_release, parsed_inputs, release_inputs
from pipelines.resources import PipelinePaths

CRON = "0 6 * * *"


@dataclass(frozen=True)
class ReleaseDecision:
    publish: bool
    reason: str
    changes: InputChanges
    fingerprint: str  # hash of the inputs a publish would combine


def release_decision(
    instance: dg.DagsterInstance, published_dir: Path, known: Mapping[str, str] | None = None
) -> ReleaseDecision:
    """Whether a publish now would change the latest release's inputs, and why.

    ``known``: parse hashes of some partitions, read from the instance since their last run.
    """
    current = parsed_inputs(instance, known)
    latest = latest_release(published_dir)
    before = release_inputs(latest) if latest else None
    changes = input_changes(before or {}, current)
    fingerprint = hashlib.sha256("\n".join(f"{k}:{v}" for k, v in sorted(current.items())).encode("utf-8")).hexdigest()[
        :16
    ]
    if before is None:
        if not current:
            return ReleaseDecision(False, "no parsed notices and no release yet", changes, fingerprint)
        return ReleaseDecision(True, f"first release: {len(current)} notice(s)", changes, fingerprint)
    if changes.empty:
        return ReleaseDecision(False, f"nothing changed since release {latest.name}", changes, fingerprint)
    return ReleaseDecision(True, f"since release {latest.name}: {changes.summary()}", changes, fingerprint)


@dg.schedule(
    name="daily_release",
    cron_schedule=CRON,
    target=publish_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Publish a release each morning if any notice was added, changed or removed.",
)
def daily_release(context: ScheduleEvaluationContext, paths: PipelinePaths) -> dg.RunRequest | dg.SkipReason:
    decision = release_decision(context.instance, paths.published)
    if not decision.publish:
        return dg.SkipReason(decision.reason)
    return dg.RunRequest(
        run_key=f"release@{decision.fingerprint}",
        tags={
            "policy_tasks/reason": decision.reason[:200],
            "policy_tasks/added": str(len(decision.changes.added)),
            "policy_tasks/changed": str(len(decision.changes.changed)),
            "policy_tasks/removed": str(len(decision.changes.removed)),
        },
    )
