"""Accuracy of the parser against the hand-written gold fixtures.

    python benchmarks/accuracy.py            # table + first mismatches of each kind
    python benchmarks/accuracy.py --json     # machine-readable figures
    python benchmarks/accuracy.py --show 40  # list more mismatches

Each sample of raw/ goes through the pure stages (read_notice → clean_stage →
parse_stage) and is scored against tests/fixtures/gold/NNN.json for

* units-with-roles: the SET of (unit, role) pairs of every gold task, compared
  with the parsed assignments (unit_raw, role) of the parsed task the gold
  locator points at; micro-averaged P/R/F1 per notice and overall;
* targets: a gold target matches a predicted target when value and unit are
  equal and the metrics overlap (one contains the other, whitespace removed);
  the strict rate also asks qualifier and year to agree.

The rules (also in benchmarks/README_accuracy.md):

1. A gold task is matched to the parsed task whose text contains its locator
   (original text, simplified text; punctuation width and whitespace
   normalised). Tasks whose text *starts* with the locator win over tasks that
   merely contain it; then the first in notice order. A gold task whose locator
   matches no parsed task scores all its pairs as false negatives and is listed.
2. Only gold tasks are scored: parsed pairs on tasks not in the gold file are
   ignored. A gold task with an empty list scores any parsed pair as a false
   positive (nothing invented).
3. A gold target is sought among the predicted targets of the parsed task its
   locator points at (a task locator of the gold file, or any parsed task text
   containing the locator). If the locator is a section's intro paragraph
   (found only in a section text), or the gold span does not occur in the
   located task's text (text printed elsewhere on the page, see NOTES.md for
   004), it is sought among the predicted targets of ANY task of the notice
   whose text contains the gold span. A gold target whose locator is found
   nowhere and whose span is in no task is a false negative and is listed.
4. Each prediction matches at most one gold target. Among candidates, the one
   with the same span wins, then one that also agrees on qualifier and year.
5. False positives for targets: unmatched predicted targets of the parsed tasks
   that gold tasks or gold target locators point at (NOTES.md: "for each task I
   did include, I tried to record every target", so a gold task without
   targets says "none here"). Predicted targets on other tasks are ignored.
   The figure ``targets_fp_gold_target_tasks_only`` restricts false positives
   to tasks that have at least one gold target (the looser reading).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/accuracy.py` from anywhere
    sys.path.insert(0, str(ROOT))

from pipelines.clean.punctuation import normalize_punctuation  # noqa: E402

GOLD_DIR = ROOT / "tests" / "fixtures" / "gold"
RAW_DIR = ROOT / "raw"

Row = dict[str, Any]
_WS = re.compile(r"\s+")


# --------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------


@dataclass
class PRF:
    """True positives, false positives, false negatives and the rates."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def total(scores: Iterable[PRF]) -> PRF:
    """Micro-average: sum the counts."""
    out = PRF()
    for s in scores:
        out = out + s
    return out


# --------------------------------------------------------------------------
# Normalisation and locating
# --------------------------------------------------------------------------


def norm(text: str | None) -> str:
    """Canonical punctuation width, no whitespace: the form locators are compared in."""
    return _WS.sub("", normalize_punctuation(text or ""))


def _simplify(text: str) -> str:
    try:
        from pipelines.clean.script import to_simplified
    except ImportError:  # pragma: no cover - the pipeline always has it
        return text
    return to_simplified(text)


def locate(locator: str, items: Sequence[Row], fields: Sequence[str] = ("text", "text_simplified")) -> int | None:
    """Index of the item whose text contains ``locator``, or None.

    Items whose text starts with the locator win; then the first in order.
    The locator is tried as written and simplified (for traditional notices).
    """
    needles = {norm(locator)}
    needles.add(norm(_simplify(locator)))
    needles.discard("")
    if not needles:
        return None
    contains: int | None = None
    for i, item in enumerate(items):
        for f in fields:
            hay = norm(item.get(f))
            if not hay:
                continue
            for needle in needles:
                if hay.startswith(needle):
                    return i
                if contains is None and needle in hay:
                    contains = i
    return contains


def _holder(target: Row) -> str:
    """Task id of a predicted target, or ``section:<id>`` for one read from a section's intro."""
    return target.get("task_id") or f"section:{target.get('section_id')}"


