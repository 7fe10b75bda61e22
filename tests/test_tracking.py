"""Run folders for train / evaluate / compare, `sentiq runs`, and a real MLflow file store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import toy_frame
from sentiq.cli import app
from sentiq.config import build_config
from sentiq.errors import ConfigError
from sentiq.tracking import compare_runs, load_runs
from sentiq.workflows import compare, evaluate, train


@pytest.fixture()
def runs_dir(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    monkeypatch.setenv("SENTIQ_RUNS_DIR", str(root))
    return root


@pytest.fixture()
def toy_data(tmp_path) -> Path:
    path = tmp_path / "toy.csv"
    toy_frame(120).to_csv(path, index=False)
    return path


def tfidf_config(data: Path, **overrides):
    return build_config(
        {
            "name": "toy-tfidf",
            "approach": "tfidf",
            "preprocess": "none",
            "data": {"source": str(data), "validation_size": 0.2, "test_size": 0.2},
            "tfidf": {"min_df": 1, "C": 16.0},
        },
        [f"{k}={v}" for k, v in overrides.items()],
    )


def test_train_and_evaluate_write_run_folders(runs_dir, toy_data, tmp_path):
    result = train(tfidf_config(toy_data), tmp_path / "model")
    (run,) = load_runs(runs_dir)
    folder = Path(run["path"])
    assert {p.name for p in folder.iterdir()} == {"run.json", "config.yaml", "metrics.json", "environment.json"}
    assert run["command"] == "train" and run["status"] == "finished" and run["name"] == "toy-tfidf"
    assert run["metrics"]["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert run["params"]["approach"] == "tfidf" and run["params"]["tfidf.C"] == 16.0
    assert yaml.safe_load((folder / "config.yaml").read_text())["approach"] == "tfidf"
    assert json.loads((folder / "metrics.json").read_text())["macro_f1"] == pytest.approx(result.metrics["macro_f1"])
    env = json.loads((folder / "environment.json").read_text())
    assert env["python"] and env["packages"]["scikit-learn"] and "git" in env
    assert run["model_path"] == str((tmp_path / "model").resolve())
    assert Path(run["report_path"]).is_file()

    metrics, report = evaluate(tmp_path / "model", split="validation")
    newest = load_runs(runs_dir)[0]
    assert newest["command"] == "evaluate" and newest["params"]["split"] == "validation"
    assert newest["metrics"]["accuracy"] == pytest.approx(metrics["accuracy"])
    assert newest["report_path"] == str(report.resolve() / "report.html")


def test_failed_run_is_recorded_and_none_records_nothing(runs_dir, toy_data, tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(ConfigError):
        train(tfidf_config(toy_data), tmp_path / "taken")
    (run,) = load_runs(runs_dir)
    assert run["status"] == "failed" and "already exists" in run["error"]
    train(tfidf_config(toy_data, tracking="none"), tmp_path / "quiet")
    assert len(load_runs(runs_dir)) == 1


def test_compare_records_one_run_and_runs_compare_shows_both(runs_dir, toy_data, tmp_path):
    rows = compare(tfidf_config(toy_data, **{"compare.approaches": "[tfidf, lexicon]"}), tmp_path / "cmp")
    (run,) = load_runs(runs_dir)  # the members' trainings are not separate runs
    assert run["command"] == "compare"
    assert run["metrics"]["lexicon.accuracy"] == pytest.approx(rows[1]["accuracy"])
    assert run["report_path"].endswith("comparison.html")

    train(tfidf_config(toy_data, **{"tfidf.C": 0.5}), tmp_path / "weak")
    trained = [r for r in load_runs(runs_dir) if r["command"] == "train"][0]
    diff = {key: (a, b) for section, key, a, b, differs in compare_runs(run, trained) if differs}
    assert diff["tfidf.C"] == (16.0, 0.5)

    result = CliRunner().invoke(
        app, ["runs", "compare", run["id"], trained["id"][:20], "--runs-dir", str(runs_dir)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert run["id"] in result.output and trained["id"] in result.output
    assert "tfidf.C" in result.output and "lexicon.accuracy" in result.output and "differ" in result.output
    listing = CliRunner().invoke(app, ["runs", "list", "--runs-dir", str(runs_dir)], env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and run["id"] in listing.output and trained["id"] in listing.output
    missing = CliRunner().invoke(app, ["runs", "compare", "nope", run["id"], "--runs-dir", str(runs_dir)])
    assert missing.exit_code == 1 and "no run 'nope'" in missing.output


def test_mlflow_file_store_receives_params_and_metrics(runs_dir, toy_data, tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    store = (tmp_path / "mlruns").resolve().as_uri()
    cfg = tfidf_config(toy_data, tracking="mlflow", **{"tracking.mlflow_uri": store, "tracking.experiment": "toy"})
    result = train(cfg, tmp_path / "model")
    (run,) = load_runs(runs_dir)
    assert run["mlflow"]["tracking_uri"] == store, run.get("mlflow")

    client = MlflowClient(tracking_uri=store)
    logged = client.get_run(run["mlflow"]["run_id"])
    assert client.get_experiment(logged.info.experiment_id).name == "toy"
    assert logged.info.status == "FINISHED" and logged.info.run_name == "toy-tfidf"
    assert logged.data.params["approach"] == "tfidf" and logged.data.params["tfidf.C"] == "16.0"
    assert logged.data.metrics["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert logged.data.tags["sentiq.run_id"] == run["id"]
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"run.json", "config.yaml", "metrics.json", "environment.json"} <= artifacts


def test_tracking_shorthand_and_overrides():
    cfg = build_config({"tracking": "mlflow"}, ["tracking.experiment=exp", "tracking.runs_dir=somewhere"])
    assert (cfg.tracking.backend, cfg.tracking.experiment, cfg.tracking.runs_dir) == ("mlflow", "exp", "somewhere")
    assert build_config({}, ["tracking=none"]).tracking.backend == "none"
    with pytest.raises(ConfigError, match="tracking.backend"):
        build_config({"tracking": "wandb"})
