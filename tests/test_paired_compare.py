"""benchmarks/paired_compare.py: two models scored on the same rows, paired difference and McNemar."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import train_on_toy_corpus, train_two_member_ensemble

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "paired_compare.py"


def _module(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # as `python benchmarks/paired_compare.py` sees its siblings
    spec = importlib.util.spec_from_file_location("paired_compare", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paired_difference_counts_discordant_rows(monkeypatch):
    paired = _module(monkeypatch).paired_difference
    gold = np.array(["pos"] * 100, dtype=object)
    base = np.array(["pos"] * 80 + ["neg"] * 20, dtype=object)
    same = paired(gold, base, base.copy(), rounds=200, seed=0)
    assert same["difference"] == 0 and same["ci95"] == [0.0, 0.0] and same["mcnemar_p"] == 1.0
    better = base.copy()
    better[80:95] = "pos"  # 15 rows only the second model gets right
    result = paired(gold, base, better, rounds=2000, seed=0)
    assert result["only_this_right"] == 15 and result["only_first_right"] == 0
    assert abs(result["difference"] - 0.15) < 1e-12 and result["ci95"][0] > 0 and result["mcnemar_p"] < 0.001
    assert result["mcnemar_method"] == "exact"  # 15 discordant rows: the exact binomial test


@pytest.mark.slow
def test_script_scores_an_ensemble_against_each_member(tiny_config, tmp_path):
    ensemble = train_two_member_ensemble(tiny_config, tmp_path)
    out = tmp_path / "paired.json"
    command = [sys.executable, str(SCRIPT), str(ensemble), "--members", "--rounds", "100", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    models = json.loads(out.read_text())["models"]
    assert len(models) == 3 and [v["member"] for v in models[-1]["vs_members"]] == [m["model"] for m in models[:2]]
    first = models[-1]["vs_members"][0]
    assert first["difference"] == models[-1]["difference"] and first["mcnemar_p"] == models[-1]["mcnemar_p"]
    assert "ensemble vs" in done.stdout


@pytest.mark.slow
def test_script_scores_two_models_on_the_same_rows(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = train_on_toy_corpus(tmp_path / "a", {"approach": "tfidf"}).output_dir
    second = train_on_toy_corpus(tmp_path / "b", {"approach": "tfidf", "tfidf": {"weighting": "nb"}}).output_dir
    out = tmp_path / "paired.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(first), str(second), "--rounds", "100", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["rows"] > 0 and [m["model"] for m in result["models"]] == [str(first), str(second)]
    assert 0 <= result["models"][1]["accuracy"] <= 1 and len(result["models"][1]["ci95"]) == 2


@pytest.mark.parametrize("method", ["soft", "stacking"])
def test_members_are_scored_from_the_ensembles_one_pass_as_alone(method, monkeypatch, tiny_config, tmp_path):
    import pandas as pd

    from sentiq.inference import Predictor

    ensemble = train_two_member_ensemble(tiny_config, tmp_path, method)
    texts = ["great wonderful film, i love it", "awful boring plot, i hate it", "the acting was superb :)", "dull"]
    names, predicted = _module(monkeypatch).ensemble_and_members(ensemble, pd.DataFrame({"text": texts}))
    assert names[-1] == str(ensemble) and str(tmp_path / "a") in names[0] and str(tmp_path / "b") in names[1]
    for directory, labels in zip(["a", "b", "ens"], predicted):
        assert list(labels) == [p.label for p in Predictor.load(tmp_path / directory).predict(texts)]