def _section_contains(section: Row, fragment: str) -> bool:
    """A section's intro text (original script, so also simplified) contains ``fragment``."""
    text = section.get("text") or ""
    return bool(text) and (text_contains(section, fragment, ("text",)) or norm(fragment) in norm(_simplify(text)))


def text_contains(item: Row, fragment: str, fields: Sequence[str] = ("text_simplified", "text")) -> bool:
    """True if any of ``fields`` of ``item`` contains ``fragment`` (normalised)."""
    needle = norm(fragment)
    if not needle:
        return False
    return any(needle in norm(item.get(f)) for f in fields)


# --------------------------------------------------------------------------
# Units with roles
# --------------------------------------------------------------------------


def pair_key(unit: str, role: str) -> tuple[str, str]:
    return norm(unit), (role or "").strip()


def score_pairs(gold: Iterable[tuple[str, str]], predicted: Iterable[tuple[str, str]]):
    """(PRF, missing, extra) comparing two sets of (unit, role) pairs."""
    g = {pair_key(u, r) for u, r in gold}
    p = {pair_key(u, r) for u, r in predicted}
    missing = sorted(g - p)
    extra = sorted(p - g)
    return PRF(len(g & p), len(extra), len(missing)), missing, extra


# --------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------


def _num_equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return False


def _unit(u: str | None) -> str:
    return norm(u).replace("％", "%")


def metrics_overlap(a: str | None, b: str | None) -> bool:
    """Metrics agree when equal, or both non-empty and one contains the other."""
    x, y = norm(a), norm(b)
    if x == y:
        return True
    return bool(x and y) and (x in y or y in x)


def _year(y: Any) -> int | None:
    if y is None or y == "":
        return None
    try:
        return int(float(y))
    except (TypeError, ValueError):
        return None


def target_matches(gold: Row, pred: Row) -> bool:
    """Value and unit equal, metrics overlap."""
    return (
        _num_equal(gold.get("value"), pred.get("value"))
        and _unit(gold.get("unit")) == _unit(pred.get("unit"))
        and metrics_overlap(gold.get("metric"), pred.get("metric"))
    )


def target_matches_strict(gold: Row, pred: Row) -> bool:
    """A match that also agrees on qualifier and year."""
    return (
        target_matches(gold, pred)
        and (gold.get("qualifier") or None) == (pred.get("qualifier") or None)
        and _year(gold.get("year")) == _year(pred.get("year"))
    )


def match_targets(gold: Sequence[Row], candidates: Sequence[Sequence[int]], predicted: Sequence[Row]):
    """Greedy one-to-one matching.

    ``candidates[i]`` lists indexes into ``predicted`` that gold target ``i``
    may match. Returns ``{gold index: predicted index}``. A candidate with the
    same span is preferred, then one that matches strictly, then order.
    """
    used: set[int] = set()
    out: dict[int, int] = {}
    for gi, g in enumerate(gold):
        best: tuple[int, int, int] | None = None
        for pi in candidates[gi]:
            if pi in used or not target_matches(g, predicted[pi]):
                continue
            rank = (
                0 if norm(g.get("span")) == norm(predicted[pi].get("span")) else 1,
                0 if target_matches_strict(g, predicted[pi]) else 1,
                pi,
            )
            if best is None or rank < best:
                best = rank
        if best is not None:
            out[gi] = best[2]
            used.add(best[2])
    return out


# --------------------------------------------------------------------------
# One notice
# --------------------------------------------------------------------------


@dataclass
class Mismatch:
    kind: str  # unlocated_task, missing_pair, extra_pair, unlocated_target, missing_target, extra_target
    notice: str
    label: str
    detail: str
    text: str


@dataclass
class NoticeScore:
    notice: str
    tasks_gold: int
    tasks_matched: int
    units: PRF
    targets: PRF
    targets_strict: PRF
    targets_loose_fp: PRF  # false positives only on tasks with gold targets
    mismatches: list[Mismatch] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "notice": self.notice,
            "tasks_gold": self.tasks_gold,
            "tasks_matched": self.tasks_matched,
            "units": self.units.as_dict(),
            "targets": self.targets.as_dict(),
            "targets_strict": self.targets_strict.as_dict(),
            "targets_fp_gold_target_tasks_only": self.targets_loose_fp.as_dict(),
        }


