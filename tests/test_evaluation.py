"""Tests for sentiq.evaluation (metrics, plots, report) and sentiq.atomic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

from sentiq.atomic import atomic_directory, atomic_write_text
from sentiq.errors import ConfigError, DataError
from sentiq.evaluation import (
    compute_metrics,
    expected_calibration_error,
    length_buckets,
    most_confident_errors,
    plot_accuracy_by_length,
    plot_confidence_histogram,
    plot_confusion_matrix,
    plot_reliability_diagram,
    plot_training_curves,
    plots,
    write_report,
)

# Binary toy example: predictions = [0, 1, 1, 0, 1, 0]; true = [0, 0, 1, 1, 1, 0]
Y_BIN = [0, 0, 1, 1, 1, 0]
P_BIN = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3], [0.35, 0.65], [0.8, 0.2]])
LABELS_BIN = ["negative", "positive"]
HISTORY = [
    {"step": 10, "epoch": 0.5, "loss": 0.69},
    {"step": 20, "epoch": 1.0, "loss": 0.55},
    {"step": 20, "epoch": 1.0, "eval_loss": 0.6, "eval_macro_f1": 0.7, "eval_accuracy": 0.71},
    {"step": 20, "train_runtime": 3.0},
]


def _multiclass(n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    texts = [" ".join(["word"] * int(rng.integers(1, 60))) for _ in range(n)]
    return texts, y, proba


# ---------------------------------------------------------------- metrics


def test_binary_metrics_match_hand_computed_values():
    m = compute_metrics(Y_BIN, P_BIN, LABELS_BIN)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    # both classes: tp=2, fp=1, fn=1 -> precision = recall = f1 = 2/3
    assert m["macro_f1"] == pytest.approx(2 / 3)
    assert m["per_class"]["positive"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert m["confusion_matrix"] == [[2, 1], [1, 2]]
    # positives score 0.8, 0.3, 0.65; negatives 0.1, 0.6, 0.2 -> 8 of 9 pairs ordered
    assert m["roc_auc"] == pytest.approx(8 / 9)
    assert m["predicted_share"] == pytest.approx({"negative": 0.5, "positive": 0.5})
    assert m["majority_prediction_share"] == pytest.approx(0.5)
    expected_ll = -np.mean(np.log([0.9, 0.4, 0.8, 0.3, 0.65, 0.8]))
    assert m["log_loss"] == pytest.approx(expected_ll)
    json.dumps(m)  # plain JSON types only


def test_metrics_are_plain_python_types():
    m = compute_metrics(Y_BIN, P_BIN.astype(np.float32), LABELS_BIN)
    assert json.loads(json.dumps(m)) == m
    assert type(m["n"]) is int and type(m["accuracy"]) is float
    assert all(type(v) is int for row in m["confusion_matrix"] for v in row)


def test_multiclass_metrics():
    _, y, proba = _multiclass()
    m = compute_metrics(y, proba, ["neg", "neu", "pos"])
    assert set(m["per_class"]) == {"neg", "neu", "pos"}
    assert np.array(m["confusion_matrix"]).shape == (3, 3)
    assert np.array(m["confusion_matrix"]).sum() == len(y)
    assert 0.5 < m["roc_auc"] <= 1.0
    assert sum(m["predicted_share"].values()) == pytest.approx(1.0)
    assert 0 < m["ece"] < 1


def test_roc_auc_none_when_only_one_class_present():
    m = compute_metrics([1, 1, 1], [[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]], LABELS_BIN)
    assert m["roc_auc"] is None
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_roc_auc_none_when_a_multiclass_label_is_absent():
    y = [0, 1, 0, 1]
    proba = [[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]]
    assert compute_metrics(y, proba, ["a", "b", "c"])["roc_auc"] is None


def test_ece_zero_when_perfectly_calibrated():
    # confidence 0.8 everywhere and exactly 8 of 10 right
    y = [0] * 8 + [1] * 2
    proba = [[0.8, 0.2]] * 10
    assert expected_calibration_error(y, proba) == pytest.approx(0.0, abs=1e-12)
    assert expected_calibration_error([0, 1], [[1.0, 0.0], [0.0, 1.0]]) == pytest.approx(0.0)


def test_ece_positive_when_overconfident():
    y = [0] * 5 + [1] * 5  # confidence 0.99, accuracy 0.5
    proba = [[0.99, 0.01]] * 10
    assert expected_calibration_error(y, proba) == pytest.approx(0.49)
    assert compute_metrics(y, proba, LABELS_BIN)["ece"] == pytest.approx(0.49)


@pytest.mark.parametrize(
    "y, proba, labels",
    [
        ([0, 1, 0], [[0.5, 0.5], [0.5, 0.5]], LABELS_BIN),  # rows != len(y_true)
        ([0, 1], [[0.3, 0.3, 0.4], [0.2, 0.2, 0.6]], LABELS_BIN),  # cols != len(labels)
        ([0, 1], [0.5, 0.5], LABELS_BIN),  # 1-D proba
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], LABELS_BIN),  # label id out of range
        ([0, -1], [[0.5, 0.5], [0.5, 0.5]], LABELS_BIN),
        ([0, 1], [[2.0, -1.0], [0.5, 0.5]], LABELS_BIN),  # not probabilities
        ([0, 1], [[3.0, 1.0], [0.5, 0.5]], LABELS_BIN),  # logits
        ([0, 1], [[np.nan, 0.5], [0.5, 0.5]], LABELS_BIN),
        ([0.5, 1], [[0.5, 0.5], [0.5, 0.5]], LABELS_BIN),  # non-integer ids
        ([], np.zeros((0, 2)), LABELS_BIN),  # empty
        ([0, 1], [[0.5, 0.5], [0.5, 0.5]], ["x", "x"]),  # duplicate labels
    ],
)
def test_inconsistent_inputs_raise_data_error(y, proba, labels):
    with pytest.raises(DataError):
        compute_metrics(y, proba, labels)


def test_shape_mismatch_raises_data_error_in_ece_and_report(tmp_path):
    with pytest.raises(DataError):
        expected_calibration_error([0, 1, 1], P_BIN)
    with pytest.raises(DataError):
        write_report(tmp_path / "r", texts=["a"] * 5, y_true=Y_BIN, proba=P_BIN, labels=LABELS_BIN)
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------- buckets & errors


def test_length_buckets_cover_all_examples():
    lengths = np.arange(1, 101)
    y = np.zeros(100, dtype=int)
    pred = np.where(lengths > 50, 0, 1)  # long texts right, short ones wrong
    buckets = length_buckets(lengths, y, pred)
    assert sum(b["n"] for b in buckets) == 100
    assert buckets[0]["bucket"].startswith("1-") and buckets[-1]["bucket"].endswith("-100")
    assert buckets[0]["accuracy"] == 0.0 and buckets[-1]["accuracy"] == 1.0
    assert length_buckets([7, 7, 7], [0, 1, 1], [0, 1, 0]) == [
        {"bucket": "7-7", "n": 3, "accuracy": pytest.approx(2 / 3)}
    ]
    assert length_buckets([], [], []) == []
    with pytest.raises(DataError):
        length_buckets([1, 2], [0], [0])


def test_most_confident_errors_sorted_and_limited():
    texts = [f"t{i}" for i in range(6)]
    errors = most_confident_errors(texts, Y_BIN, P_BIN, LABELS_BIN)
    assert [e["text"] for e in errors] == ["t3", "t1"]  # wrong ones: conf 0.7, 0.6
    assert errors[0] == {
        "index": 3,
        "text": "t3",
        "true": "positive",
        "predicted": "negative",
        "confidence": pytest.approx(0.7),
    }
    assert len(most_confident_errors(texts, Y_BIN, P_BIN, LABELS_BIN, k=1)) == 1
    with pytest.raises(DataError):
        most_confident_errors(texts[:3], Y_BIN, P_BIN, LABELS_BIN)


# ---------------------------------------------------------------- plots


def test_plots_return_figures():
    texts, y, proba = _multiclass()
    lengths = [len(t.split()) for t in texts]
    figures = [
        plot_confusion_matrix([[5, 1, 0], [2, 3, 1], [0, 0, 4]], ["a", "b", "c"]),
        plot_training_curves(HISTORY),
        plot_confidence_histogram(y, proba),
        plot_accuracy_by_length(y, proba, lengths, unit="chars"),
        plot_reliability_diagram(y, proba, n_bins=10),
    ]
    assert all(isinstance(fig, Figure) for fig in figures)
    with pytest.raises(DataError):
        plot_confusion_matrix([[1, 2], [3, 4]], ["a", "b", "c"])


def test_training_curves_none_without_history():
    assert plot_training_curves(None) is None
    assert plot_training_curves([]) is None
    assert plot_training_curves([{"step": 5, "train_runtime": 1.0}]) is None
    assert isinstance(plot_training_curves([{"step": 5, "eval_accuracy": 0.8}]), Figure)


# ---------------------------------------------------------------- report


def test_write_report_writes_self_contained_html_and_json(tmp_path):
    texts, y, proba = _multiclass()
    texts[0] = "<script>alert('x')</script> & " + "long " * 200
    y[0], proba[0] = 0, [0.001, 0.998, 0.001]  # the most confident error
    out = tmp_path / "report"
    labels = ["negatief", "neutraal", "positief"]
    context = {"model": "xlm-roberta-base", "data": "reviews.csv", "split": "test", "seed": 7}
    metrics = write_report(
        out, texts=texts, y_true=y, proba=proba, labels=labels, history=HISTORY, title="My <eval>", context=context
    )

    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "report.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temp dir left
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<img" in html and "data:image/png;base64," in html
    assert html.count("<img") == 5  # incl. training curves
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "<script" not in html  # user text is escaped
    assert "&lt;script&gt;" in html and "long " * 90 not in html  # escaped and truncated
    assert "My &lt;eval&gt;" in html
    for label in labels:
        assert label in html
    assert 'class="per-class"' in html and "precision" in html and "support" in html
    assert "xlm-roberta-base" in html and "reviews.csv" in html

    data = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert data["accuracy"] == pytest.approx(metrics["accuracy"])
    assert data["context"] == context
    assert sum(b["n"] for b in data["length_buckets"]) == len(texts)
    assert data["most_confident_errors"] == sorted(data["most_confident_errors"], key=lambda e: -e["confidence"])
    assert metrics == compute_metrics(y, proba, labels)


def test_write_report_without_history_and_chars(tmp_path):
    texts = ["很好", "太差了吧", "还行", "非常满意的一次购物", "不好", "一般般"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_report(
            tmp_path / "zh", texts=texts, y_true=Y_BIN, proba=P_BIN, labels=["负面", "正面"], length_unit="chars"
        )
    assert not [w for w in caught if "missing from font" in str(w.message)]  # logged once instead
    html = (tmp_path / "zh" / "report.html").read_text(encoding="utf-8")
    assert html.count("<img") == 4 and "负面" in html and "Training curves" not in html
    data = json.loads((tmp_path / "zh" / "metrics.json").read_text(encoding="utf-8"))
    assert data["length_unit"] == "chars"
    assert data["length_buckets"][0]["bucket"].startswith("2-")
    with pytest.raises(ConfigError):
        write_report(tmp_path / "bad", texts=texts, y_true=Y_BIN, proba=P_BIN, labels=LABELS_BIN, length_unit="tokens")


def test_failure_during_writing_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(plots, "plot_reliability_diagram", boom)
    out = tmp_path / "report"
    with pytest.raises(RuntimeError, match="plot failed"):
        write_report(out, texts=["x"] * 6, y_true=Y_BIN, proba=P_BIN, labels=LABELS_BIN)
    assert not (out / "report.html").exists()
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_previous_report_and_success_replaces_it(tmp_path, monkeypatch):
    out = tmp_path / "report"
    write_report(out, texts=["x"] * 6, y_true=Y_BIN, proba=P_BIN, labels=LABELS_BIN, title="first")
    monkeypatch.setattr(plots, "plot_confidence_histogram", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        write_report(out, texts=["x"] * 6, y_true=Y_BIN, proba=P_BIN, labels=LABELS_BIN, title="second")
    assert "first" in (out / "report.html").read_text(encoding="utf-8")
    monkeypatch.undo()
    write_report(out, texts=["x"] * 6, y_true=Y_BIN, proba=P_BIN, labels=LABELS_BIN, title="third")
    assert "third" in (out / "report.html").read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_write_report_refuses_to_replace_foreign_directory(tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.safetensors").write_bytes(b"weights")
    with pytest.raises(ConfigError, match="other files"):
        write_report(model_dir, texts=["x"] * 6, y_true=Y_BIN, proba=P_BIN, labels=LABELS_BIN)
    assert (model_dir / "model.safetensors").read_bytes() == b"weights"


# ---------------------------------------------------------------- atomic files


def test_atomic_directory_success_overwrite_and_failure(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and not target.exists()
        (tmp / "a.txt").write_text("1")
    assert (target / "a.txt").read_text() == "1"

    with atomic_directory(target) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]

    with pytest.raises(ValueError):
        with atomic_directory(target) as tmp:
            (tmp / "c.txt").write_text("3")
            raise ValueError("stop")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]

    with pytest.raises(ConfigError, match="already exists"):
        with atomic_directory(target, overwrite=False):
            pass
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_write_text(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    atomic_write_text(path, "hello")
    atomic_write_text(path, "héllo wörld")
    assert path.read_text(encoding="utf-8") == "héllo wörld"
    assert [p.name for p in path.parent.iterdir()] == ["f.txt"]


def test_evaluation_does_not_import_torch():
    code = (
        "import sys, sentiq.evaluation, sentiq.atomic; "
        "bad = [m for m in ('torch', 'transformers', 'matplotlib.pyplot') if m in sys.modules]; "
        "assert not bad, bad"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
