"""The `sentiq` command end to end, on the tiny model and toy data."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from sentiq.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture()
def config_file(tmp_path, tiny_bert, toy_csv):
    path = tmp_path / "cfg.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "cli-toy",
                "model": str(tiny_bert),
                "preprocess": "none",
                "data": {"source": str(toy_csv)},
                "training": {"max_length": 32, "batch_size": 8, "epochs": 2, "learning_rate": 1e-3},
            }
        )
    )
    return path


def test_train_writes_a_model_and_prints_a_table(config_file, tmp_path):
    result = invoke("train", "--config", config_file, "--output", tmp_path / "m", "--set", "training.epochs=1")
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "macro_f1" in result.output
    assert (tmp_path / "m" / "sentiq.json").is_file()
    saved = yaml.safe_load((tmp_path / "m" / "config.yaml").read_text())
    assert saved["training"]["epochs"] == 1.0  # the override is what was saved


def test_evaluate_writes_report(trained_model, tmp_path):
    result = invoke("evaluate", trained_model, "--report", tmp_path / "rep")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rep" / "report.html").is_file()
    metrics = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert 0 <= metrics["accuracy"] <= 1


def test_evaluate_on_another_file_with_label_map(trained_model, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("review,stars\ngreat film,1\nawful plot,0\nsuperb acting,1\nboring story,0\n")
    result = invoke(
        "evaluate",
        trained_model,
        "--data",
        path,
        "--split",
        "all",
        "--text-column",
        "review",
        "--label-column",
        "stars",
        "--label-map",
        "0=negative,1=positive",
        "--report",
        tmp_path / "r",
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["n"] == 4


def test_predict_arguments_print_json_lines(trained_model):
    result = invoke("predict", trained_model, "great wonderful film", "awful boring")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [r["text"] for r in rows] == ["great wonderful film", "awful boring"]
    assert all(set(r) == {"text", "label", "score", "scores"} for r in rows)


def test_predict_file_to_file(trained_model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("great film\n\nawful plot\n", encoding="utf-8")
    result = invoke("predict", trained_model, "--input", src, "--output", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "out.jsonl").read_text().strip().splitlines()
    rows = [json.loads(x) for x in lines]  # one line per input line: the blank one gets label null
    assert [r["text"] for r in rows] == ["great film", "", "awful plot"] and rows[1]["label"] is None


def test_data_inspect_and_config_reference(toy_csv):
    result = invoke("data", "inspect", toy_csv)
    assert result.exit_code == 0 and "positive" in result.output and "duplicates" in result.output
    result = invoke("config")
    assert result.exit_code == 0 and "learning_rate" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "{missing}", "hello"], "does not exist"),
        (["evaluate", "{missing}"], "does not exist"),
        (["train", "--config", "{cfg}", "--set", "training.learning_rate=-1", "-o", "{out}"], "training.learning_rate"),
        (["train", "--config", "{cfg}", "--set", "data.text_column=body", "-o", "{out}"], "no column"),
        (["train", "--config", "{cfg}", "--set", "model={missing}", "-o", "{out}"], "does not exist"),
        (["predict", "{model}", "   ", "--on-empty", "error"], "text 1 is empty"),
        (["predict", "{model}", "--input", "{latin1}"], "UTF-8"),
        (["data", "inspect", "{missing}"], "neither a file nor a built-in"),
    ],
)
def test_bad_input_gives_one_clear_error(args, message, trained_model, config_file, tmp_path):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9 is great\n".encode("latin-1"))
    values = {
        "missing": tmp_path / "nope",
        "cfg": config_file,
        "out": tmp_path / "out",
        "model": trained_model,
        "latin1": latin1,
    }
    result = invoke(*[a.format(**values) for a in args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_console_script_exit_code(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sentiq.cli", "predict", str(tmp_path / "nope"), "x"], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "[E342]" in proc.stderr  # model directory does not exist


def test_config_reference_page_is_current():
    import runpy
    from pathlib import Path

    from sentiq.config import describe_fields

    root = Path(__file__).resolve().parents[1]
    script = runpy.run_path(str(root / "scripts" / "config_reference.py"))
    page = (root / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == script["page_markdown"](), "docs/configuration.md is stale: run scripts/config_reference.py --write"
    for key, default, _ in describe_fields():
        assert f"| `{key}` | `{default}` |" in page


def test_top_level_api_is_importable():
    import sentiq

    assert callable(sentiq.train) and callable(sentiq.evaluate) and sentiq.Predictor.load
