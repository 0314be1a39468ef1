"""Arrows point down: no module imports one of a higher layer (the layers of "Code layout" in docs/plugins.md),
and the packages a user or a plugin imports to predict or to run folds stay free of the LOSO
protocol and scikit-learn."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: the layers, lowest first: a module may import its own layer and those below it
LAYERS = [
    ("base", ("mezoo.errors", "mezoo.hookspecs", "mezoo.files", "mezoo.config", "mezoo.devices", "mezoo.settings",
              "mezoo.plugins", "mezoo.layout", "mezoo.default_plugins", "mezoo.zoo")),
    ("face", ("mezoo.face",)),
    ("data", ("mezoo.data",)),
    ("model", ("mezoo.model", "mezoo.displacement", "mezoo.fusion", "mezoo.augment", "mezoo.classical")),
    ("engine", ("mezoo.engine", "mezoo.figures")),
    ("protocol and use", ("mezoo.loso", "mezoo.inference", "mezoo.motion", "mezoo.bench")),
    ("commands", ("mezoo.cli",)),
]
#: pairs of one layer that must not know each other
APART = [("mezoo.inference", "mezoo.loso")]


def _layer(module: str) -> int:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer of tests/test_layers.py: add it where it belongs")


def _modules() -> dict[str, Path]:
    out = {}
    for path in (ROOT / "mezoo").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name != "mezoo":  # the package's face: `mezoo.load_model` is handed on from the predictor, lazily
            out[name] = path
    return out


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("mezoo.")}


def test_every_import_points_down_or_across():
    modules = _modules()
    upward: set[str] = set()
    for name, path in sorted(modules.items()):
        for target in sorted(_imports(name, path)):
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]
            if target in modules and _layer(target) > _layer(name):
                upward.add(f"{name} ({LAYERS[_layer(name)][0]}) imports {target} ({LAYERS[_layer(target)][0]})")
            for a, b in APART:
                if name.startswith(a) and target.startswith(b):
                    upward.add(f"{name} imports {target}: {a} and {b} stay apart")
    assert not upward, "\n".join(sorted(upward))


@pytest.mark.parametrize("module", ["mezoo.inference.predictor", "mezoo.inference.train", "mezoo.engine.executors",
                                    "mezoo.classical", "mezoo.zoo",
                                    "mezoo.engine.ray_executor", "mezoo.engine.fit"])
def test_using_a_model_or_running_folds_imports_no_protocol(module):
    code = (f"import sys, {module}; print(','.join(sorted({{m.split('.')[0] if m.startswith('sklearn') else m "
            f"for m in sys.modules if m.startswith(('mezoo.loso', 'sklearn'))}})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"importing {module} loads {done.stdout.strip()}"
