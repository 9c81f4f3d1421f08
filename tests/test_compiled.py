"""The mypyc build of the clean and parse stages: same rows as the Python modules, never stale."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.generate_corpus import write_corpus
from pipelines import compiled
from pipelines.combine import records

ROOT = Path(__file__).resolve().parents[1]
TARGETS_PY = str(ROOT / "pipelines/parse/targets.py")

# Run in a fresh interpreter: whether the compiled modules load is decided at import.
_PARSE_ALL = """
import pickle, sys
from pathlib import Path
from pipelines import compiled
from pipelines.ingest.read import read_notice
from pipelines.stages import clean_stage, parse_stage
import pipelines.clean.notice, pipelines.parse.notice, pipelines.parse.targets

modules = [pipelines.clean.notice, pipelines.parse.notice, pipelines.parse.targets]
out = {"compiled": [compiled.is_compiled(m) for m in modules], "outcomes": {}}
for path in sys.argv[2:]:
    outcome = parse_stage(clean_stage(read_notice(Path(path))))
    # What the per-partition store does with it, in the process that made it.
    assert pickle.loads(pickle.dumps(outcome)).parsed == outcome.parsed
    out["outcomes"][Path(path).name] = outcome
Path(sys.argv[1]).write_bytes(pickle.dumps(out))
"""


def _env(**settings: str) -> dict[str, str]:
    """This environment without the switches of the compiled build, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if k not in (compiled.PURE_ENV, compiled.DIR_ENV)}
    return env | settings


