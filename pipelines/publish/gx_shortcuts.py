"""Work Great Expectations repeats for nothing in one validation, done once.

Each shortcut leaves GX's results and data docs byte for byte the same
(``tests/publish/test_publish_units.py`` compares them with the shortcuts off);
each checks that it finds the GX internals it expects and otherwise stands aside.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import jinja2


@contextlib.contextmanager
def configurations_built_once() -> Iterator[None]:
    """While a suite validates, each GX expectation object builds its configuration once.

    GX 1.24's ``Expectation.configuration`` is a property that builds a new
    ``ExpectationConfiguration`` (a pydantic ``dict()`` and a regex over the
    class name) on every access, and one validation reads it about 120 times
    per expectation: a third of validating a delta. The expectation objects a
    validation reads are the ones it made from the suite for that run, and
    nothing changes them meanwhile, so the first configuration stands for the
    later ones. Only in the thread that entered (GX elsewhere in the process
    builds its own), and undone on exit; a GX whose property is not the one
    described here is left alone.
    """
    from great_expectations.expectations.expectation import Expectation

    prop = Expectation.__dict__.get("configuration")
    if not isinstance(prop, property) or prop.fget is None or prop.fget.__qualname__ != "Expectation.configuration":
        yield
        return
    build = prop.fget
    owner = threading.get_ident()
    built: dict[int, tuple[Any, Any]] = {}  # id(expectation) -> (expectation kept alive, its configuration)

    def configuration(self: Any) -> Any:
        if threading.get_ident() != owner:
            return build(self)
        hit = built.get(id(self))
        if hit is None:
            hit = built[id(self)] = (self, build(self))
        return hit[1]

    Expectation.configuration = property(configuration, doc=prop.__doc__)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Expectation.configuration = prop  # type: ignore[method-assign]


class _CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's bytecode cache, in memory: a template's compiled code, keyed by its name and source.

    Jinja checks the source's checksum on every load, so an edited template is
    compiled again.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with self._lock:
            code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[bucket.key] = code


_TEMPLATES = _CompiledTemplates()


@contextlib.contextmanager
def templates_compiled_once() -> Iterator[None]:
    """While data docs render, every GX page view shares one cache of compiled Jinja templates.

    GX 1.24 makes a new Jinja environment for each view it renders a page or a
    block with, so the same dozen templates were compiled ~50 times a build:
    about half of rendering the data docs. Jinja's own bytecode cache (the
    documented way to skip compiling) is set on each view's environment; the
    environments, filters and rendering are untouched. Undone on exit.
    """
    from great_expectations.render.view.view import DefaultJinjaView

    init = DefaultJinjaView.__dict__.get("__init__")
    if init is None:
        yield
        return

    def shared_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        env = getattr(self, "env", None)
        if isinstance(env, jinja2.Environment) and env.bytecode_cache is None:
            env.bytecode_cache = _TEMPLATES

    DefaultJinjaView.__init__ = shared_init  # type: ignore[method-assign]
    try:
        yield
    finally:
        DefaultJinjaView.__init__ = init  # type: ignore[method-assign]


def unsaved_configuration(context: Any) -> Any:
    """An ephemeral GX context that does not serialise its configuration after every change.

    Adding a data source, an asset or a docs site to a context saves the whole
    project configuration through its store; for an ephemeral context that store
    is an in-memory YAML copy that nothing reads (the context works from the
    configuration object itself). Eight assets and a docs site made ten YAML
    dumps per build, ~0.1 s. Contexts of any other kind keep saving.
    """
    from great_expectations.data_context import EphemeralDataContext

    if isinstance(context, EphemeralDataContext) and callable(getattr(context, "_save_project_config", None)):
        context._save_project_config = lambda: None
    return context
