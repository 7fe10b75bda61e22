"""Layers point one way: checked in fresh interpreters (what an import pulls in) and in the source
(imports inside functions count too)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sentiq

SRC = Path(sentiq.__file__).parent
HEAVY = ("torch", "transformers")
TOP = ("sentiq.workflows", "sentiq.cli")


def _modules(package: str = "sentiq") -> list[str]:
    names = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(n for n in names if (n == package or n.startswith(package + ".")) and not n.endswith("__main__"))


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def _imports_of(module: str) -> set[str]:
    """Every sentiq module a file names in an import statement, at any depth."""
    path = SRC.parent / (module.replace(".", "/") + ".py")
    if not path.is_file():
        path = SRC.parent / module.replace(".", "/") / "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {name for name in found if name.startswith("sentiq")}


@pytest.mark.parametrize("layer", ["sentiq.data", "sentiq.preprocess", "sentiq.evaluation"])
def test_torch_free_layers_load_no_torch(layer):
    code = (
        "import importlib, sys\n"
        f"for name in {_modules(layer)!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m.startswith({TOP!r}))\n"
        "assert not bad, bad[:10]\n"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize(
    "layer",
    [
        "sentiq.models",  # data, preprocess, evaluation: checked above
        "sentiq.inference",
        "sentiq.training",
        "sentiq.explanations",
        "sentiq.export",
        "sentiq.monitoring",
        "sentiq.tracking",
        "sentiq.serving",
    ],
)
def test_a_layer_below_the_workflows_pulls_in_neither_workflows_nor_cli(layer):
    proc = _python(
        f"import sys, {layer}\nbad = sorted(m for m in sys.modules if m.startswith({TOP!r}))\nassert not bad, bad\n"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_no_module_below_the_workflows_names_them_or_the_cli_even_inside_a_function():
    below = [m for m in _modules() if not m.startswith(TOP) and m != "sentiq"]
    bad = {m: sorted(i for i in _imports_of(m) if i.startswith(TOP)) for m in below}
    assert not {m: i for m, i in bad.items() if i}


def test_models_know_nothing_of_cli_serving_or_workflows():
    banned = TOP + ("sentiq.serving",)
    bad = {m: sorted(i for i in _imports_of(m) if i.startswith(banned)) for m in _modules("sentiq.models")}
    assert not {m: i for m, i in bad.items() if i}


def test_no_private_name_is_imported_across_packages():
    bad = []
    for module in _modules():
        for name in _imports_of(module):
            owner, _, attr = name.rpartition(".")
            if attr.startswith("_") and not attr.startswith("__") and owner.split(".")[:2] != module.split(".")[:2]:
                bad.append(f"{module} imports {name}")
    assert not bad


def test_every_module_imports_in_sorted_order_in_one_fresh_interpreter():
    # a module-level import cycle shows up as an ImportError for whichever module is imported first
    proc = _python(f"import importlib\nfor name in {_modules()!r}:\n    importlib.import_module(name)\n")
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_the_serve_command_loads_the_service_not_the_training_stack():
    # `sentiq serve` goes through the CLI and sentiq.workflows; both used to import every workflow
    # (torch, transformers, scikit-learn, pandas: ~190 MB of a serving process before any model).
    proc = _python(
        "import sys\nfrom sentiq.cli import app\nfrom sentiq.workflows import serve\n"
        "import sentiq.serving.app\n"
        "heavy = ('torch', 'transformers', 'sklearn', 'pandas', 'matplotlib', 'scipy')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "assert not bad, bad[:10]\n"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
