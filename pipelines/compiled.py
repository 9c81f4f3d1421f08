"""The clean and parse stages compiled to C by mypyc, used only while they match their sources.

The stages are plain, typed Python. mypyc compiles the very same files into
extension modules (read, clean and parse run 1.1 to 1.45 times faster; the clean stage,
mostly OpenCC and regex calls already, hardly changes). ``python -m
pipelines.compiled`` builds them into ``.build/mypyc/`` beside the package
(``run.sh`` does so at setup) with a manifest of the SHA-256 of every file the
build read from the project. ``pipelines/clean/__init__.py`` and
``pipelines/parse/__init__.py`` call :func:`use_compiled`, which puts the
compiled folder first on the package's path only when the manifest matches the
files now on disk and the build loads: an edited source is never shadowed by an
old build, it runs as Python until the next build.

``POLICY_TASKS_PURE_PYTHON=1`` forces the Python modules;
``POLICY_TASKS_COMPILED_DIR`` points at another build.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
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
# Read by mypy while it compiles (their signatures are compiled in), not compiled.
SUPPORT = ("pipelines/__init__.py", "pipelines/compiled.py", "pipelines/reference/__init__.py")
# The compiled modules share one runtime library, at the top of the build (where
# mypyc expects it: the modules' __file__ derive from its place). It is not on
# sys.path: use_compiled loads it by file before any compiled module imports it.
GROUP = "policy_tasks_compiled"
RUNTIME = GROUP + "__mypyc"  # the runtime library's module name
GROUP_LIB = RUNTIME + ".py"  # where it would be, were it a source
MANIFEST = "manifest.json"
FAILED = "mypyc-failed.json"  # beside the build: the sources a build failed for, and why
TRUE = ("1", "true", "yes")


class StaleBuildWarning(RuntimeWarning):
    """A compiled build exists but cannot stand for the sources: Python runs instead."""


class BuildFailed(RuntimeError):
    """This machine cannot compile these sources (no toolchain, or mypyc refused them).

    Recorded, so that setup does not try again until the sources change. Other
    errors (a source edited during the build, a full disk) pass: the next run tries again.
    """


def build_dir() -> Path:
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR)


def pure_requested() -> bool:
    return os.environ.get(PURE_ENV, "").strip().lower() in TRUE


def compiled_sources(root: Path = PACKAGE_ROOT) -> list[str]:
    """Paths (relative to ``root``) of the modules that are compiled.

    Only names a module can have: an editor's ``.#targets.py`` lock is no module.
    """
    return sorted(
        p.relative_to(root).as_posix()
        for pkg in PACKAGES
        for p in (root / pkg).glob("*.py")
        if p.stem.isidentifier() and p.name != "__init__.py"
    )


def build_inputs(root: Path = PACKAGE_ROOT) -> list[str]:
    """Every project file the build reads: the compiled modules, the packages' __init__ and SUPPORT."""
    return sorted({*compiled_sources(root), *(f"{pkg}/__init__.py" for pkg in PACKAGES), *SUPPORT})


def source_hashes(root: Path = PACKAGE_ROOT) -> dict[str, str]:
    return {rel: hashlib.sha256((root / rel).read_bytes()).hexdigest() for rel in build_inputs(root)}


def manifest_for(root: Path) -> dict[str, object]:
    """What a build of the files under ``root`` records: the Python it loads in and their hashes."""
    return {"abi": _abi(), "group": GROUP, "sources": source_hashes(root)}


def _abi() -> str:
    """What an extension module must have been built for to load here."""
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


def stale_reason(directory: Path, root: Path = PACKAGE_ROOT) -> str | None:
    """Why the build in ``directory`` cannot stand for the files under ``root``; None when it can."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "not built"
    except (OSError, ValueError) as exc:
        return f"unreadable manifest: {exc}"
    if not isinstance(manifest, dict) or not isinstance(manifest.get("sources"), dict):
        return "unreadable manifest: not a build manifest"
    if manifest.get("abi") != _abi():
        return f"built for {manifest.get('abi')}, this Python loads {_abi()}"
    built = manifest["sources"]
    try:
        now = source_hashes(root)
    except OSError as exc:
        return f"a source cannot be read: {exc}"
    changed = sorted(set(built) ^ set(now) | {rel for rel in now if built.get(rel) != now[rel]})
    if changed:
        return "sources changed since the build: " + ", ".join(changed)
    modules = [*compiled_sources(root), GROUP_LIB]
    missing = [rel for rel in modules if not (directory / rel).with_suffix(_abi()).exists()]
    if missing:
        return "compiled modules missing: " + ", ".join(missing)
    return None


def _warn(message: str) -> None:
    """A StaleBuildWarning; under ``-W error`` printed instead, as the Python modules run fine."""
    try:
        warnings.warn(message, StaleBuildWarning, stacklevel=4)
    except StaleBuildWarning:
        print(f"StaleBuildWarning: {message}", file=sys.stderr)


def _load_runtime(directory: Path) -> str | None:
    """Load the build's shared library now (the compiled modules import it); why not, if it fails.

    A build can match its sources and still not load (a ``noexec`` mount, a
    missing system library): that must fall back to Python, not fail the import.
    """
    name = RUNTIME
    if name in sys.modules:
        return None
    spec = importlib.util.spec_from_file_location(name, (directory / GROUP_LIB).with_suffix(_abi()))
    if spec is None or spec.loader is None:
        return "no loader for the shared library"
    try:
        module = importlib.util.module_from_spec(spec)  # dlopen and init: what can fail
        spec.loader.exec_module(module)
    except ImportError as exc:
        return f"the shared library does not load: {exc}"
    sys.modules[name] = module
    return None


@cache
def _usable(directory: Path) -> bool:
    """Whether to load the build (decided once per process, before any compiled module loads)."""
    if pure_requested():
        return False
    reason = stale_reason(directory)
    if reason == "not built":
        return False  # nothing to say: the Python modules are the program
    if reason is None:
        reason = _load_runtime(directory)
    if reason is not None:
        _warn(
            f"compiled parser in {directory} not used ({reason}); running the Python modules. "
            "`python -m pipelines.compiled` rebuilds it."
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
    return str(getattr(module, "__file__", "")).endswith(_abi())


def toolchain_missing() -> str | None:
    """What this machine lacks to compile (None: it has it all, so a build must succeed)."""
    if importlib.util.find_spec("mypyc") is None:
        return "mypy (with mypyc) is not installed"
    if importlib.util.find_spec("setuptools") is None:
        return "setuptools is not installed"
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").is_file():
        return f"no Python headers ({include}/Python.h)"
    compiler = (os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc")).split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler})"
    return None


_SETUP = """\
import sys
from setuptools import setup
from mypyc.build import mypycify

