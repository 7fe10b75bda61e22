"""Damaged model directories refuse to load with one line (issue 15, defect 2): every recorded file
missing, truncated or swapped, for a fine-tuned model, a classical one (TF-IDF) and an ONNX export;
older directories without checksums load with a warning and are still smoke-checked."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import train_on_toy_corpus
from sentiq.errors import ModelError, ModelIntegrityError

TEXTS = ["a wonderful film, I loved it", "boring and awful"]


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory) -> Path:
    return train_on_toy_corpus(tmp_path_factory.mktemp("tfidf"), {"approach": "tfidf"}).output_dir


@pytest.fixture(scope="module")
def onnx_model(trained_model, tmp_path_factory) -> Path:
    from sentiq.export import export_onnx

    return export_onnx(trained_model, tmp_path_factory.mktemp("onnx") / "fp32", data="none").output_dir


@pytest.fixture(scope="module")
def other_tokenizer(tmp_path_factory) -> Path:
    """A BERT tokenizer with a different vocabulary: another model's tokenizer files."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("other-bert")
    tokenizer_dir = folder / "tok"
    from transformers import BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "zebra", "quark", "mellow", "good", "bad"]
    BertTokenizer(vocab={t: i for i, t in enumerate(vocab)}).save_pretrained(folder / "slow")
    AutoTokenizer.from_pretrained(folder / "slow").save_pretrained(tokenizer_dir)
    return tokenizer_dir


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _recorded_files(directory: Path) -> list[str]:
    return sorted(json.loads((directory / "sentiq.json").read_text())["integrity"]["files"])


def _strip_integrity(directory: Path) -> None:
    """As an older sentiq wrote it: no checksums, no smoke record."""
    manifest = json.loads((directory / "sentiq.json").read_text())
    manifest.pop("integrity", None)
    (directory / "sentiq.json").write_text(json.dumps(manifest))


def _one_line_refusal(model_dir: Path, *args: str) -> str:
    from sentiq.cli import app

    result = CliRunner().invoke(app, ["predict", str(model_dir), *(args or TEXTS[:1])])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.count("error [E3") == 1, result.output
    error = result.output[result.output.index("error [E3") :]
    assert len(error.splitlines()) <= 3, result.output  # one message (rich may wrap it), nothing after it
    return result.output


@pytest.mark.parametrize("kind", ["finetune", "tfidf", "onnx"])
def test_a_sealed_directory_records_its_files_and_loads(kind, trained_model, tfidf_model, onnx_model):
    from sentiq.inference import Predictor

    directory = {"finetune": trained_model, "tfidf": tfidf_model, "onnx": onnx_model}[kind]
    files = _recorded_files(directory)
    expected = {
        "finetune": {"model.safetensors", "tokenizer.json", "config.json"},
        "tfidf": set(),
        "onnx": {"model.onnx", "tokenizer.json"},
    }[kind]
    assert expected <= set(files) and files and "sentiq.json" not in files
    assert not any(f.startswith("report/") for f in files)
    assert Predictor.load(directory).predict_proba(TEXTS).shape == (2, 2)


@pytest.mark.parametrize("kind", ["finetune", "tfidf", "onnx"])
@pytest.mark.parametrize("damage", ["missing", "truncated", "flipped"])
def test_every_recorded_file_damaged_is_refused_with_one_line(
    kind, damage, trained_model, tfidf_model, onnx_model, tmp_path
):
    from sentiq.inference import Predictor

    source = {"finetune": trained_model, "tfidf": tfidf_model, "onnx": onnx_model}[kind]
    for i, name in enumerate(_recorded_files(source)):
        broken = _copy(source, tmp_path / f"{damage}-{i}")
        path = broken / name
        if damage == "missing":
            path.unlink()
        elif damage == "truncated":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        else:  # same size, one byte changed
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0x01
            path.write_bytes(bytes(data))
        with pytest.raises(ModelIntegrityError, match=name.replace(".", r"\.")):
            Predictor.load(broken)
    assert re.search(r"\[E31[0-7]\]", _one_line_refusal(broken))  # E310-E317: the integrity causes