def _excerpt(text: str | None, n: int = 60) -> str:
    t = (text or "").replace("\n", " ")
    return t if len(t) <= n else t[:n] + "…"


def _target_str(t: Row) -> str:
    q = f" {t['qualifier']}" if t.get("qualifier") else ""
    y = f" @{_year(t.get('year'))}" if _year(t.get("year")) else ""
    value = t.get("value")
    v = f"{value:g}" if isinstance(value, int | float) else str(value)
    return f"[{t.get('metric')}] {v}{t.get('unit')}{q}{y}  «{t.get('span')}»"


def score_notice(gold: dict[str, Any], rows: dict[str, list[Row]], notice: str | None = None) -> NoticeScore:
    """Score one notice: ``gold`` is a gold JSON object, ``rows`` the parsed tables.

    ``rows`` needs ``tasks`` (task_id, label, text, text_simplified),
    ``assignments`` (task_id, unit_raw, role) and ``targets`` (task_id, metric,
    value, unit, qualifier, year, span); ``sections`` (text) is optional.
    """
    notice = notice or str(gold.get("notice_file", ""))[:3]
    tasks: list[Row] = list(rows.get("tasks", []))
    sections: list[Row] = list(rows.get("sections", []))
    pairs_by_task: dict[str, set[tuple[str, str]]] = {}
    for a in rows.get("assignments", []):
        pairs_by_task.setdefault(a["task_id"], set()).add((a["unit_raw"], a["role"]))
    preds: list[Row] = list(rows.get("targets", []))
    # A prediction belongs to its task, or (task_id empty) to the section whose intro it was read from.
    preds_by_task: dict[str, list[int]] = {}
    for i, t in enumerate(preds):
        preds_by_task.setdefault(_holder(t), []).append(i)

    mismatches: list[Mismatch] = []
    units = PRF()
    matched = 0
    scored_task_ids: set[str] = set()
    task_of_locator: dict[str, int | None] = {}

    # --- units with roles --------------------------------------------------
    for g in gold.get("tasks", []):
        idx = locate(g["locator"], tasks)
        task_of_locator[g["locator"]] = idx
        gold_pairs = [(a["unit"], a["role"]) for a in g.get("assignments", [])]
        label = str(g.get("label", ""))
        if idx is None:
            units = units + PRF(0, 0, len({pair_key(u, r) for u, r in gold_pairs}))
            mismatches.append(Mismatch("unlocated_task", notice, label, f"locator «{g['locator']}»", ""))
            continue
        matched += 1
        task = tasks[idx]
        scored_task_ids.add(task["task_id"])
        score, missing, extra = score_pairs(gold_pairs, pairs_by_task.get(task["task_id"], set()))
        units = units + score
        shown = f"{label} → parsed {task.get('label')}"
        for u, r in missing:
            mismatches.append(Mismatch("missing_pair", notice, shown, f"{u} / {r}", _excerpt(task.get("text"))))
        for u, r in extra:
            mismatches.append(Mismatch("extra_pair", notice, shown, f"{u} / {r}", _excerpt(task.get("text"))))

    # --- targets -----------------------------------------------------------
    gold_targets: list[Row] = list(gold.get("targets", []))
    candidates: list[list[int]] = []
    located: list[int | None] = []
    for gt in gold_targets:
        loc = gt["locator"]
        idx = task_of_locator[loc] if loc in task_of_locator else locate(loc, tasks)
        task_of_locator.setdefault(loc, idx)
        if idx is not None:
            scored_task_ids.add(tasks[idx]["task_id"])
        if idx is not None and text_contains(tasks[idx], gt.get("span") or ""):
            cands = preds_by_task.get(tasks[idx]["task_id"], [])
        else:
            # Intro paragraph, or text printed elsewhere: any task holding the span.
            span = gt.get("span") or ""
            holders = [t["task_id"] for t in tasks if text_contains(t, span)]
            holders += [f"section:{x['section_id']}" for x in sections if _section_contains(x, span)]
            cands = [pi for tid in holders for pi in preds_by_task.get(tid, [])]
            sec = locate(loc, sections, ("text",)) if idx is None else None
            if sec is not None:
                scored_task_ids.add(f"section:{sections[sec]['section_id']}")
            if idx is None and not holders and sec is None:
                mismatches.append(Mismatch("unlocated_target", notice, "", f"locator «{loc}»: {_target_str(gt)}", ""))
        located.append(idx)
        candidates.append(cands)
    pairing = match_targets(gold_targets, candidates, preds)
    used = set(pairing.values())
    strict_tp = sum(1 for gi, pi in pairing.items() if target_matches_strict(gold_targets[gi], preds[pi]))
    gold_target_task_ids = {tasks[i]["task_id"] for i in located if i is not None}
    fp = [pi for tid in sorted(scored_task_ids) for pi in preds_by_task.get(tid, []) if pi not in used]
    fp_loose = [pi for pi in fp if _holder(preds[pi]) in gold_target_task_ids or not preds[pi].get("task_id")]
    n_gold = len(gold_targets)
    targets = PRF(len(pairing), len(fp), n_gold - len(pairing))
    targets_strict = PRF(strict_tp, len(fp) + len(pairing) - strict_tp, n_gold - strict_tp)
    targets_loose = PRF(len(pairing), len(fp_loose), n_gold - len(pairing))

    task_by_id = {t["task_id"]: t for t in tasks}
    for x in sections:  # section-level predictions: shown with the section's title as label
        task_by_id[f"section:{x['section_id']}"] = {"label": f"§{x.get('title')}", "text": x.get("text")}
    for gi, gt in enumerate(gold_targets):
        if gi in pairing:
            continue
        idx = located[gi]
        label = str(tasks[idx].get("label")) if idx is not None else "?"
        text = tasks[idx].get("text") if idx is not None else gt["locator"]
        mismatches.append(Mismatch("missing_target", notice, label, _target_str(gt), _excerpt(text)))
    for pi in sorted(fp):
        t = task_by_id.get(_holder(preds[pi]), {})
        mismatches.append(
            Mismatch("extra_target", notice, str(t.get("label")), _target_str(preds[pi]), _excerpt(t.get("text")))
        )
    for gi, pi in pairing.items():
        g, p = gold_targets[gi], preds[pi]
        if not target_matches_strict(g, p):
            mismatches.append(
                Mismatch(
                    "loose_only_target",
                    notice,
                    str(task_by_id.get(_holder(p), {}).get("label")),
                    f"gold {_target_str(g)}  ≠  parsed {_target_str(p)}",
                    "",
                )
            )
    return NoticeScore(
        notice, len(gold.get("tasks", [])), matched, units, targets, targets_strict, targets_loose, mismatches
    )


