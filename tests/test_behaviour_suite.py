"""The shipped English behaviour suite (CheckList-style capabilities) and per-capability pass rates."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from sentiq.evaluation.behaviour import behaviour_source, builtin_suites, read_behaviour_file

CAPABILITIES = [
    "negation",
    "double_negation",
    "contrast",
    "intensifiers_downtoners",
    "sarcasm",
    "emoji_emoticons",
    "typos_slang",
]


def test_english_suite_covers_each_capability_with_both_labels():
    assert "en" in builtin_suites()
    frame = read_behaviour_file(behaviour_source("en"))
    assert list(dict.fromkeys(frame["capability"])) == CAPABILITIES
    for capability, rows in frame.groupby("capability"):
        assert len(rows) >= 20, capability
        assert set(rows["expected"]) == {"negative", "positive"}, capability
    assert not frame["text"].duplicated().any()
    for sentence in (
        "I don't hate it.",
        "I'm not unhappy with it.",
        "Could've been worse.",
        "I expected to hate it, but it won me over.",
    ):
        assert frame.loc[frame["text"] == sentence, "expected"].tolist() == ["positive"]


def test_evaluate_with_a_builtin_suite_reports_each_capability(trained_model, tmp_path):
    from sentiq.cli import app

    report = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["evaluate", str(trained_model), "--behaviour", "en", "--report", str(report)], catch_exceptions=False
    )
    assert "pass rate per capability" in result.output
    metrics = json.loads((report / "metrics.json").read_text())
    capabilities = metrics["behaviour"]["capabilities"]
    assert list(capabilities) == CAPABILITIES
    frame = read_behaviour_file(behaviour_source("en"))
    cases = pd.DataFrame(metrics["behaviour"]["cases"])
    for name, row in capabilities.items():
        mine = cases[cases["capability"] == name]
        assert row["total"] == len(mine) == (frame["capability"] == name).sum()
        assert row["passed"] == mine["passed"].sum() and row["pass_rate"] == row["passed"] / row["total"]
    assert "pass rate" in (report / "report.html").read_text()


def test_a_file_without_capabilities_still_works(trained_model, tmp_path):
    from sentiq.workflows import evaluate_behaviour

    path = tmp_path / "plain.csv"
    path.write_text("text,expected\ngreat fun,positive\nawful and boring,negative\n")
    result = evaluate_behaviour(trained_model, path, report_dir=tmp_path / "r")
    assert list(result.metrics["behaviour_capabilities"]) == [""]
    assert result.metrics["behaviour_capabilities"][""]["total"] == 2
