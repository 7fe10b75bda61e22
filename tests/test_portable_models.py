"""Model folders do not depend on the folder training ran from (issue 15, defect 3): evaluate, monitor
--reference MODEL and the export accuracy gate find the training data from any folder, refuse a
changed data file, and the export gate never passes on nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import toy_frame
from sentiq.config import build_config
from sentiq.errors import DataError


def _train_relative(folder: Path, monkeypatch, settings: dict) -> Path:
    """Train from ``folder`` with the data source given as the relative path toy.csv."""
    from sentiq.workflows import train

    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(folder)
    toy_frame(120).to_csv("toy.csv", index=False)
    cfg = build_config(
        {"name": "rel", "data": {"source": "toy.csv", "validation_size": 0.2, "test_size": 0.2}, **settings}
    )
    return train(cfg, Path("model")).output_dir.resolve()


@pytest.fixture()
def tfidf_relative(tmp_path, monkeypatch) -> Path:
    model = _train_relative(tmp_path / "trained-here", monkeypatch, {"approach": "tfidf"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return model


def test_the_manifest_records_the_data_file_absolutely(tfidf_relative):
    from sentiq.models import Manifest

    record = Manifest.load(tfidf_relative).data_files["source"]
    assert Path(record["path"]).is_absolute() and record["given"] == "toy.csv"
    assert record["bytes"] == Path(record["path"]).stat().st_size and len(record["sha256"]) == 64


def test_evaluate_and_monitor_work_from_another_folder(tfidf_relative, tmp_path):
    """Both failed with E200 from any folder but the training one."""
    from sentiq.monitoring import monitor
    from sentiq.workflows import evaluate

    metrics, _ = evaluate(tfidf_relative, report_dir=tmp_path / "report")
    trained = json.loads((tfidf_relative / "report" / "metrics.json").read_text())
    assert metrics["n"] == trained["n"] == 24 and metrics["accuracy"] == pytest.approx(trained["accuracy"])
    current = tmp_path / "live.txt"
    current.write_text("\n".join(toy_frame(40, seed=3)["text"]))
    result = monitor(str(tfidf_relative), str(current), output_dir=tmp_path / "drift", embeddings=False)
    assert result.reference.kind == "model" and len(result.reference) > 0
    result = CliRunner().invoke(
        __import__("sentiq.cli", fromlist=["app"]).app,
        ["evaluate", str(tfidf_relative), "--report", str(tmp_path / "r2")],
    )
    assert result.exit_code == 0, result.output


def test_a_changed_data_file_is_refused(tfidf_relative, tmp_path):
    from sentiq.models import Manifest
    from sentiq.workflows import evaluate

    source = Path(Manifest.load(tfidf_relative).data_files["source"]["path"])
    source.write_text(source.read_text().replace("good", "bad"))
    with pytest.raises(DataError, match="changed since the model was trained"):
        evaluate(tfidf_relative, report_dir=tmp_path / "report")
    os.utime(source, (0, 0))  # same content restored later with another mtime still counts as the same file


def test_an_older_model_with_a_relative_source_names_the_problem(tfidf_relative, tmp_path):
    from sentiq.workflows import evaluate

    manifest = json.loads((tfidf_relative / "sentiq.json").read_text())
    manifest.pop("data_files")
    (tfidf_relative / "sentiq.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="relative path 'toy.csv'"):
        evaluate(tfidf_relative, report_dir=tmp_path / "report")


def test_the_export_gate_checks_on_labelled_rows_from_another_folder(tiny_bert, tmp_path, monkeypatch):
    """The export used to find no labelled rows from another folder and pass on 10 sample texts."""
    from sentiq.export import export_onnx

    model = _train_relative(
        tmp_path / "trained-here",
        monkeypatch,
        {
            "model": str(tiny_bert),
            "preprocess": "none",
            "training": {"max_length": 32, "batch_size": 8, "epochs": 2, "learning_rate": 1e-3, "warmup_ratio": 0.0},
            "evaluation": {"important_words": 0, "fairness": False},
        },
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = export_onnx(model, tmp_path / "onnx", min_eval_rows=20)
    assert result.report["labelled_rows"] == 24 and "accuracy_onnx" in result.report
    # Fewer labelled rows than the gate needs: refused, nothing written.
    with pytest.raises(DataError, match="found 24 labelled test rows .* needs at least 100"):
        export_onnx(model, tmp_path / "onnx2")
    assert not (tmp_path / "onnx2").exists()
    # Data gone: refused, unless the check is skipped on purpose.
    Path(json.loads((model / "sentiq.json").read_text())["data_files"]["source"]["path"]).unlink()
    with pytest.raises(DataError, match="no labelled data for the export's accuracy check.*--data none"):
        export_onnx(model, tmp_path / "onnx3", min_eval_rows=20)
    assert export_onnx(model, tmp_path / "onnx4", data="none").report["labelled_rows"] == 0
