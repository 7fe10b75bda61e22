"""Layers point one way: checked in fresh interpreters (what an import pulls in) and in the source
(imports inside functions count too)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import sentiq
from conftest import fresh_python, sentiq_modules

SRC = Path(sentiq.__file__).parent
HEAVY = ("torch", "transformers")
TOP = ("sentiq.workflows", "sentiq.cli")


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


TORCH_FREE = ("sentiq.data", "sentiq.preprocess", "sentiq.evaluation")
BELOW_WORKFLOWS = (
    "sentiq.models",  # data, preprocess, evaluation: checked with the torch-free layers
    "sentiq.inference",
    "sentiq.training",
    "sentiq.explanations",
    "sentiq.export",
    "sentiq.monitoring",
    "sentiq.tracking",
    "sentiq.serving",
)


@pytest.fixture(scope="module")
def pulled_in() -> dict[str, list[str]]:
    """What importing each layer newly pulls in, from one fresh interpreter (one per layer cost ~2 s each).

    The torch-free layers go first (every module of each), then the layers below the workflows; after each
    layer the modules it newly loaded that it must not are recorded. A violation is blamed on the first
    layer that pulls the module in, which fails the suite just the same."""
    code = (
        "import importlib, json, sys\n"
        "seen, found = set(sys.modules), {}\n"
        "def check(layer, names, banned):\n"
        "    global seen\n"
        "    for name in names:\n"
        "        importlib.import_module(name)\n"
        "    new = set(sys.modules) - seen\n"
        "    found[layer] = sorted(m for m in new if m.split('.')[0] in banned or m.startswith(banned))\n"
        "    seen = set(sys.modules)\n"
        f"for layer, names in {[(layer, sentiq_modules(layer)) for layer in TORCH_FREE]!r}:\n"
        f"    check(layer, names, {HEAVY + TOP!r})\n"
        f"for layer in {BELOW_WORKFLOWS!r}:\n"
        f"    check(layer, [layer], {TOP!r})\n"
        "print(json.dumps(found))\n"
    )
    proc = fresh_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("layer", TORCH_FREE)
def test_torch_free_layers_load_no_torch(layer, pulled_in):
    assert pulled_in[layer] == []


@pytest.mark.parametrize("layer", BELOW_WORKFLOWS)
def test_a_layer_below_the_workflows_pulls_in_neither_workflows_nor_cli(layer, pulled_in):
    assert pulled_in[layer] == []


def test_no_module_below_the_workflows_names_them_or_the_cli_even_inside_a_function():
    below = [m for m in sentiq_modules() if not m.startswith(TOP) and m != "sentiq"]
    bad = {m: sorted(i for i in _imports_of(m) if i.startswith(TOP)) for m in below}
    assert not {m: i for m, i in bad.items() if i}


def test_models_know_nothing_of_cli_serving_or_workflows():
    banned = TOP + ("sentiq.serving",)
    bad = {m: sorted(i for i in _imports_of(m) if i.startswith(banned)) for m in sentiq_modules("sentiq.models")}
    assert not {m: i for m, i in bad.items() if i}


def test_no_private_name_is_imported_across_packages():
    bad = []
    for module in sentiq_modules():
        for name in _imports_of(module):
            owner, _, attr = name.rpartition(".")
            if attr.startswith("_") and not attr.startswith("__") and owner.split(".")[:2] != module.split(".")[:2]:
                bad.append(f"{module} imports {name}")
    assert not bad


def test_every_module_imports_in_sorted_order_in_one_fresh_interpreter(every_module_imported):
    # a module-level import cycle shows up as an ImportError for whichever module is imported first
    assert every_module_imported.returncode == 0, every_module_imported.stderr[-3000:]


def test_the_serve_command_loads_the_service_not_the_training_stack():
    # `sentiq serve` goes through the CLI and sentiq.workflows; both used to import every workflow
    # (torch, transformers, scikit-learn, pandas: ~190 MB of a serving process before any model).
    proc = fresh_python(
        "import sys\nfrom sentiq.cli import app\nfrom sentiq.workflows import serve\n"
        "import sentiq.serving.app\n"
        "heavy = ('torch', 'transformers', 'sklearn', 'pandas', 'matplotlib', 'scipy')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "assert not bad, bad[:10]\n"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