def _parse_in_child(tmp: Path, paths: list[Path], env: dict[str, str], name: str) -> dict:
    out = tmp / f"{name}.pickle"
    cmd = [sys.executable, "-c", _PARSE_ALL, str(out), *map(str, paths)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return pickle.loads(out.read_bytes())


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's build when it matches the sources (as after run.sh), else a new one.

    Where the machine cannot compile at all (no C compiler, no headers) the
    Python modules are the program and there is nothing to compare: skipped,
    saying why. Where it can, a failed build fails the tests.
    """
    if compiled.stale_reason(compiled.DEFAULT_DIR) is None:
        return compiled.DEFAULT_DIR
    missing = compiled.toolchain_missing()
    if missing is not None:
        pytest.skip(f"no compiled build on this machine: {missing}")
    return compiled.build(tmp_path_factory.mktemp("mypyc") / "build")


def test_compiled_stages_give_the_rows_of_the_python_stages(build_dir: Path, tmp_path: Path) -> None:
    # The five real notices and generated ones in the three punctuation styles,
    # traditional script included (the corpus cycles through the samples).
    paths = sorted((ROOT / "raw").glob("*.txt")) + write_corpus(tmp_path / "corpus", 15)
    fast = _parse_in_child(tmp_path, paths, _env(**{compiled.DIR_ENV: str(build_dir)}), "compiled")
    slow = _parse_in_child(tmp_path, paths, _env(**{compiled.PURE_ENV: "1"}), "python")
    assert fast["compiled"] == [True, True, True]
    assert slow["compiled"] == [False, False, False]
    assert fast["outcomes"].keys() == slow["outcomes"].keys() == {p.name for p in paths}
    scripts = set()
    for name, outcome in slow["outcomes"].items():
        other = fast["outcomes"][name]
        assert other.rejection == outcome.rejection, name
        assert outcome.parsed is not None, name  # every one of these notices parses
        assert other.parsed.rows == outcome.parsed.rows, name
        scripts.add(records(outcome.parsed, "notices")[0]["script"])
    assert scripts == {"simplified", "traditional"}


def _fake_build(directory: Path, root: Path) -> None:
    """A build folder as compiled.build leaves it, with empty files for the extension modules."""
    for rel in [*compiled.compiled_sources(root), compiled.GROUP_LIB]:
        target = (directory / rel).with_suffix(compiled._abi())
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"")
    (directory / compiled.MANIFEST).write_text(json.dumps(compiled.manifest_for(root)), encoding="utf-8")


@pytest.fixture
def source_tree(tmp_path: Path) -> Path:
    """A copy of the files a build reads, to edit."""
    root = tmp_path / "src"
    for rel in compiled.build_inputs(ROOT):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, root / rel)
    return root


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_a_build_stands_for_its_sources_only_while_they_are_unchanged(source_tree: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    assert compiled.stale_reason(build, source_tree) == "not built"
    _fake_build(build, source_tree)
    assert compiled.stale_reason(build, source_tree) is None

    _append(source_tree / "pipelines/parse/targets.py", "\n# edited\n")
    assert compiled.stale_reason(build, source_tree) == "sources changed since the build: pipelines/parse/targets.py"

    # Not compiled, but read by mypy: their signatures are compiled into the modules.
    _fake_build(build, source_tree)
    _append(source_tree / "pipelines/reference/__init__.py", "\n# edited\n")
    assert compiled.stale_reason(build, source_tree) == (
        "sources changed since the build: pipelines/reference/__init__.py"
    )

    _fake_build(build, source_tree)
    (source_tree / "pipelines/parse/new_stage.py").write_text("X = 1\n", encoding="utf-8")
    assert compiled.stale_reason(build, source_tree) == "sources changed since the build: pipelines/parse/new_stage.py"

    (source_tree / "pipelines/parse/new_stage.py").unlink()
    (build / "pipelines/parse/units").with_suffix(compiled._abi()).unlink()
    assert compiled.stale_reason(build, source_tree) == "compiled modules missing: pipelines/parse/units.py"

    _fake_build(build, source_tree)
    manifest = json.loads((build / compiled.MANIFEST).read_text(encoding="utf-8"))
    (build / compiled.MANIFEST).write_text(json.dumps({**manifest, "abi": ".cpython-39-x.so"}), encoding="utf-8")
    assert compiled.stale_reason(build, source_tree).startswith("built for .cpython-39-x.so")

    (build / compiled.MANIFEST).write_text("null", encoding="utf-8")
    assert compiled.stale_reason(build, source_tree) == "unreadable manifest: not a build manifest"


def test_files_that_are_no_modules_do_not_count(source_tree: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    _fake_build(build, source_tree)
    # An editor's lock file: a dangling link named like a module.
    (source_tree / "pipelines/parse/.#targets.py").symlink_to("user@host.1234:1")
    assert compiled.stale_reason(build, source_tree) is None


_WHICH = """
import warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as seen:
    import pipelines.stages
    import pipelines.parse.targets as t
print(t.__file__)
print("|".join(type(w.message).__name__ + ": " + str(w.message) for w in seen))
"""


def _which(env: dict[str, str]) -> tuple[str, str]:
    """The file pipelines.parse.targets loads from, and the warnings of the import."""
    done = subprocess.run(
        [sys.executable, "-c", _WHICH], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    module_file, warned = done.stdout.split("\n")[:2]
    return module_file, warned


def _stale_build(tmp_path: Path) -> Path:
    build = tmp_path / "build"
    _fake_build(build, ROOT)
    manifest = json.loads((build / compiled.MANIFEST).read_text(encoding="utf-8"))
    manifest["sources"]["pipelines/parse/targets.py"] = "0" * 64  # built from other code
    (build / compiled.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return build


def test_a_stale_build_is_not_loaded_and_says_why(tmp_path: Path) -> None:
    module_file, warned = _which(_env(**{compiled.DIR_ENV: str(_stale_build(tmp_path))}))
    assert module_file == TARGETS_PY
    assert warned.startswith("StaleBuildWarning: compiled parser in")
    assert "sources changed since the build: pipelines/parse/targets.py" in warned


def test_a_stale_build_does_not_fail_the_import_when_warnings_are_errors(tmp_path: Path) -> None:
    env = _env(**{compiled.DIR_ENV: str(_stale_build(tmp_path))})
    code = "import pipelines.stages, pipelines.parse.targets as t; print(t.__file__)"
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == TARGETS_PY
    assert "StaleBuildWarning: compiled parser in" in done.stderr


def test_a_current_build_that_does_not_load_leaves_the_python_modules(tmp_path: Path) -> None:
    build = tmp_path / "build"
    _fake_build(build, ROOT)  # matches the sources, but its libraries are empty files
    assert compiled.stale_reason(build) is None
    module_file, warned = _which(_env(**{compiled.DIR_ENV: str(build)}))
    assert module_file == TARGETS_PY
    assert "the shared library does not load" in warned


def test_no_build_runs_the_python_modules_quietly(tmp_path: Path) -> None:
    module_file, warned = _which(_env(**{compiled.DIR_ENV: str(tmp_path / "nothing-here")}))
    assert module_file == TARGETS_PY
    assert warned == ""


def test_the_python_modules_can_be_forced(build_dir: Path) -> None:
    module_file, _ = _which(_env(**{compiled.DIR_ENV: str(build_dir), compiled.PURE_ENV: "1"}))
    assert module_file == TARGETS_PY
    module_file, _ = _which(_env(**{compiled.DIR_ENV: str(build_dir), compiled.PURE_ENV: "0"}))
    assert module_file == str(build_dir / "pipelines/parse/targets") + compiled._abi()


def test_a_failed_build_is_not_retried_until_the_sources_change(tmp_path: Path) -> None:
    out = tmp_path / "build" / "mypyc"
    cmd = [sys.executable, "-m", "pipelines.compiled", "--if-stale", "--out", str(out)]
    no_compiler = _env(CC="/nonexistent/cc")
    first = subprocess.run(cmd, cwd=ROOT, env=no_compiler, capture_output=True, text=True, timeout=300)
    assert first.returncode == 1
    assert "no C compiler" in first.stderr
    again = subprocess.run(cmd, cwd=ROOT, env=no_compiler, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0
    assert "not built for these sources (no C compiler" in again.stderr
    assert not out.exists()
    # A source changes (here: the record says it was built from other bytes): tried again.
    record_path = out.parent / compiled.FAILED
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["sources"]["pipelines/parse/targets.py"] = "0" * 64
    record_path.write_text(json.dumps(record), encoding="utf-8")
    changed = subprocess.run(cmd, cwd=ROOT, env=no_compiler, capture_output=True, text=True, timeout=300)
    assert changed.returncode == 1
    assert "compiled parser not built, the Python modules will run: no C compiler" in changed.stderr


def test_a_passing_build_error_is_not_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A source edited while mypyc ran fails that build; it must not stop the next run from building.
    def edited_meanwhile(directory: Path) -> Path:
        raise RuntimeError("the build does not match the sources: sources changed since the build")

    monkeypatch.setattr(compiled, "toolchain_missing", lambda: None)
    monkeypatch.setattr(compiled, "build", edited_meanwhile)
    out = tmp_path / "build" / "mypyc"
    assert compiled.main(["--if-stale", "--out", str(out)]) == 1
    assert not (out.parent / compiled.FAILED).exists()
    assert compiled._failed_before(out) is None
