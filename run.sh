#!/usr/bin/env bash
# One entry point for a fresh machine.
#   bash run.sh          set up .venv (first time) and build a release from raw/
#   bash run.sh test     set up .venv (first time) and run the test suite
# Any other arguments after "build" go to `policy-tasks build` (e.g. --raw DIR --out DIR).
set -euo pipefail
cd "$(dirname "$0")"
export GX_ANALYTICS_ENABLED=false DAGSTER_DISABLE_TELEMETRY=1 PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::UserWarning}"

setup() {
  local stamp=.venv/.installed
  if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then return; fi
  python3 -m venv .venv
  # uv resolves the stack in seconds; plain pip is the fallback.
  if .venv/bin/python -m pip install -q uv >/dev/null 2>&1; then
    .venv/bin/python -m uv pip install -q -p .venv/bin/python -e ".[dev]"
  else
    .venv/bin/python -m pip install -q -e ".[dev]"
  fi
  touch "$stamp"
}

# The clean and parse stages compiled by mypyc (pipelines/compiled.py): built
# when missing or when the sources' hashes no longer match its manifest, ~20 s.
# Without it (no C compiler, say) the same Python modules run, only slower.
compile_stages() {
  .venv/bin/python -m pipelines.compiled --if-stale >&2 || echo "run.sh: going on with the Python modules" >&2
}

cmd="${1:-build}"
[ $# -gt 0 ] && shift
setup
compile_stages
case "$cmd" in
  build) exec .venv/bin/policy-tasks build "$@" ;;
  test)
    set +e
    .venv/bin/python -m pytest -q "$@"
    rc=$?
    # pytest exits 5 when it collected no tests: that is a failure here.
    [ "$rc" -eq 5 ] && { echo "no tests were collected" >&2; exit 1; }
    exit "$rc"
    ;;
  *) echo "usage: bash run.sh [build [options] | test [pytest options]]" >&2; exit 2 ;;
esac