# --------------------------------------------------------------------------
# The fixtures
# --------------------------------------------------------------------------


def parse_sample(path: Path) -> dict[str, list[Row]]:
    """Rows of one sample through the pure stages (no Dagster run)."""
    from pipelines.combine import records
    from pipelines.ingest.read import read_notice
    from pipelines.stages import clean_stage, parse_stage

    outcome = parse_stage(clean_stage(read_notice(path)))
    if outcome.parsed is None:
        reason = outcome.rejection.reason if outcome.rejection else "unknown"
        print(f"warning: {path.name} rejected: {reason}", file=sys.stderr)
        return {"tasks": [], "sections": [], "assignments": [], "targets": []}
    return {table: records(outcome.parsed, table) for table in outcome.parsed.rows}


def score_fixtures(gold_dir: Path = GOLD_DIR, raw_dir: Path = RAW_DIR) -> list[NoticeScore]:
    scores = []
    for gold_path in sorted(gold_dir.glob("*.json")):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        rows = parse_sample(raw_dir / gold["notice_file"])
        scores.append(score_notice(gold, rows, gold_path.stem))
    return scores


def summary(scores: Sequence[NoticeScore]) -> dict[str, Any]:
    overall = {
        "tasks_gold": sum(s.tasks_gold for s in scores),
        "tasks_matched": sum(s.tasks_matched for s in scores),
        "units": total(s.units for s in scores).as_dict(),
        "targets": total(s.targets for s in scores).as_dict(),
        "targets_strict": total(s.targets_strict for s in scores).as_dict(),
        "targets_fp_gold_target_tasks_only": total(s.targets_loose_fp for s in scores).as_dict(),
    }
    kinds = Counter(m.kind for s in scores for m in s.mismatches)
    return {
        "notices": [s.as_dict() for s in scores],
        "overall": overall,
        "floor": {"units_f1": UNITS_FLOOR, "targets_f1": TARGETS_FLOOR},
        "mismatch_counts": dict(sorted(kinds.items())),
        "mismatches": [asdict(m) for s in scores for m in s.mismatches],
    }


