"""Shared fixtures: a tiny random BERT built in-process and a small labelled corpus."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# pytest-xdist workers get COLUMNS=80, which rich then obeys: the CLI's tables would wrap where a plain
# (non-terminal) run prints them whole. Each worker runs one test at a time on its own core.
os.environ.pop("COLUMNS", None)
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

POSITIVE = ["good", "great", "love", "excellent", "wonderful", "happy", "enjoyed", "superb", "fun", "brilliant"]
NEGATIVE = ["bad", "awful", "hate", "terrible", "boring", "sad", "disliked", "poor", "dull", "worst"]
FILLER = [
    "the",
    "movie",
    "film",
    "was",
    "i",
    "this",
    "it",
    "a",
    "really",
    "so",
    "plot",
    "acting",
    "and",
    "very",
    "story",
    "not",
    "but",
    "is",
    "show",
    "book",
]
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def make_sentence(rng: random.Random, words: list[str]) -> str:
    body = rng.sample(FILLER, k=rng.randint(2, 6)) + rng.sample(words, k=rng.randint(1, 2))
    rng.shuffle(body)
    return " ".join(body)


def toy_frame(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        positive = i % 2 == 0
        rows.append(
            {
                "text": make_sentence(rng, POSITIVE if positive else NEGATIVE),
                "label": "positive" if positive else "negative",
            }
        )
    return pd.DataFrame(rows)


def build_tiny_bert(directory: Path, *, seed: int = 0) -> Path:
    """A 2-layer, hidden-32 BERT with a word-level vocabulary: loads like any hub model."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'")
    vocab = specials + sorted(set(POSITIVE + NEGATIVE + FILLER)) + letters + [f"##{c}" for c in letters]
    tokenizer = BertTokenizer(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session", autouse=True)
def _runs_dir(tmp_path_factory):
    """Run folders that train/evaluate/compare record go to a temporary root, not the checkout's runs/."""
    previous = os.environ.get("SENTIQ_RUNS_DIR")
    os.environ["SENTIQ_RUNS_DIR"] = str(tmp_path_factory.mktemp("runs"))
    yield
    if previous is None:
        os.environ.pop("SENTIQ_RUNS_DIR", None)
    else:
        os.environ["SENTIQ_RUNS_DIR"] = previous


def train_on_toy_corpus(root: Path, settings: dict):
    """Train a model on the toy corpus (80/20 split with validation) under ``root``; ``settings``
    are config keys merged over a small base; returns the TrainResult (``.output_dir``)."""
    from sentiq.config import build_config
    from sentiq.workflows import train

    toy_frame(120).to_csv(root / "toy.csv", index=False)
    base = {"name": "toy", "data": {"source": str(root / "toy.csv"), "validation_size": 0.2, "test_size": 0.2}}
    return train(build_config({**base, **settings}), root / "model")


def train_two_member_ensemble(tiny_config, root: Path, method: str = "soft") -> Path:
    """A TF-IDF model (``root/a``), a lexicon model (``root/b``) and their ensemble (returned: ``root/ens``)."""
    from sentiq.workflows import train

    train(tiny_config(**{"approach": "tfidf", "tfidf.min_df": 1}), root / "a")
    train(tiny_config(approach="lexicon"), root / "b")
    members = f"[{root / 'a'}, {root / 'b'}]"
    train(tiny_config(**{"approach": "ensemble", "ensemble.members": members, "ensemble.method": method}), root / "ens")
    return root / "ens"


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture()
def toy_csv(tmp_path) -> Path:
    path = tmp_path / "toy.csv"
    toy_frame(120).to_csv(path, index=False)
    return path


@pytest.fixture()
def tiny_config(tiny_bert, toy_csv):
    """A config that trains the tiny BERT on the toy corpus in a few seconds."""
    from sentiq.config import build_config

    def make(**overrides):
        data = {
            "name": "toy",
            "model": str(tiny_bert),
            "preprocess": "none",
            "data": {"source": str(toy_csv), "validation_size": 0.2, "test_size": 0.2},
            "training": {
                "max_length": 32,
                "batch_size": 8,
                "epochs": 6,
                "learning_rate": 1e-3,
                "warmup_ratio": 0.0,
                "logging_steps": 5,
                "eval_batch_size": 16,
            },
            "evaluation": {"important_words": 5},  # a few explanations keep the report section, not the wait
        }
        return build_config(data, [f"{k}={v}" for k, v in overrides.items()])

    return make


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, tiny_bert):
    """One trained tiny model directory shared by read-only tests."""
    return train_on_toy_corpus(
        tmp_path_factory.mktemp("trained"),
        {
            "model": str(tiny_bert),
            "preprocess": "review",
            "training": {"max_length": 32, "batch_size": 8, "epochs": 6, "learning_rate": 1e-3, "warmup_ratio": 0.0},
            "evaluation": {"important_words": 6},  # integrated gradients per text: keep the fixture quick
        },
    ).output_dir


def sentiq_modules(package: str = "sentiq") -> list[str]:
    """Every module of ``package`` (a sentiq package) by dotted name, sorted; ``__main__`` left out."""
    import sentiq

    src = Path(sentiq.__file__).parent
    names = []
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(n for n in names if (n == package or n.startswith(package + ".")) and not n.endswith("__main__"))


def fresh_python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that sees the same sentiq (what an import pulls in)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="session")
def every_module_imported() -> subprocess.CompletedProcess:
    """One fresh interpreter imports every sentiq module in sorted order, then prints (JSON) the type of each
    public name of sentiq, sentiq.workflows and sentiq.monitoring. A module-level import cycle fails it with an
    ImportError for whichever module comes first. Shared: importing everything costs ~8 s."""
    return fresh_python(
        "import importlib, json, types\n"
        f"for name in {sentiq_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "import sentiq, sentiq.workflows, sentiq.monitoring\n"
        "kind = lambda v: 'module' if isinstance(v, types.ModuleType) else 'callable' if callable(v) else 'value'\n"
        "print(json.dumps({p.__name__: {n: kind(getattr(p, n)) for n in p.__all__}\n"
        "                  for p in (sentiq, sentiq.workflows, sentiq.monitoring)}))\n"
    )


@contextmanager
def serve_command(model_dir: Path, *args: str, env: dict | None = None, timeout: float = 120):
    """A real ``sentiq serve MODEL_DIR ARGS`` process on a free loopback port (``env``: variables to set,
    None to unset); yields its base URL once /ready answers 200, and stops it (SIGTERM) afterwards."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
        "SENTIQ_ACCESS_LOG": "false",
        **(env or {}),
    }
    env = {key: value for key, value in env.items() if value is not None}  # None: unset it
    command = [sys.executable, "-m", "sentiq.cli", "serve", str(model_dir), "--port", str(port), *args]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, process.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "sentiq serve did not become ready"
            try:
                if httpx.get(f"{base}/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)
