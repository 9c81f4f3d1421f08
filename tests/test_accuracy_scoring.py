"""The scoring behind benchmarks/accuracy.py, on tiny hand-built inputs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_benchmark():
    """benchmarks/ is a folder of scripts, not a package: load the module by path."""
    name = "policy_tasks_accuracy_benchmark"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "accuracy.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


acc = _load_benchmark()
PRF, total, locate, match_targets = acc.PRF, acc.total, acc.locate, acc.match_targets
metrics_overlap, score_notice, score_pairs = acc.metrics_overlap, acc.score_notice, acc.score_pairs
target_matches, target_matches_strict = acc.target_matches, acc.target_matches_strict


def _task(tid: str, text: str, label: str = "1", simplified: str | None = None) -> dict:
    return {"task_id": tid, "label": label, "text": text, "text_simplified": simplified or text}


def _pair(tid: str, unit: str, role: str) -> dict:
    return {"task_id": tid, "unit_raw": unit, "role": role}


def _target(metric, value, unit, *, qualifier=None, year=None, span=None, locator=None, tid=None) -> dict:
    t = {"metric": metric, "value": value, "value_max": None, "unit": unit, "qualifier": qualifier, "year": year}
    t["span"] = span if span is not None else f"{metric}{value:g}{unit}{qualifier or ''}"
    if locator is not None:
        t["locator"] = locator
    if tid is not None:
        t["task_id"] = tid
    return t


TASKS = [
    _task("n:t001", "扩大有效投资,推进重大项目建设。(省发展改革委牵头,省财政厅负责)", "1"),
    _task("n:t002", "稳定粮食生产,粮食产量达到600亿斤以上。(省农业农村厅牵头)", "2"),
    _task("n:t003", "加强宣传引导。", "3"),
]
PAIRS = [
    _pair("n:t001", "省发展改革委", "lead"),
    _pair("n:t001", "省财政厅", "responsible"),
    _pair("n:t002", "省农业农村厅", "lead"),
]
GOLD = {
    "notice_file": "nnn_test.txt",
    "tasks": [
        {
            "label": "1",
            "locator": "扩大有效投资,推进",
            "assignments": [{"unit": "省发展改革委", "role": "lead"}, {"unit": "省财政厅", "role": "responsible"}],
        },
        {"label": "2", "locator": "稳定粮食生产", "assignments": [{"unit": "省农业农村厅", "role": "lead"}]},
    ],
    "targets": [
        _target("粮食产量", 600, "亿斤", qualifier="以上", span="粮食产量达到600亿斤以上", locator="稳定粮食生产")
    ],
}


def _rows(pairs=PAIRS, targets=None, tasks=TASKS, sections=()):
    if targets is None:
        targets = [_target("粮食产量", 600, "亿斤", qualifier="以上", span="粮食产量达到600亿斤以上", tid="n:t002")]
    return {"tasks": list(tasks), "assignments": list(pairs), "targets": list(targets), "sections": list(sections)}


# --- rates -----------------------------------------------------------------------


def test_prf_rates_and_micro_average():
    s = PRF(tp=8, fp=2, fn=0)
    assert s.precision == pytest.approx(0.8) and s.recall == 1.0
    assert s.f1 == pytest.approx(2 * 0.8 / 1.8)
    both = total([PRF(1, 0, 1), PRF(3, 1, 0)])
    assert (both.tp, both.fp, both.fn) == (4, 1, 1)
    assert PRF().f1 == 1.0  # nothing expected, nothing predicted: perfect, not 0/0


def test_score_pairs_compares_sets():
    gold = [("省财政厅", "lead"), ("省教育厅", "responsible")]
    score, missing, extra = score_pairs(gold, [("省财政厅", "lead"), ("省财政厅", "lead"), ("省教育厅", "lead")])
    assert (score.tp, score.fp, score.fn) == (1, 1, 1)
    assert missing == [("省教育厅", "responsible")] and extra == [("省教育厅", "lead")]


# --- locating ------------------------------------------------------------------


def test_locator_prefers_a_task_that_starts_with_it():
    tasks = [_task("a", "前文。稳定粮食生产很重要"), _task("b", "稳定粮食生产,粮食产量")]
    assert locate("稳定粮食生产", tasks) == 1
    assert locate("粮食产量", tasks) == 1
    assert locate("不存在的文字", tasks) is None


def test_locator_ignores_punctuation_width_whitespace_and_script():
    tasks = [_task("a", "主要目標。到2025年,質量變革", simplified="主要目标。到2025年,质量变革")]
    assert locate("主要目標。到2025年，質量變革", tasks) == 0  # full-width comma
    assert locate("主要目标。到 2025年", tasks) == 0  # simplified, with a space


# --- units with roles ---------------------------------------------------------------


def test_perfect_prediction_scores_f1_one():
    s = score_notice(GOLD, _rows())
    assert s.tasks_matched == 2
    assert (s.units.tp, s.units.fp, s.units.fn) == (3, 0, 0) and s.units.f1 == 1.0
    assert s.targets.f1 == 1.0 and s.targets_strict.f1 == 1.0
    assert not s.mismatches


def test_missing_pair_lowers_recall_only():
    s = score_notice(GOLD, _rows(pairs=PAIRS[:2]))
    assert s.units.precision == 1.0 and s.units.recall == pytest.approx(2 / 3)
    assert [(m.kind, m.detail) for m in s.mismatches] == [("missing_pair", "省农业农村厅 / lead")]


def test_extra_pair_lowers_precision_only():
    s = score_notice(GOLD, _rows(pairs=[*PAIRS, _pair("n:t001", "省教育厅", "responsible")]))
    assert s.units.recall == 1.0 and s.units.precision == pytest.approx(3 / 4)
    assert [m.kind for m in s.mismatches] == ["extra_pair"]


def test_wrong_role_is_one_miss_and_one_extra():
    pairs = [_pair("n:t001", "省发展改革委", "responsible"), *PAIRS[1:]]
    s = score_notice(GOLD, _rows(pairs=pairs))
    assert (s.units.tp, s.units.fp, s.units.fn) == (2, 1, 1)


def test_pairs_on_tasks_outside_gold_are_ignored():
    s = score_notice(GOLD, _rows(pairs=[*PAIRS, _pair("n:t003", "省委宣传部", "lead")]))
    assert s.units.f1 == 1.0


def test_gold_task_with_no_units_scores_invented_pairs_as_false_positives():
    gold = {**GOLD, "tasks": [*GOLD["tasks"], {"label": "3", "locator": "加强宣传引导", "assignments": []}]}
    s = score_notice(gold, _rows(pairs=[*PAIRS, _pair("n:t003", "省委宣传部", "lead")]))
    assert (s.units.tp, s.units.fp, s.units.fn) == (3, 1, 0)


def test_unlocated_gold_task_counts_all_its_pairs_missing_and_is_listed():
    s = score_notice(GOLD, _rows(tasks=[TASKS[1], TASKS[2]]))
    assert s.tasks_matched == 1
    assert (s.units.tp, s.units.fp, s.units.fn) == (1, 0, 2)
    assert [m.kind for m in s.mismatches] == ["unlocated_task"]


# --- targets ------------------------------------------------------------------------


def test_target_match_needs_value_unit_and_overlapping_metric():
    gold = _target("粮食产量", 600, "亿斤", qualifier="以上")
    assert target_matches(gold, _target("稳定粮食产量", 600.0, "亿斤"))  # metric contains the gold one
    assert not target_matches(gold, _target("粮食产量", 601, "亿斤"))
    assert not target_matches(gold, _target("粮食产量", 600, "万斤"))
    assert not target_matches(gold, _target("油料产量", 600, "亿斤"))
    assert not target_matches(gold, _target("", 600, "亿斤"))  # an empty metric overlaps nothing
    assert metrics_overlap("粮食 产量", "粮食产量")
    assert target_matches_strict(gold, _target("粮食产量", 600, "亿斤", qualifier="以上"))
    assert not target_matches_strict(gold, _target("粮食产量", 600, "亿斤", qualifier="以上", year=2025))


def test_each_prediction_matches_one_gold_target_and_same_span_wins():
    gold = [
        _target("新增就业", 5, "万人", span="新增就业5万人"),
        _target("新增就业", 5, "万人", span="城镇新增就业5万人"),
    ]
    pred = [
        _target("城镇新增就业", 5, "万人", span="城镇新增就业5万人"),
        _target("新增就业", 5, "万人", span="新增就业5万人"),
    ]
    assert match_targets(gold, [[0, 1], [0, 1]], pred) == {0: 1, 1: 0}
    assert match_targets(gold, [[0], [0]], pred) == {0: 0}


def test_missing_target_lowers_recall_and_extra_target_lowers_precision():
    s = score_notice(GOLD, _rows(targets=[]))
    assert (s.targets.tp, s.targets.fp, s.targets.fn) == (0, 0, 1)
    extra = _target("粮食播种面积", 7100, "万亩", tid="n:t002")
    good = _rows()["targets"][0]
    s = score_notice(GOLD, _rows(targets=[good, extra]))
    assert (s.targets.tp, s.targets.fp, s.targets.fn) == (1, 1, 0)
    assert [m.kind for m in s.mismatches] == ["extra_target"]


def test_strict_rate_counts_a_wrong_qualifier():
    wrong = _target("粮食产量", 600, "亿斤", qualifier="左右", span="粮食产量达到600亿斤以上", tid="n:t002")
    s = score_notice(GOLD, _rows(targets=[wrong]))
    assert s.targets.f1 == 1.0 and s.targets_strict.tp == 0 and s.targets_strict.f1 == 0.0


def test_predicted_targets_outside_gold_tasks_are_ignored_but_gold_tasks_without_targets_count():
    elsewhere = _target("宣传", 100, "场", tid="n:t003")
    good = _rows()["targets"][0]
    assert score_notice(GOLD, _rows(targets=[good, elsewhere])).targets.fp == 0
    gold = {**GOLD, "tasks": [*GOLD["tasks"], {"label": "3", "locator": "加强宣传引导", "assignments": []}]}
    s = score_notice(gold, _rows(targets=[good, elsewhere]))
    assert s.targets.fp == 1  # the gold reader saw no target in task 3
    assert s.targets_loose_fp.fp == 0  # looser reading: only tasks with gold targets


def test_intro_target_is_sought_in_any_task_holding_its_span():
    sections = [{"section_id": "n:s001", "text": "主要预期目标:地区生产总值增长7%。"}]
    tasks = [*TASKS, _task("n:t004", "地区生产总值增长7%,财政收入增长5%。", "4")]
    gold = {**GOLD, "targets": [_target("地区生产总值增长", 7, "%", locator="主要预期目标:地区")]}
    pred = [_target("地区生产总值增长", 7, "%", tid="n:t004")]
    s = score_notice(gold, _rows(tasks=tasks, targets=pred, sections=sections))
    assert (s.targets.tp, s.targets.fn) == (1, 0)
    s = score_notice(gold, _rows(tasks=TASKS, targets=[], sections=sections))
    assert s.targets.fn == 1 and [m.kind for m in s.mismatches] == ["missing_target"]
    s = score_notice(gold, _rows(tasks=TASKS, targets=[], sections=[]))
    assert {m.kind for m in s.mismatches} == {"unlocated_target", "missing_target"}


# --- the script ---------------------------------------------------------------


def test_script_prints_machine_readable_figures():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    figures = json.loads(out.stdout)
    assert [n["notice"] for n in figures["notices"]] == ["000", "001", "002", "003", "004"]
    for key in ("units", "targets", "targets_strict"):
        assert 0.0 <= figures["overall"][key]["f1"] <= 1.0


def test_target_read_from_a_section_intro_matches_an_intro_gold_target():
    sections = [{"section_id": "n:s001", "title": "导语", "text": "主要预期目标:地区生产总值增长7%。"}]
    gold = {**GOLD, "targets": [_target("地区生产总值增长", 7, "%", locator="主要预期目标:地区")]}
    pred = {**_target("地区生产总值增长", 7, "%"), "task_id": None, "section_id": "n:s001"}
    s = score_notice(gold, _rows(targets=[pred], sections=sections))
    assert (s.targets.tp, s.targets.fp, s.targets.fn) == (1, 0, 0)
    extra = {**_target("财政收入增长", 5, "%"), "task_id": None, "section_id": "n:s001"}
    s = score_notice(gold, _rows(targets=[pred, extra], sections=sections))
    assert s.targets.fp == 1  # the intro was read by the gold reader: an invented target counts
