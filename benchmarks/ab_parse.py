"""A/B of the core parse: the compiled build against the Python modules, taking turns on one corpus.

    .venv/bin/python benchmarks/ab_parse.py              # 150 notices, 4 rounds
    .venv/bin/python benchmarks/ab_parse.py -n 300 --rounds 6

Each measurement is a new process running ``refresh_bench.core_parse`` (read,
clean and parse every file once, one core) with or without
``POLICY_TASKS_PURE_PYTHON``; the modes alternate, so the machine's drift hits
both alike. Figures, not assertions.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from benchmarks.refresh_bench import core_parse
print(json.dumps(core_parse(sorted(Path(sys.argv[2]).iterdir()))))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=150, help="notices in the corpus (default 150)")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from benchmarks.generate_corpus import write_corpus
    from pipelines.compiled import PURE_ENV, build_dir, stale_reason

    if (reason := stale_reason(build_dir())) is not None:
        sys.exit(f"no current compiled build ({reason}): run `.venv/bin/python -m pipelines.compiled` first")
    corpus = Path(tempfile.mkdtemp(prefix="ab-parse-"))
    try:
        write_corpus(corpus, args.n)
        results: dict[str, list[float]] = {"compiled": [], "python": []}
        for _ in range(args.rounds):
            for mode in results:
                # Bytecode cached, as in a normal install (the venv's activation may turn it off).
                env = {k: v for k, v in os.environ.items() if k not in (PURE_ENV, "PYTHONDONTWRITEBYTECODE")}
                if mode == "python":
                    env[PURE_ENV] = "1"
                cmd = [sys.executable, "-c", _CHILD, str(ROOT), str(corpus)]
                out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
                got = json.loads(out.strip().splitlines()[-1])
                assert got["compiled"] == (mode == "compiled"), got
                results[mode].append(got["parse_mb_s"])
        for mode, figures in results.items():
            print(
                f"{mode:9s} MB/s: {' '.join(f'{x:5.1f}' for x in figures)}   "
                f"median {statistics.median(figures):5.1f}   best {max(figures):5.1f}"
            )
        ratio = statistics.median(results["compiled"]) / statistics.median(results["python"])
        print(f"compiled / python (medians): {ratio:.2f}x   ({args.n} notices, one core, read + clean + parse)")
    finally:
        shutil.rmtree(corpus, ignore_errors=True)


if __name__ == "__main__":
    main()
