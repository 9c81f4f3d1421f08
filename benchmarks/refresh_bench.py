"""Throughput of the pure parser, and the cost of a full build versus adding one notice.

    .venv/bin/python benchmarks/refresh_bench.py            # N = 100 and 1000
    .venv/bin/python benchmarks/refresh_bench.py -n 100     # one size
    .venv/bin/python benchmarks/refresh_bench.py --parse-only
    POLICY_TASKS_PURE_PYTHON=1 .venv/bin/python benchmarks/refresh_bench.py --parse-only   # without the compiled build

Each N runs in a fresh subprocess (so its peak RSS is its own) on a corpus from
generate_corpus.py in a temporary folder. Each build starts with the page cache
written out (``os.sync()``, not timed): a build leaves its release (~650 MB at
N = 1 000) as dirty pages, and a build timed right after it would pay for their
writeback, while the build that wrote them did not. ``--no-sync`` times the adds
right after each other, as sessions up to 13 did. Figures, not assertions.
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# One regex pass: every assignment bracket "(...牵头...)" (the parser's most frequent lookup).
ADDS = 3  # notices added one build at a time after the full build
FLOOR_RE = re.compile(r"[((][^()()]{0,200}?(?:牵头|负责)[^()()]{0,200}?[))]")


def core_parse(paths: list[Path]) -> dict:
    import pipelines.parse.notice
    from pipelines.compiled import is_compiled
    from pipelines.ingest.read import read_notice
    from pipelines.stages import clean_stage, parse_stage

    size = sum(p.stat().st_size for p in paths)
    t = time.perf_counter()
    for p in paths:
        parse_stage(clean_stage(read_notice(p)))
    parse_s = time.perf_counter() - t
    t = time.perf_counter()
    hits = 0
    for p in paths:
        hits += len(FLOOR_RE.findall(p.read_bytes().decode("utf-8")))
    floor_s = time.perf_counter() - t
    return {
        "mb": size / 1e6,
        "parse_mb_s": size / 1e6 / parse_s,
        "floor_mb_s": size / 1e6 / floor_s,
        "compiled": is_compiled(pipelines.parse.notice),
    }


def settle(sync: bool) -> float:
    """Write out dirty pages before a timed build (when ``sync``); how long that took."""
    t = time.perf_counter()
    if sync:
        os.sync()
    return time.perf_counter() - t


def one_size(n: int, parse_only: bool, sync: bool = True) -> dict:
    warnings.filterwarnings("ignore")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from benchmarks.generate_corpus import write_corpus

    base = Path(tempfile.mkdtemp(prefix=f"bench{n}-"))
    try:
        raw = base / "raw"
        paths = write_corpus(raw, n)
        out = {"n": n, **core_parse(paths)}
        if not parse_only:
            import dagster as dg

            from pipelines.cli import _instance, build

            settle(sync)
            t = time.perf_counter()
            build(raw, base / "published", base / "state", log=lambda _m: None)
            out["full_s"] = time.perf_counter() - t
            out["sync_after_full_s"] = settle(sync)
            # One new notice lands, then another, then a third: one add alone
            # is at the mercy of the shared machine, so the median is reported too.
            adds = []
            for i in range(ADDS):
                write_corpus(raw, 1, start=n + i)
                settle(sync)
                t = time.perf_counter()
                build(raw, base / "published", base / "state", log=lambda _m: None)
                adds.append(time.perf_counter() - t)
            out["add_one_s"] = adds[0]
            out["add_one_median_s"] = statistics.median(adds)
            out["ratio"] = out["add_one_s"] / out["full_s"]
            out["ratio_median"] = out["add_one_median_s"] / out["full_s"]
            runs = _instance(base / "state").get_runs(dg.RunsFilter(job_name="notice_job"))
            out["notice_runs"] = len(runs)
            # The same again as a schedule or a user runs it: a new process,
            # which also pays for its imports and Great Expectations' first use.
            write_corpus(raw, 1, start=n + ADDS)
            cli = [sys.executable, "-m", "pipelines.cli", "build", "--raw", str(raw)]
            cli += ["--out", str(base / "published"), "--state", str(base / "state")]
            settle(sync)
            t = time.perf_counter()
            subprocess.run(cli, check=True, cwd=ROOT, capture_output=True)
            out["add_one_process_s"] = time.perf_counter() - t
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return out
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, action="append", help="corpus size (repeatable; default 100 and 1000)")
    parser.add_argument("--parse-only", action="store_true", help="core parse throughput only, no Dagster")
    parser.add_argument("--no-sync", action="store_true", help="do not write out dirty pages before each timed build")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = args.n or [100, 1000]
    if sys.flags.dont_write_bytecode and not args.child:
        # Without cached bytecode every module the build imports lazily (GX
        # above all) is compiled again inside the timed full build.
        print("note: PYTHONDONTWRITEBYTECODE is set; full-build times include recompiling imports", file=sys.stderr)
    if args.child:
        print(json.dumps(one_size(sizes[0], args.parse_only, sync=not args.no_sync)))
        return
    print(
        f"{'N':>5} {'MB':>6} {'parse MB/s':>10} {'floor MB/s':>10} {'full s':>8} {'add 1 s':>8} "
        f"{'ratio':>7} {'median of 3':>16} {'runs':>4} {'peak MB':>8} {'add 1, new process':>19}"
    )
    for n in sizes:
        cmd = [sys.executable, __file__, "--child", "-n", str(n)] + (["--parse-only"] if args.parse_only else [])
        cmd += ["--no-sync"] if args.no_sync else []
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        full = (
            f"{r['full_s']:8.1f} {r['add_one_s']:8.1f} {r['ratio']:7.1%} "
            f"{r['add_one_median_s']:6.1f} s {r['ratio_median']:6.1%} {r['notice_runs']:4d}"
            if "full_s" in r
            else ""
        )
        cold = f" {r['add_one_process_s']:8.1f} s ({r['add_one_process_s'] / r['full_s']:.1%})" if "full_s" in r else ""
        print(
            f"{n:5d} {r['mb']:6.1f} {r['parse_mb_s']:10.2f} {r['floor_mb_s']:10.1f} {full} {r['peak_rss_mb']:8.0f}{cold}"
        )
    print("floors: core parse >= 20 MB/s; adding one notice to 1000 <= 5 % of the full build")
    print(
        "parser: "
        + (
            "compiled by mypyc (pipelines/compiled.py)"
            if r["compiled"]
            else "the Python modules (forced, or no current build)"
        )
    )
    print(
        "add 1: the first notice added, in the process that ran the full build; median of 3: that one and the next"
        f" {ADDS - 1}, one build each; new process: `python -m pipelines.cli build`, imports included"
    )
    if not args.parse_only:
        settled = (
            "each build timed from written-out pages (os.sync before it, untimed; writing out the full build's took"
            f" {r['sync_after_full_s']:.1f} s at N = {n})"
        )
        print(settled if not args.no_sync else "--no-sync: each build timed right after the one before")


if __name__ == "__main__":
    main()
