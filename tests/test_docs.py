"""Meta-tests: every hook is documented in its spec and on the plugin page of the docs, and has a test."""

import inspect
from pathlib import Path

import pytest

from mezoo import hookspecs, plugins

ROOT = Path(__file__).resolve().parent.parent
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if hasattr(fn, "mezoo_spec")]


def test_hooks_found():
    assert set(HOOKS) == set(plugins.COMPONENT_HOOKS.values())


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_docstring(hook):
    assert len(inspect.getdoc(getattr(hookspecs, hook)) or "") > 40


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_on_the_plugin_page(hook):
    assert f"`{hook}(register)`" in (ROOT / "docs" / "plugins.md").read_text()


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    tests = [p for p in (ROOT / "tests").rglob("test_*.py") if p.name != "test_docs.py"]
    assert any(hook in p.read_text() for p in tests), f"no test mentions {hook}"