def test_another_models_tokenizer_is_refused(trained_model, other_tokenizer, tmp_path):
    from sentiq.inference import Predictor

    swapped = _copy(trained_model, tmp_path / "swapped")
    for file in other_tokenizer.iterdir():
        shutil.copy(file, swapped / file.name)
    with pytest.raises(ModelIntegrityError, match="tokenizer"):
        Predictor.load(swapped)
    # An older directory (no checksums) is still refused: the vocabulary does not fit the embeddings.
    _strip_integrity(swapped)
    with pytest.raises(ModelIntegrityError, match="tokenizer has 10 tokens but the embedding matrix has"):
        Predictor.load(swapped)


def test_older_directory_without_checksums_loads_with_a_warning(trained_model, tmp_path, caplog):
    from sentiq.inference import Predictor

    old = _copy(trained_model, tmp_path / "old")
    _strip_integrity(old)
    with caplog.at_level(logging.WARNING, logger="sentiq.models.integrity"):
        predictor = Predictor.load(old)
    assert "without file checksums" in caplog.text
    assert predictor.predict_proba(TEXTS).shape == (2, 2)


def test_older_directory_missing_its_tokenizer_is_refused(trained_model, tmp_path):
    """The issue's reproduction: tokenizer.json deleted gave exit 0 and a wrong answer."""
    old = _copy(trained_model, tmp_path / "old")
    _strip_integrity(old)
    (old / "tokenizer.json").unlink()
    output = _one_line_refusal(old)
    assert "tokenizer" in output


def test_older_directory_with_truncated_weights_is_one_line(trained_model, tmp_path):
    old = _copy(trained_model, tmp_path / "old")
    _strip_integrity(old)
    weights = old / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    output = _one_line_refusal(old)
    assert "[E316]" in output and "damaged or incomplete" in output


def test_smoke_prediction_catches_changed_behaviour(trained_model, tmp_path):
    """Files intact by checksum but predictions not what was recorded (another library, a tampered record)."""
    from sentiq.inference import Predictor

    odd = _copy(trained_model, tmp_path / "odd")
    manifest = json.loads((odd / "sentiq.json").read_text())
    manifest["integrity"]["smoke"]["proba"] = [[1.0, 0.0] for _ in manifest["integrity"]["smoke"]["proba"]]
    (odd / "sentiq.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="does not predict what it predicted when saved"):
        Predictor.load(odd)


def test_calibrate_keeps_the_record(trained_model, tmp_path):
    from sentiq.inference import Predictor
    from sentiq.workflows import calibrate

    copy = _copy(trained_model, tmp_path / "calibrated")
    before = _recorded_files(copy)
    calibrate(copy)
    assert _recorded_files(copy) == before
    Predictor.load(copy)


def test_serve_refuses_to_start_on_a_damaged_directory(trained_model, tmp_path):
    """`sentiq serve` exits 1 with one line before uvicorn starts (it used to report ready)."""
    broken = _copy(trained_model, tmp_path / "broken")
    (broken / "tokenizer.json").unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "sentiq.cli", "serve", str(broken), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "[E310]" in proc.stderr and "tokenizer.json is missing" in proc.stderr
    assert "Traceback" not in proc.stderr and "Uvicorn running" not in proc.stderr


def test_load_rejects_unknown_root_damage_not_listed(trained_model, tmp_path):
    """Files the record does not list (a later evaluation) do not make a directory fail."""
    from sentiq.inference import Predictor

    extra = _copy(trained_model, tmp_path / "extra")
    (extra / "evaluations").mkdir(exist_ok=True)
    (extra / "evaluations" / "note.txt").write_text("later")
    (extra / "report" / "report.html").write_text("rewritten")
    assert Predictor.load(extra).labels


def test_model_error_is_still_the_parent_class():
    assert issubclass(ModelIntegrityError, ModelError) and ModelIntegrityError.codes == "E3xx"
