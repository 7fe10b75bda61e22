"""The top-level API: one function per CLI verb, each callable again and again in one process."""

from __future__ import annotations

import json

import pytest

import sentiq
from conftest import toy_frame


def test_no_public_name_is_also_a_module_even_after_every_module_is_imported(every_module_imported):
    # Before: importing sentiq.explain (the subpackage) made sentiq.explain a module, not the function.
    proc = every_module_imported
    assert proc.returncode == 0, proc.stderr[-3000:]
    kinds = json.loads(proc.stdout.strip().splitlines()[-1])
    bad = [f"sentiq.{n}" for n, kind in kinds["sentiq"].items() if n != "__version__" and kind != "callable"]
    for package in ("sentiq.workflows", "sentiq.monitoring"):
        bad += [f"{package}.{n}" for n, kind in kinds[package].items() if kind == "module"]
    assert not bad


def test_the_two_fairness_checks_have_different_names():
    import sentiq.evaluation

    assert not hasattr(sentiq.evaluation, "fairness_check")
    assert sentiq.evaluation.template_fairness_check.__module__ == "sentiq.evaluation.fairness"
    assert sentiq.fairness_check.__module__ == "sentiq.workflows.trust"


def test_every_cli_command_has_a_top_level_function():
    from sentiq.cli import app

    backing = {
        "train": "train",
        "compare": "compare",
        "pretrain": "pretrain",
        "distill": "distill",
        "evaluate": "evaluate",
        "route": "route",
        "predict": "score_file",
        "serve": "serve",
        "export": "export_onnx",
        "explain": "explain",
        "calibrate": "calibrate",
        "fairness": "fairness_check",
        "monitor": "monitor",
        "config": "describe_config",
        "data inspect": "inspect_data",
        "runs list": "load_runs",
        "runs compare": "compare_runs",
        "models list": "available_models",
        "models fetch": "fetch_model",
    }
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    commands |= {f"{g.name} {c.name}" for g in app.registered_groups for c in g.typer_instance.registered_commands}
    assert commands == set(backing)
    assert all(callable(getattr(sentiq, name)) for name in backing.values())


def test_top_level_functions_run_twice_in_one_process_after_train(tmp_path):
    toy_frame(120).to_csv(tmp_path / "toy.csv", index=False)
    (tmp_path / "texts.txt").write_text("a fine film\n\nawful plot\n", encoding="utf-8")
    config = sentiq.build_config(
        {
            "name": "api",
            "approach": "tfidf",
            "tfidf": {"min_df": 1},
            "data": {"source": str(tmp_path / "toy.csv"), "validation_size": 0.2, "test_size": 0.2},
            "evaluation": {"important_words": 5},
        }
    )
    model = sentiq.train(config, tmp_path / "model").output_dir  # imports the explanation methods
    predictor = sentiq.Predictor.load(model)
    for i in range(2):
        explanation = sentiq.explain(model, "a wonderful film")  # TypeError: 'module' object is not callable before
        assert explanation.label in predictor.labels and explanation.words
        assert sentiq.important_words(predictor, ["a wonderful film", "an awful film"], sample=2)
        metrics, report = sentiq.evaluate(
            model, report_dir=tmp_path / f"eval{i}", fairness=False, important_words=False
        )
        assert 0 <= metrics["accuracy"] <= 1 and (report / "report.html").is_file()
        assert sentiq.calibrate(model)["split"] == "validation"
        assert "spread" in sentiq.fairness_check(model)
        assert sentiq.inspect_data(str(tmp_path / "toy.csv")).labels
        assert sentiq.read_texts(tmp_path / "texts.txt") == ["a fine film", "awful plot"]
        assert sentiq.predict_to_file(predictor, ["good", "bad"], tmp_path / f"out{i}.jsonl") == 2
        assert any(key == "seed" for key, _, _ in sentiq.describe_config())
        assert sentiq.load_runs()  # train and evaluate were recorded


@pytest.mark.parametrize("name", ["explain", "train", "evaluate", "fairness_check"])
def test_a_name_stays_the_function_after_its_module_is_imported(name):
    import importlib

    before = getattr(sentiq, name)
    for module in (
        "sentiq.explanations",
        "sentiq.workflows",
        "sentiq.workflows.training",
        "sentiq.workflows.evaluation",
        "sentiq.workflows.trust",
    ):
        importlib.import_module(module)
    assert getattr(sentiq, name) is before and callable(before)
