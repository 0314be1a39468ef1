"""The scripts in scripts/ still find what they import from mezoo (they are not in the package, so
nothing else would notice a name that moved). Read, not run: some download or train for minutes."""

import ast
import importlib
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parent.parent / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_every_mezoo_name_a_script_imports_exists(script):
    missing = []
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mezoo"):
            module = importlib.import_module(node.module)
            missing += [f"{node.module}.{a.name}" for a in node.names
                        if not hasattr(module, a.name) and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mezoo"):
                    importlib.import_module(alias.name)
    assert not missing, f"{script.name} imports names mezoo no longer has: {', '.join(missing)}"
