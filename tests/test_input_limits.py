"""Inputs that escaped the limits (issue 15, defect 9): per-text size in the CLI, echoed values capped,
too-small and header-only training files, empty prediction inputs. Each gives one clear line."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from sentiq.cli import app
from sentiq.errors import DataError, Errors


def _invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def tfidf_dir(tmp_path_factory):
    from conftest import train_on_toy_corpus

    return train_on_toy_corpus(tmp_path_factory.mktemp("tfidf"), {"approach": "tfidf"}).output_dir


def test_a_text_over_the_limit_names_file_and_line(tfidf_dir, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("a fine film\n\n" + "good " * 30_000 + "\nbad\n")
    result = _invoke("predict", str(tfidf_dir), "--input", str(big))
    assert result.exit_code == 1
    assert f"{big} line 3" in result.output and "150,000 characters" in result.output and "--max-chars" in result.output
    assert len(result.output) < 600  # the text itself is not echoed


def test_truncate_cuts_long_texts_and_predicts(tfidf_dir, tmp_path):
    big = tmp_path / "big.csv"
    big.write_text("text\n" + "good " * 30_000 + "\nbad film\n")
    out = tmp_path / "pred.jsonl"
    result = _invoke(
        "predict", str(tfidf_dir), "--input", str(big), "--truncate", "--max-chars", "1000", "--output", str(out)
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and len(rows[0]["text"]) == 1000


def test_a_long_argument_text_is_refused(tfidf_dir):
    result = _invoke("predict", str(tfidf_dir), "ok", "x" * 200, "--max-chars", "100")
    assert result.exit_code == 1 and "text 2:" in result.output


def test_a_csv_row_over_the_limit_names_the_row(tfidf_dir, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("text\nfine\n" + "y" * 500 + "\n")
    result = _invoke("predict", str(tfidf_dir), "--input", str(table), "--max-chars", "100")
    assert result.exit_code == 1 and f"{table} line 3" in result.output  # streaming reader names the file line


EMPTY_INPUTS = [
    ("empty.txt", ""),
    ("header.csv", "text\n"),
    ("header-only-crlf.csv", "text,id\r\n"),
    ("empty.jsonl", ""),
    ("blank.jsonl", "\n  \n"),
]


@pytest.mark.parametrize(("name", "content"), EMPTY_INPUTS)
@pytest.mark.parametrize("to_file", [False, True])
def test_predict_on_an_input_without_records_is_an_error(tfidf_dir, tmp_path, name, content, to_file):
    """Zero records (an empty file, a header-only CSV, an empty JSONL) is an error naming the file, on
    stdout and to --output, and leaves no output (nor an interrupted job's .partial folder) behind."""
    path = tmp_path / name
    path.write_text(content)
    out = tmp_path / "pred.jsonl"
    result = _invoke("predict", str(tfidf_dir), "--input", str(path), *(["--output", str(out)] if to_file else []))
    assert result.exit_code == 1 and "holds no texts" in result.output and str(path) in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    if not to_file:
        assert "{" not in result.stdout  # no JSON line was printed


def test_a_txt_of_blank_lines_has_records_answered_by_the_empty_text_policy(tfidf_dir, tmp_path):
    """Blank .txt lines are records (empty texts): one null row each by default, an error with --on-empty error."""
    path = tmp_path / "blank.txt"
    path.write_text("\n\n  \n")
    result = _invoke("predict", str(tfidf_dir), "--input", str(path))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 3 and all(r["label"] is None and r["note"] for r in rows)
    result = _invoke("predict", str(tfidf_dir), "--input", str(path), "--on-empty", "error")
    assert result.exit_code == 1 and f"{path} line 1" in result.output


def test_score_file_refuses_an_input_without_records(tfidf_dir, tmp_path):
    from sentiq.inference.batch import score_file

    path = tmp_path / "header.csv"
    path.write_text("text,id\n")
    with pytest.raises(DataError, match="holds no texts"):
        score_file(tfidf_dir, path, tmp_path / "out.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["header.csv"]


@pytest.mark.parametrize("rows", [2, 5])
def test_too_few_training_rows_is_a_clear_error(tmp_path, rows):
    data = tmp_path / "tiny.csv"
    data.write_text("text,label\n" + "".join(f"text {i},{'positive' if i % 2 else 'negative'}\n" for i in range(rows)))
    result = _invoke("train", "--set", f"data.source={data}", "--set", "approach=tfidf", "-o", str(tmp_path / "m"))
    assert result.exit_code == 1
    assert f"holds {rows} labelled rows; training needs at least 14" in result.output
    assert len(result.output.splitlines()) <= 4


def test_a_header_only_csv_says_no_rows(tmp_path):
    data = tmp_path / "header.csv"
    data.write_text("text,label\n")
    result = _invoke("train", "--set", f"data.source={data}", "--set", "approach=tfidf", "-o", str(tmp_path / "m"))
    assert result.exit_code == 1 and "holds no rows" in result.output and "single class" not in result.output


def test_a_huge_single_line_csv_is_not_echoed(tmp_path, monkeypatch):
    """A file without line breaks is one giant header: the error and run.json used to carry all of it."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("SENTIQ_RUNS_DIR", str(runs))
    data = tmp_path / "oneline.csv"
    # ~170 kB on one line: 5,000 columns, 60x the caps below (pandas makes a Series per column: wide files are slow)
    data.write_text(",".join(f"review number {i} was quite good" for i in range(5_000)))
    result = _invoke("train", "--set", f"data.source={data}", "--set", "approach=tfidf", "-o", str(tmp_path / "m"))
    assert result.exit_code == 1 and "E204" in result.output
    assert len(result.output) < 3000
    (record,) = [json.loads((runs / d / "run.json").read_text()) for d in os.listdir(runs)]
    assert record["status"] == "failed" and len(record["error"]) <= 2100
    assert len((runs / os.listdir(runs)[0] / "run.json").read_text()) < 200_000


def test_error_messages_are_capped():
    error = DataError(Errors.E263, path="big.csv", detail="x" * 1_000_000)
    assert len(str(error)) < 2200 and "characters left out" in str(error)
