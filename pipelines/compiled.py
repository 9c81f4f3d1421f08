"""The clean and parse stages compiled to C by mypyc, used only while they match their sources.

The stages are plain, typed Python. mypyc compiles the very same files into
extension modules (the parse runs about three times faster; the clean stage,
mostly OpenCC and regex calls already, hardly changes). ``python -m
pipelines.compiled`` builds them into ``.build/mypyc/`` beside the package
(``run.sh`` does so at setup) with a manifest of the SHA-256 of every source it
compiled. ``pipelines/clean/__init__.py`` and ``pipelines/parse/__init__.py``
call :func:`use_compiled`, which puts the compiled folder first on the package's
path only when the manifest matches the sources now on disk: an edited source is
never shadowed by an old build, it runs as Python until the next build.

``POLICY_TASKS_PURE_PYTHON=1`` forces the Python modules;
``POLICY_TASKS_COMPILED_DIR`` points at another build.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from functools import cache
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the folder holding pipelines/
DEFAULT_DIR = PACKAGE_ROOT / ".build" / "mypyc"
PURE_ENV = "POLICY_TASKS_PURE_PYTHON"
DIR_ENV = "POLICY_TASKS_COMPILED_DIR"
# Every module of these packages is compiled, except the package's __init__
# (it decides whether the compiled modules are used).
PACKAGES = ("pipelines/clean", "pipelines/parse")
# Imported by the compiled modules and read by mypy while it compiles, not compiled.
SUPPORT = ("pipelines/__init__.py", "pipelines/compiled.py", "pipelines/reference/__init__.py")
# The compiled modules share one runtime library; naming the group puts it
# inside pipelines.parse, whose path the build joins, rather than at top level.
GROUP = "pipelines.parse.compiled"
GROUP_LIB = GROUP.replace(".", "/") + "__mypyc.py"  # where it would be, were it a source
MANIFEST = "manifest.json"


class StaleBuildWarning(RuntimeWarning):
    """A compiled build exists but no longer matches the sources: Python runs instead."""


def build_dir() -> Path:
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR)


def compiled_sources(root: Path = PACKAGE_ROOT) -> list[str]:
    """Paths (relative to ``root``) of the modules that are compiled."""
    return sorted(
        p.relative_to(root).as_posix() for pkg in PACKAGES for p in (root / pkg).glob("*.py") if p.name != "__init__.py"
    )


def source_hashes(root: Path = PACKAGE_ROOT) -> dict[str, str]:
    return {rel: hashlib.sha256((root / rel).read_bytes()).hexdigest() for rel in compiled_sources(root)}


def _abi() -> str:
    """What an extension module must have been built for to load here."""
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


def stale_reason(directory: Path, root: Path = PACKAGE_ROOT) -> str | None:
    """Why the build in ``directory`` cannot stand for the sources under ``root``; None when it can."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "not built"
    except (OSError, ValueError) as exc:
        return f"unreadable manifest: {exc}"
    if manifest.get("abi") != _abi():
        return f"built for {manifest.get('abi')}, this Python loads {_abi()}"
    built = manifest.get("sources", {})
    now = source_hashes(root)
    changed = sorted(set(built) ^ set(now) | {rel for rel in now if built.get(rel) != now[rel]})
    if changed:
        return "sources changed since the build: " + ", ".join(changed)
    modules = [*now, GROUP_LIB]
    missing = [rel for rel in modules if not (directory / rel).with_suffix(_abi()).exists()]
    if missing:
        return "compiled modules missing: " + ", ".join(missing)
    return None


@cache
def _usable(directory: Path) -> bool:
    """Whether to load the build (decided once per process, before any compiled module loads)."""
    if os.environ.get(PURE_ENV):
        return False
    reason = stale_reason(directory)
    if reason is not None and reason != "not built":
        warnings.warn(
            f"compiled parser in {directory} not used ({reason}); running the Python modules. "
            "`python -m pipelines.compiled` rebuilds it.",
            StaleBuildWarning,
            stacklevel=3,
        )
    return reason is None


def use_compiled(package: str, path: list[str]) -> bool:
    """Put the compiled modules of ``package`` first on its ``__path__`` when the build is current."""
    directory = build_dir()
    if not _usable(directory):
        return False
    path.insert(0, str(directory.joinpath(*package.split("."))))
    return True


def is_compiled(module: object) -> bool:
    """True when ``module`` was loaded from a compiled extension."""
    return str(getattr(module, "__file__", "")).endswith(".so")


_SETUP = """\
import sys
from setuptools import setup
from mypyc.build import mypycify

setup(
    name="policy_tasks_compiled",
    # OpenCC ships no type hints: its calls stay dynamic.
    ext_modules=mypycify(
        ["--ignore-missing-imports", *sys.argv.pop(1).split(",")], opt_level="3", group_name={group!r}
    ),
    script_args=["build_ext", "--inplace", "--build-temp", "build"],
)
"""


def build(directory: Path | None = None, root: Path = PACKAGE_ROOT) -> Path:
    """Compile the stages into ``directory`` (replaced whole); returns it.

    The sources are copied first and compiled there, so the repository holds no
    build products and the copies record exactly what was compiled. The new
    build is assembled beside the old one and swapped in by renames, so a
    process loading the old build never sees half of the new one.
    """
    directory = (directory or build_dir()).resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    hashes = source_hashes(root)
    staging = Path(tempfile.mkdtemp(prefix=".mypyc-", dir=directory.parent))
    try:
        for rel in [*SUPPORT, *(f"{pkg}/__init__.py" for pkg in PACKAGES), *hashes]:
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, staging / rel)
        (staging / "setup.py").write_text(_SETUP.format(group=GROUP), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "setup.py", ",".join(hashes)], cwd=staging, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"mypyc failed (exit {done.returncode}):\n{done.stdout[-4000:]}{done.stderr[-4000:]}")
        for scratch in ("build", ".mypy_cache"):  # C sources, objects, mypy's cache: not needed to load
            shutil.rmtree(staging / scratch, ignore_errors=True)
        manifest = {"abi": _abi(), "group": GROUP, "sources": hashes}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
        reason = stale_reason(staging, root)
        if reason is not None:
            raise RuntimeError(f"the build does not match its sources: {reason}")
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            directory.rename(old)
        staging.rename(directory)
        shutil.rmtree(old, ignore_errors=True)
        return directory
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compile the clean and parse stages with mypyc.")
    parser.add_argument("--if-stale", action="store_true", help="do nothing when the build matches the sources")
    parser.add_argument("--out", type=Path, default=None, help=f"build folder (default {DEFAULT_DIR})")
    args = parser.parse_args(argv)
    directory = args.out or build_dir()
    if args.if_stale and stale_reason(directory) is None:
        print(f"compiled parser up to date: {directory}")
        return 0
    try:
        build(directory)
    except (RuntimeError, OSError, ImportError) as exc:
        # The Python modules are the same program, only slower: say so and go on.
        print(f"compiled parser not built, the Python modules will run: {exc}", file=sys.stderr)
        return 1
    print(f"compiled parser built: {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
