"""A/B of adding notices: this checkout against an earlier revision, on one built corpus.

    .venv/bin/python benchmarks/ab_refresh.py f77dfcd              # N = 1000, 2 rounds of 3 adds
    .venv/bin/python benchmarks/ab_refresh.py HEAD~3 -n 100 --rounds 4

The machine's speed drifts through the day by as much as a change is worth, so
separate benchmark runs cannot tell two versions apart; this alternates them on
the same corpus and state. The corpus is built once (this checkout); then, each
round, the revision and this checkout take turns (the order alternates between
rounds: an even ``--rounds`` puts each side first equally often; dirty pages are
written out before each turn and each add), each in a new process adding
``--adds`` notices one build at a time. The first add of a process pays for
Great Expectations' import; the later ones are warm. The revision is checked
out in a temporary git worktree; it must share this checkout's state layout.
Both sides parse with a compiled build when their code has one
(``pipelines/compiled.py``: it is built in the worktree too), so the A/B
compares the change, not compiled code against Python; each line says which ran.
Figures, not assertions.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(root: Path, base: Path, n: int, adds: int) -> None:
    """In a new process: build ``n`` notices (when ``n``), or add ``adds`` one at a time; print the times."""
    sys.path.insert(0, str(root))  # the code under test, before the installed checkout
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import pipelines
    from benchmarks.generate_corpus import write_corpus
    from pipelines.cli import build

    assert Path(pipelines.__file__).is_relative_to(root), f"{pipelines.__file__} is not the code under test"
    import pipelines.parse.targets as targets

    compiled = not str(targets.__file__).endswith(".py")

    raw = base / "raw"
    times = []
    if n:
        write_corpus(raw, n)
        t = time.perf_counter()
        build(raw, base / "published", base / "state", log=lambda _m: None)
        times.append(time.perf_counter() - t)
    start = len(list(raw.iterdir()))
    for i in range(adds):
        write_corpus(raw, 1, start=start + i)
        os.sync()  # not timed: the add before this one left its release as dirty pages
        t = time.perf_counter()
        build(raw, base / "published", base / "state", log=lambda _m: None)
        times.append(time.perf_counter() - t)
    print(json.dumps({"times": times, "compiled": compiled}))


def run_child(root: Path, base: Path, n: int, adds: int) -> tuple[list[float], bool]:
    """The times of a child process, and whether it parsed with the compiled build."""
    cmd = [sys.executable, __file__, "--child", str(root), str(base), "-n", str(n), "--adds", str(adds)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=root).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result["times"], result["compiled"]


def build_compiled(root: Path) -> None:
    """Build the revision's compiled parser in its worktree, when it has one (its own command)."""
    if (root / "pipelines" / "compiled.py").exists():
        subprocess.run([sys.executable, "-m", "pipelines.compiled", "--if-stale"], cwd=root, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", help="the earlier revision (a git commit-ish)")
    parser.add_argument("-n", type=int, default=1000, help="corpus size (default 1000)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--adds", type=int, default=3, help="notices added one build at a time per process")
    parser.add_argument("--child", nargs=2, metavar=("ROOT", "BASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.n, args.adds)
        return
    if not args.rev:
        parser.error("give the revision to compare with")
    work = Path(tempfile.mkdtemp(prefix="ab-refresh-"))
    old = work / "old"
    try:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.rev], check=True)
        build_compiled(old)
        build_compiled(ROOT)
        base = work / "corpus"
        full = run_child(ROOT, base, args.n, 0)[0][0]
        print(f"N = {args.n}: full build {full:.1f} s (this checkout)")
        results: dict[str, list[list[float]]] = {args.rev: [], "this checkout": []}
        sides = [(args.rev, old), ("this checkout", ROOT)]
        for k in range(args.rounds):
            # The order alternates (rev first, then this checkout first, ...), and the page cache is
            # flushed before each side: a side that ran second would otherwise pay for the disk
            # writeback of the ~650 MB releases the other had just written.
            for label, root in sides if k % 2 == 0 else sides[::-1]:
                os.sync()
                times, compiled = run_child(root, base, 0, args.adds)
                results[label].append(times)
                how = "compiled" if compiled else "Python modules"
                print(f"  {label:>14}: " + "  ".join(f"{t:5.2f}" for t in times) + f" s ({how})")
        for label, rounds in results.items():
            first = [r[0] for r in rounds]
            warm = [t for r in rounds for t in r[1:]]
            warm_text = f"; later adds median {statistics.median(warm):.2f} s" if warm else ""
            print(f"{label:>16}: first add median {statistics.median(first):.2f} s{warm_text}")
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
