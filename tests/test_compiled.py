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

ROOT = Path(__file__).resolve().parents[1]

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


def _parse_in_child(tmp: Path, paths: list[Path], env: dict[str, str], name: str) -> dict:
    out = tmp / f"{name}.pickle"
    cmd = [sys.executable, "-c", _PARSE_ALL, str(out), *map(str, paths)]
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return pickle.loads(out.read_bytes())


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's build when it matches the sources (as after run.sh), else a new one."""
    if compiled.stale_reason(compiled.DEFAULT_DIR) is None:
        return compiled.DEFAULT_DIR
    return compiled.build(tmp_path_factory.mktemp("mypyc") / "build")


def test_compiled_stages_give_the_rows_of_the_python_stages(build_dir: Path, tmp_path: Path) -> None:
    # The five real notices and generated ones in the three punctuation styles,
    # traditional script included (the corpus cycles through the samples).
    paths = sorted((ROOT / "raw").glob("*.txt")) + write_corpus(tmp_path / "corpus", 15)
    fast = _parse_in_child(tmp_path, paths, {compiled.DIR_ENV: str(build_dir)}, "compiled")
    slow = _parse_in_child(tmp_path, paths, {compiled.PURE_ENV: "1"}, "python")
    assert fast["compiled"] == [True, True, True]
    assert slow["compiled"] == [False, False, False]
    assert fast["outcomes"].keys() == slow["outcomes"].keys() == {p.name for p in paths}
    for name, outcome in slow["outcomes"].items():
        other = fast["outcomes"][name]
        assert other.rejection == outcome.rejection, name
        assert outcome.parsed is not None, name  # every one of these notices parses
        assert other.parsed.rows == outcome.parsed.rows, name


def _fake_build(directory: Path, root: Path) -> None:
    """A build folder as compiled.build leaves it, with empty files for the extension modules."""
    for rel in [*compiled.compiled_sources(root), compiled.GROUP_LIB]:
        target = (directory / rel).with_suffix(compiled._abi())
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"")
    manifest = {"abi": compiled._abi(), "group": compiled.GROUP, "sources": compiled.source_hashes(root)}
    (directory / compiled.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.fixture
def source_tree(tmp_path: Path) -> Path:
    """A copy of the compiled packages' sources, to edit."""
    root = tmp_path / "src"
    for rel in compiled.compiled_sources(ROOT):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, root / rel)
    return root


def test_a_build_stands_for_its_sources_only_while_they_are_unchanged(source_tree: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    assert compiled.stale_reason(build, source_tree) == "not built"
    _fake_build(build, source_tree)
    assert compiled.stale_reason(build, source_tree) is None

    targets = source_tree / "pipelines/parse/targets.py"
    targets.write_text(targets.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert compiled.stale_reason(build, source_tree) == "sources changed since the build: pipelines/parse/targets.py"

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


_WHICH = """
import warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as seen:
    import pipelines.parse.targets as t
print(t.__file__)
print("|".join(type(w.message).__name__ + ": " + str(w.message) for w in seen))
"""


def _which(env: dict[str, str]) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", _WHICH], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    module_file, warned = done.stdout.split("\n")[:2]
    return module_file, warned


def test_a_stale_build_is_not_loaded_and_says_why(tmp_path: Path) -> None:
    build = tmp_path / "build"
    _fake_build(build, ROOT)
    manifest = json.loads((build / compiled.MANIFEST).read_text(encoding="utf-8"))
    manifest["sources"]["pipelines/parse/targets.py"] = "0" * 64  # built from other code
    (build / compiled.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    module_file, warned = _which({compiled.DIR_ENV: str(build)})
    assert module_file == str(ROOT / "pipelines/parse/targets.py")
    assert warned.startswith("StaleBuildWarning: compiled parser in")
    assert "sources changed since the build: pipelines/parse/targets.py" in warned


def test_no_build_runs_the_python_modules_quietly(tmp_path: Path) -> None:
    module_file, warned = _which({compiled.DIR_ENV: str(tmp_path / "nothing-here")})
    assert module_file == str(ROOT / "pipelines/parse/targets.py")
    assert warned == ""


def test_the_python_modules_can_be_forced(build_dir: Path) -> None:
    module_file, _ = _which({compiled.DIR_ENV: str(build_dir), compiled.PURE_ENV: "1"})
    assert module_file == str(ROOT / "pipelines/parse/targets.py")
    module_file, _ = _which({compiled.DIR_ENV: str(build_dir)})
    assert module_file.endswith(compiled._abi())