setup(
    name="policy_tasks_compiled",
    # The empty config keeps a user's or the repository's mypy settings out of the build;
    # OpenCC ships no type hints, so its calls stay dynamic.
    ext_modules=mypycify(
        ["--config-file", "mypy.ini", "--ignore-missing-imports", *sys.argv.pop(1).split(",")],
        opt_level="3",
        group_name={group!r},
    ),
    script_args=["build_ext", "--inplace", "--build-temp", "build"],
)
"""

STAGING_PREFIX = ".mypyc-"


def _remove_abandoned(parent: Path, older_than: float = 3600) -> None:
    """Staging folders of builds killed midway (an hour old: no build takes that long)."""
    for stale in parent.glob(STAGING_PREFIX + "*"):
        try:
            if time.time() - stale.stat().st_mtime > older_than:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass


def build(directory: Path | None = None, root: Path = PACKAGE_ROOT) -> Path:
    """Compile the stages into ``directory`` (replaced whole); returns it.

    The sources are copied first and compiled there, so the repository holds no
    build products and the copies are exactly what was compiled: the manifest
    hashes the copies, and a source edited during the build fails it (the old
    build, if any, stays; the next run builds again). The new build is
    assembled beside the old one and swapped in by renames, so a process
    loading the old build never sees half of the new one.
    """
    directory = (directory or build_dir()).resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(directory.parent)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=directory.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the build is for every user of the checkout
        for rel in build_inputs(root):
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, staging / rel)
        (staging / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
        (staging / "setup.py").write_text(_SETUP.format(group=GROUP), encoding="utf-8")
        modules = ",".join(compiled_sources(staging))
        done = subprocess.run([sys.executable, "setup.py", modules], cwd=staging, capture_output=True, text=True)
        if done.returncode != 0:
            raise BuildFailed(f"mypyc failed (exit {done.returncode}):\n{done.stdout[-4000:]}{done.stderr[-4000:]}")
        for scratch in ("build", ".mypy_cache"):  # C sources, objects, mypy's cache: not needed to load
            shutil.rmtree(staging / scratch, ignore_errors=True)
        # The copies, not the originals: a source edited meanwhile does not match them.
        manifest = manifest_for(staging)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
        reason = stale_reason(staging, root)
        if reason is not None:
            raise RuntimeError(f"the build does not match the sources: {reason}")
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            directory.rename(old)
        staging.rename(directory)
        shutil.rmtree(old, ignore_errors=True)
        return directory
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _failed_before(directory: Path) -> str | None:
    """Why a build failed for exactly these sources on this Python, if one did."""
    try:
        record = json.loads((directory.parent / FAILED).read_text(encoding="utf-8"))
        if {k: record[k] for k in ("abi", "group", "sources")} == manifest_for(PACKAGE_ROOT):
            return str(record["reason"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compile the clean and parse stages with mypyc.")
    parser.add_argument("--if-stale", action="store_true", help="do nothing when the build matches the sources")
    parser.add_argument("--out", type=Path, default=None, help=f"build folder (default {DEFAULT_DIR})")
    args = parser.parse_args(argv)
    directory = args.out or build_dir()
    failed = directory.parent / FAILED
    if args.if_stale:
        if stale_reason(directory) is None:
            print(f"compiled parser up to date: {directory}", file=sys.stderr)
            return 0
        before = _failed_before(directory)
        if before is not None:  # not again on every run: only once the sources change
            print(
                f"compiled parser not built for these sources ({before}); the Python modules run. "
                f"Delete {failed} to try again.",
                file=sys.stderr,
            )
            return 0
    try:
        missing = toolchain_missing()
        if missing is not None:
            raise BuildFailed(missing)
        build(directory)
    except (RuntimeError, OSError) as exc:
        # The Python modules are the same program, only slower: say so and go on.
        print(f"compiled parser not built, the Python modules will run: {exc}", file=sys.stderr)
        if not isinstance(exc, BuildFailed):
            return 1  # passing (an edit during the build, a full disk): the next run tries again
        try:
            record = manifest_for(PACKAGE_ROOT) | {"reason": str(exc).splitlines()[0]}
            failed.parent.mkdir(parents=True, exist_ok=True)
            failed.write_text(json.dumps(record), encoding="utf-8")
        except OSError:
            pass
        return 1
    failed.unlink(missing_ok=True)
    print(f"compiled parser built: {directory}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
