"""Batch scoring at scale: chunked streaming, exact-once resume after kill -9, bad rows named."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import toy_frame, train_on_toy_corpus

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory):
    return train_on_toy_corpus(tmp_path_factory.mktemp("tfidf"), {"approach": "tfidf"}).output_dir


def _rows(n: int, seed: int = 1) -> pd.DataFrame:
    frame = toy_frame(n, seed=seed)
    return frame.assign(id=[f"r{i:06d}" for i in range(n)])[["id", "text", "label"]]


def _read_output(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_chunked_scoring_equals_the_predictor_in_every_format_and_a_folder_of_parts(tfidf_model, tmp_path):
    from sentiq.inference import Predictor
    from sentiq.inference.batch import score_file

    frame = _rows(1000)
    expected = Predictor.load(tfidf_model).predict(frame["text"].tolist())
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(3):  # uneven parts, read in name order
        frame.iloc[[0, 300, 700, 1000][i] : [0, 300, 700, 1000][i + 1]].to_parquet(parts / f"part-{i}.parquet")
    (parts / "_SUCCESS").write_text("")
    frame.to_csv(tmp_path / "in.csv", index=False)
    frame.to_json(tmp_path / "in.jsonl", orient="records", lines=True)
    for source, out in [(parts, "a.parquet"), (tmp_path / "in.csv", "b.jsonl"), (tmp_path / "in.jsonl", "c.parquet")]:
        result = score_file(tfidf_model, source, tmp_path / out, keep=["id"], chunk_rows=128)
        rows = _read_output(tmp_path / out)
        assert (result.rows_in, result.rows_out, result.skipped) == (1000, 1000, 0)
        assert [r["id"] for r in rows] == frame["id"].tolist()
        assert [r["label"] for r in rows] == [p.label for p in expected]
        assert [r["scores"] for r in rows] == [p.scores for p in expected]  # exactly, not approximately
        assert not (tmp_path / f"{out}.partial").exists()


def test_small_text_file_output_keeps_its_json_lines_shape(tfidf_model, tmp_path):
    from sentiq.cli import app

    src = tmp_path / "in.txt"
    src.write_text("great film\n\nawful plot\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["predict", str(tfidf_model), "--input", str(src), "--output", str(tmp_path / "out.jsonl")]
    )
    assert result.exit_code == 0, result.output
    rows = _read_output(tmp_path / "out.jsonl")
    # One line per input line (issue 16's empty-text policy): the blank one gets label null and a note.
    assert [r["text"] for r in rows] == ["great film", "", "awful plot"]
    assert all(list(r) == ["text", "label", "score", "scores"] for r in rows[::2])
    assert rows[1]["label"] is None and rows[1]["scores"] is None and rows[1]["note"]
    assert "rows/s" in result.output  # the plain progress line and the closing table


@pytest.mark.parametrize(
    "fmt, bad, where",
    [
        ("csv", 'r002500,"extra",field,positive', "line 2502"),  # header is line 1, row i is line i + 2
        ("csv", "r002500,,positive", "line 2502"),
        ("jsonl", '{"id": "r002500", "text": ', "line 2501"),
        ("jsonl", '{"id": "r002500", "text": null}', "line 2501"),
    ],
)
def test_a_malformed_row_in_the_middle_is_named_and_leaves_no_output(tfidf_model, tmp_path, fmt, bad, where):
    from sentiq.errors import DataError
    from sentiq.inference.batch import score_file

    frame = _rows(5000)
    path = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[int(where.split()[1]) - 1] = bad
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    # on_empty="error": an empty text is a bad row here (the default answers it with label null)
    with pytest.raises(DataError, match=f"{path.name} {where}: .*skip-bad-rows"):
        score_file(tfidf_model, path, out, keep=["id"], chunk_rows=1000, on_empty="error")
    assert not out.exists()  # two finished chunks wait in out.parquet.partial, never as out.parquet

    result = score_file(
        tfidf_model, path, out, keep=["id"], chunk_rows=1000, on_bad_rows="skip", on_empty="error", resume=True
    )
    assert (result.rows_in, result.rows_out, result.skipped, result.resumed_chunks) == (5000, 4999, 1, 2)
    assert where in result.skipped_examples[0]
    ids = [r["id"] for r in _read_output(out)]
    assert ids == [i for i in frame["id"] if i != "r002500"]


def test_null_text_in_parquet_names_the_row_and_cli_counts_skips(tfidf_model, tmp_path):
    from sentiq.cli import app

    frame = _rows(300)
    frame.loc[150, "text"] = None
    frame.to_parquet(tmp_path / "in.parquet")
    args = ["predict", str(tfidf_model), "--input", str(tmp_path / "in.parquet"), "--output", str(tmp_path / "o.jsonl")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "in.parquet row 151: no 'text' value" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o.jsonl").exists()
    result = CliRunner().invoke(app, [*args, "--resume", "--skip-bad-rows"])
    assert result.exit_code == 0, result.output
    assert len(_read_output(tmp_path / "o.jsonl")) == 299 and "skipped" in result.output


def test_resume_refuses_a_changed_input_and_a_fresh_run_refuses_leftovers(tfidf_model, tmp_path):
    from sentiq.errors import ConfigError, DataError
    from sentiq.inference.batch import score_file

    path = tmp_path / "in.csv"
    frame = _rows(400)
    frame.loc[350, "text"] = " "
    frame.to_csv(path, index=False)
    with pytest.raises(DataError):
        score_file(tfidf_model, path, tmp_path / "o.jsonl", chunk_rows=100, on_empty="error")
    with pytest.raises(ConfigError, match="--resume"):
        score_file(tfidf_model, path, tmp_path / "o.jsonl", chunk_rows=100, on_empty="error")
    with pytest.raises(ConfigError, match="chunk_rows"):
        score_file(tfidf_model, path, tmp_path / "o.jsonl", chunk_rows=50, on_empty="error", resume=True)
    _rows(400).to_csv(path, index=False)
    with pytest.raises(ConfigError, match="input"):
        score_file(tfidf_model, path, tmp_path / "o.jsonl", chunk_rows=100, on_empty="error", resume=True)


def _manifest_chunks(work: Path) -> int:
    try:
        return len(json.loads((work / "manifest.json").read_text())["chunks"])
    except (OSError, ValueError, KeyError):
        return 0


def test_a_job_killed_part_way_and_resumed_writes_each_row_exactly_once(tfidf_model, tmp_path):
    """kill -9 of a real `sentiq predict` process, a stray part it wrote but never recorded, then --resume."""
    n, chunk = 10_000, 100
    frame = _rows(n, seed=3)
    frame.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.jsonl"
    work = tmp_path / "out.jsonl.partial"
    cmd = [
        sys.executable,
        "-m",
        "sentiq.cli",
        "predict",
        str(tfidf_model),
        "--input",
        str(tmp_path / "in.csv"),
        "--output",
        str(out),
        "--keep",
        "id",
        "--chunk-rows",
        str(chunk),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "SENTIQ_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _manifest_chunks(work) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    finished = _manifest_chunks(work)
    assert 3 <= finished < n // chunk, f"the kill must land part-way (finished chunks: {finished})"
    assert not out.exists()
    # A part renamed into place just before the kill, but not yet in the manifest: must be redone, not kept.
    (work / f"part-{finished:06d}.jsonl").write_text('{"id": "stray"}\n')

    resumed = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    rows = _read_output(out)
    assert [r["id"] for r in rows] == frame["id"].tolist()  # every row once, in order
    assert not work.exists()
    from sentiq.inference import Predictor

    expected = Predictor.load(tfidf_model).predict(frame["text"].tolist())
    assert [r["label"] for r in rows] == [p.label for p in expected]


def test_streaming_reads_keep_memory_flat(tfidf_model, tmp_path):
    """The reader holds one chunk: chunks come lazily, each exactly chunk_rows records."""
    from sentiq.data.stream import iter_chunks, open_source

    frame = _rows(2500)
    frame.to_csv(tmp_path / "in.csv", index=False)
    chunks = iter_chunks(open_source(tmp_path / "in.csv"), chunk_rows=1000, start_chunk=1)
    first = next(chunks)
    assert (first.index, first.rows_in, first.texts[0]) == (1, 1000, frame["text"][1000])
    assert [c.rows_in for c in chunks] == [500]


def test_cli_prints_plain_progress_lines_when_not_a_terminal(tfidf_model, tmp_path):
    frame = _rows(3000)
    frame.to_csv(tmp_path / "in.csv", index=False)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sentiq.cli",
            "predict",
            str(tfidf_model),
            "--input",
            str(tmp_path / "in.csv"),
            "--output",
            str(tmp_path / "o.parquet"),
            "--chunk-rows",
            "500",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "score: 3,000 / 3,000 rows (100.0%)" in proc.stderr and "rows/s" in proc.stderr
    assert pq.read_table(tmp_path / "o.parquet").num_rows == 3000


def test_headerless_latin1_csv_like_sentiment140(tfidf_model, tmp_path):
    from sentiq.inference.batch import score_file

    path = tmp_path / "s140.csv"
    path.write_bytes(
        '"0","1","date","NO_QUERY","u","caf\xe9 was awful"\n"4","2","date","NO_QUERY","v","great fun"\n'.encode(
            "latin-1"
        )
    )
    result = score_file(
        tfidf_model,
        path,
        tmp_path / "o.jsonl",
        column_names=["polarity", "id", "date", "query", "user", "text"],
        keep=["id"],
        encoding="latin-1",
    )
    rows = _read_output(tmp_path / "o.jsonl")
    assert result.rows_out == 2 and rows[0]["text"] == "caf\xe9 was awful" and rows[1]["id"] == "2"


@pytest.mark.parametrize("fmt", ["headerless-csv", "csv", "jsonl", "parquet"])
def test_text_column_by_position_in_the_streaming_reader(tfidf_model, tmp_path, fmt):
    """--text-column 5 (0-based, as data.text_column takes it): the sixth column of a headerless CSV (detected,
    no --columns needed) or of a file with named columns; --keep by position too."""
    from sentiq.inference.batch import score_file

    frame = pd.DataFrame(
        {
            "polarity": ["0", "4", "4"],
            "id": ["11", "12", "13"],
            "date": "d",
            "query": "NO_QUERY",
            "user": "u",
            "tweet": ["awful and boring", "great fun", "love it"],
        }
    )
    path = tmp_path / f"in.{fmt.split('-')[-1]}"
    if fmt == "headerless-csv":
        frame.to_csv(path, index=False, header=False)
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    result = score_file(tfidf_model, path, tmp_path / "o.jsonl", text_column="5", keep=["1"])
    rows = _read_output(tmp_path / "o.jsonl")
    assert result.rows_out == 3 and [r["text"] for r in rows] == frame["tweet"].tolist()
    assert [r["1" if fmt == "headerless-csv" else "id"] for r in rows] == ["11", "12", "13"]


def test_a_text_in_another_language_is_named_by_its_file_line_in_later_chunks(tfidf_model, tmp_path, caplog):
    import logging

    from sentiq.inference.batch import score_file

    path = tmp_path / "mixed.txt"
    path.write_text("great film\nawful plot\nboring\n这部电影很好看\nloved it\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="sentiq.inference.predictor"):
        score_file(tfidf_model, path, tmp_path / "o.jsonl", chunk_rows=3)
    rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [("warning" in row) for row in rows] == [False, False, False, True, False]
    # The second chunk's first text is the file's line 4, not "text 1" of its chunk.
    assert f"{path} line 4" in caplog.text and "text 1" not in caplog.text
