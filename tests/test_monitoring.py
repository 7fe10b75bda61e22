"""Drift monitoring on real data: IMDB reviews vs Sentiment140 tweets, IMDB vs IMDB, request logs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import toy_frame
from sentiq.cli import app
from sentiq.data import data_dir
from sentiq.errors import DataError
from sentiq.monitoring import DRIFT_EXIT_CODE, Thresholds, monitor
from sentiq.monitoring.drift import categorical_check, numeric_check, psi_continuous
from sentiq.monitoring.samples import load_sample
from sentiq.preprocess.language import detect_language

IMDB_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "imdb_sample" / "train.csv"
N = 300


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    """Two disjoint halves of the IMDB sample and a random sample of tweets, N texts each."""
    tweets_csv = (data_dir() or Path("/nonexistent")) / "sentiment140" / "training.sample.csv"
    if not tweets_csv.is_file():
        pytest.skip("the Sentiment140 sample is not under $SENTIQ_DATA_DIR or ../shared/datasets")
    root = tmp_path_factory.mktemp("drift")
    imdb = pd.read_csv(IMDB_SAMPLE).sample(2 * N, random_state=0)
    tweets = pd.read_csv(
        tweets_csv, header=None, encoding="latin-1", names=["polarity", "id", "date", "query", "user", "text"]
    )
    paths = {"imdb_a": root / "imdb_a.csv", "imdb_b": root / "imdb_b.csv", "tweets": root / "tweets.csv"}
    imdb.iloc[:N].to_csv(paths["imdb_a"], index=False)
    imdb.iloc[N:].to_csv(paths["imdb_b"], index=False)
    tweets.sample(N, random_state=0)[["text"]].to_csv(paths["tweets"], index=False)
    return paths


def write_log(path: Path, texts, labels, scores, *, with_text: bool, extra_lines: list[str] = ()) -> Path:
    """A request log in the service's documented schema."""
    lines = []
    for i, (text, label, score) in enumerate(zip(texts, labels, scores)):
        row = {
            "time": f"2026-11-23T12:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "model": "toy",
            "request_id": f"req-{i}",
            "length": len(text),
            "language": detect_language(text),
            "label": label,
            "score": float(score),
            "latency_ms": 4.2,
        }
        if with_text:
            row["text"] = text
        lines.append(json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join([*lines, *extra_lines]) + "\n", encoding="utf-8")
    return path


def by_name(result) -> dict:
    return {c.name: c for c in result.checks}


def test_imdb_vs_tweets_drifts_and_imdb_halves_do_not(corpora, tiny_bert, tmp_path):
    same = monitor(
        str(corpora["imdb_a"]),
        str(corpora["imdb_b"]),
        encoder=str(tiny_bert),
        embedding_texts=100,
        output_dir=tmp_path / "same",
    )
    other = monitor(
        str(corpora["imdb_a"]),
        str(corpora["tweets"]),
        encoder=str(tiny_bert),
        embedding_texts=100,
        output_dir=tmp_path / "other",
    )
    assert not same.drift and same.status != "drift"
    assert other.drift
    checks = by_name(other)
    assert checks["text length (chars)"].status == "drift" and checks["text length (chars)"].psi > 1
    assert checks["out-of-vocabulary rate"].status == "drift"
    assert checks["embeddings"].status == "drift" and checks["embeddings"].auc > 0.9
    assert by_name(same)["embeddings"].auc < 0.6
    saved = json.loads((tmp_path / "other" / "drift.json").read_text())
    assert saved["drift"] is True and {c["name"] for c in saved["checks"]} == set(checks)
    html = (tmp_path / "other" / "drift.html").read_text()
    assert "out-of-vocabulary rate" in html and "data:image/png;base64," in html