UNITS_FLOOR = 0.97
TARGETS_FLOOR = 0.95


def render(scores: Sequence[NoticeScore], show: int = 15) -> str:
    head = (
        f"{'notice':<8}{'tasks':>8} │ {'units P':>8}{'R':>7}{'F1':>7} {'(tp/fp/fn)':>14} │"
        f" {'targets P':>9}{'R':>7}{'F1':>7} {'(tp/fp/fn)':>12} │ {'strict F1':>9}"
    )
    lines = [head, "─" * len(head)]

    def row(name: str, gold: int, matched: int, u: PRF, t: PRF, ts: PRF) -> str:
        return (
            f"{name:<8}{f'{matched}/{gold}':>8} │ {u.precision:>8.3f}{u.recall:>7.3f}{u.f1:>7.3f}"
            f" {f'({u.tp}/{u.fp}/{u.fn})':>14} │ {t.precision:>9.3f}{t.recall:>7.3f}{t.f1:>7.3f}"
            f" {f'({t.tp}/{t.fp}/{t.fn})':>12} │ {ts.f1:>9.3f}"
        )

    for s in scores:
        lines.append(row(s.notice, s.tasks_gold, s.tasks_matched, s.units, s.targets, s.targets_strict))
    lines.append("─" * len(head))
    u = total(s.units for s in scores)
    t = total(s.targets for s in scores)
    ts = total(s.targets_strict for s in scores)
    tl = total(s.targets_loose_fp for s in scores)
    lines.append(row("overall", sum(s.tasks_gold for s in scores), sum(s.tasks_matched for s in scores), u, t, ts))
    lines.append("")
    lines.append(
        f"floor: units F1 {u.f1:.3f} {'≥' if u.f1 >= UNITS_FLOOR else '<'} {UNITS_FLOOR}"
        f" ({'ok' if u.f1 >= UNITS_FLOOR else 'BELOW'}), "
        f"targets F1 {t.f1:.3f} {'≥' if t.f1 >= TARGETS_FLOOR else '<'} {TARGETS_FLOOR}"
        f" ({'ok' if t.f1 >= TARGETS_FLOOR else 'BELOW'})"
    )
    lines.append(
        f"targets strict (qualifier and year agree too): P {ts.precision:.3f} R {ts.recall:.3f} F1 {ts.f1:.3f}; "
        f"with false positives only on tasks that have gold targets: P {tl.precision:.3f} F1 {tl.f1:.3f}"
    )
    titles = {
        "unlocated_task": "gold tasks whose locator matches no parsed task (all pairs → false negatives)",
        "unlocated_target": "gold targets whose locator and span match nothing parsed",
        "missing_pair": "missing (unit / role) pairs  [gold label → parsed label]",
        "extra_pair": "extra (unit / role) pairs  [gold label → parsed label]",
        "missing_target": "missing targets  [parsed task label]",
        "extra_target": "extra targets  [parsed task label]",
        "loose_only_target": "targets matched on value/unit/metric but not on qualifier or year",
    }
    for kind, title in titles.items():
        items = [m for s in scores for m in s.mismatches if m.kind == kind]
        if not items:
            continue
        lines.append("")
        lines.append(f"== {title}: {len(items)}" + (f" (first {show})" if len(items) > show else ""))
        for m in items[:show]:
            where = f"{m.notice} {m.label}".strip()
            text = f"   | {m.text}" if m.text else ""
            lines.append(f"  {where:<14} {m.detail}{text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print machine-readable figures")
    parser.add_argument("--show", type=int, default=15, help="mismatches listed per kind (default 15)")
    parser.add_argument("--gold", type=Path, default=GOLD_DIR)
    parser.add_argument("--raw", type=Path, default=RAW_DIR)
    args = parser.parse_args(argv)
    scores = score_fixtures(args.gold, args.raw)
    if args.json:
        print(json.dumps(summary(scores), ensure_ascii=False, indent=1))
    else:
        print(render(scores, args.show))
    return 0


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    sys.exit(main())