def test_request_log_without_texts_against_a_model_directory(trained_model, tmp_path):
    """Field-based checks from the log alone; the reference's predictions come from the model."""
    from sentiq.inference import Predictor

    predictor = Predictor.load(trained_model)
    texts = toy_frame(200, seed=7)["text"].tolist()
    preds = predictor.predict(texts)
    live = write_log(
        tmp_path / "live.jsonl",
        texts,
        [p.label for p in preds],
        [p.score for p in preds],
        with_text=False,
        extra_lines=['{"time": "2026-11-23T13:00:00Z", "request_id": "cut-o'],
    )
    result = monitor(str(trained_model), str(live), embeddings=False)
    checks = by_name(result)
    assert result.current.kind == "request log" and result.current.skipped_lines == 1 and len(result.current) == 200
    assert result.reference.label_basis == "predicted" and result.model == str(trained_model)
    assert checks["out-of-vocabulary rate"].status == "skipped"
    assert not result.drift, [(c.name, c.status, c.p_value, c.psi) for c in result.checks]

    # Long Chinese texts, all given the label the model predicted least on its training data,
    # with low confidence: every logged field shifts.
    rare = min(predictor.labels, key=result.reference.labels.count)
    shifted_texts = ["这家酒店的房间又小又脏，服务态度也很差，再也不会来了。" * 3] * 200
    shifted = write_log(tmp_path / "shifted.jsonl", shifted_texts, [rare] * 200, np.full(200, 0.5001), with_text=False)
    result = monitor(str(trained_model), str(shifted), embeddings=False)
    checks = by_name(result)
    assert result.drift
    for name in ("text length (chars)", "language mix", "predicted-label mix", "confidence"):
        assert checks[name].status == "drift", name


def test_cli_exit_codes_and_files(corpora, tmp_path):
    runner = CliRunner()
    base = ["monitor", "--reference", str(corpora["imdb_a"]), "--no-embeddings"]
    calm = runner.invoke(app, [*base, "--current", str(corpora["imdb_b"]), "--output", str(tmp_path / "a")])
    assert calm.exit_code == 0, calm.output
    drift = runner.invoke(app, [*base, "--current", str(corpora["tweets"]), "--output", str(tmp_path / "b")])
    assert drift.exit_code == DRIFT_EXIT_CODE, drift.output
    assert "drift" in drift.output and (tmp_path / "b" / "drift.html").is_file()
    missing = runner.invoke(app, [*base, "--current", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 1 and "[E255]" in missing.output  # not a file, model directory or dataset


def test_statistics_behave():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=2000), rng.normal(size=2000)
    assert psi_continuous(a, a) == pytest.approx(0.0, abs=1e-9)
    assert psi_continuous(a, b) < 0.05 < psi_continuous(a, b + 1.0)
    t = Thresholds()
    assert numeric_check("x", a, b, t).status == "ok"
    assert numeric_check("x", a, b + 1.0, t).status == "drift"
    one = categorical_check("lang", ["en"] * 50, ["en"] * 60, t)
    assert one.status == "ok" and one.p_value == 1.0
    mix = categorical_check("lang", ["en"] * 50, ["zh"] * 30 + ["en"] * 30, t)
    assert mix.status == "drift" and mix.current["zh"] == 0.5


def test_bad_sources_give_clear_errors(tmp_path):
    empty_log = tmp_path / "log.jsonl"
    empty_log.write_text('{"request_id": "1", "length": 3, "language": "en", "label": "x", "score": "high"}\n')
    with pytest.raises(DataError, match="no request-log records"):
        load_sample(str(empty_log))
    with pytest.raises(DataError, match="not a file, a model directory or a built-in"):
        load_sample(str(tmp_path / "missing.csv"))
    (tmp_path / "t.csv").write_text("body\nhello\n")
    with pytest.raises(DataError, match="no column 'text'"):
        load_sample(str(tmp_path / "t.csv"))


@pytest.mark.slow
def test_minilm_embeddings_separate_reviews_from_tweets(corpora):
    other = monitor(str(corpora["imdb_a"]), str(corpora["tweets"]), embedding_texts=200)
    same = monitor(str(corpora["imdb_a"]), str(corpora["imdb_b"]), embedding_texts=200)
    assert by_name(other)["embeddings"].status == "drift" and by_name(other)["embeddings"].auc > 0.95
    assert by_name(same)["embeddings"].status != "drift"
