"""Ray Data scoring on a local Ray started by the test: the same predictions as Predictor."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import toy_frame, train_on_toy_corpus

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)  # 2 actors + the file-listing task
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory):
    return train_on_toy_corpus(tmp_path_factory.mktemp("tfidf"), {"approach": "tfidf"}).output_dir


def _texts(n: int = 400) -> pd.DataFrame:
    frame = toy_frame(n, seed=5)
    return frame.assign(id=range(n))[["id", "text"]]


def _assert_same_as_predictor(model_dir, frame: pd.DataFrame, **options):
    from sentiq.inference import Predictor
    from sentiq.inference.raydata import predict_dataset

    scored = predict_dataset(ray.data.from_pandas(frame), model_dir, keep=["id"], batch_size=64, **options)
    rows = sorted(scored.take_all(), key=lambda r: r["id"])  # actors may finish out of order
    expected = Predictor.load(model_dir).predict(frame["text"].tolist())
    assert [r["id"] for r in rows] == frame["id"].tolist()
    assert [r["label"] for r in rows] == [p.label for p in expected]
    assert [r["scores"] for r in rows] == [p.scores for p in expected]  # identical, not close
    assert [r.get("language") for r in rows] == [p.language for p in expected]


def _with_empty_rows(path, n: int = 50):
    frame = _texts(n)
    frame.loc[[0, 20, n - 1], "text"] = ["", "   ", ""]
    frame.to_csv(path, index=False)


def test_ray_data_two_actors_give_the_predictor_s_predictions_and_the_cli_file(local_ray, tfidf_model, tmp_path):
    """Default suite: a TF-IDF model over an actor pool of 2, then `--engine ray` vs the local engine on a file
    with empty texts: --on-empty null (the default) on both engines, the same output file."""
    from sentiq.inference.batch import score_file
    from sentiq.inference.raydata import score_file_ray

    model = tfidf_model
    _assert_same_as_predictor(model, _texts(), concurrency=2)
    _with_empty_rows(tmp_path / "in.csv", 400)
    local = score_file(model, tmp_path / "in.csv", tmp_path / "local.parquet", keep=["id"], chunk_rows=100)
    on_ray = score_file_ray(
        model, tmp_path / "in.csv", tmp_path / "ray.parquet", keep=["id"], concurrency=2, batch_size=50
    )
    table = pq.read_table(tmp_path / "ray.parquet")
    assert local.rows_out == on_ray.rows_out == 400
    assert table.equals(pq.read_table(tmp_path / "local.parquet"))
    assert table.column("label").null_count == 3


@pytest.mark.slow
def test_ray_follows_on_empty_like_the_streaming_path(local_ray, tfidf_model, tmp_path):
    """Empty texts (an empty cell, blanks, a blank .txt line) get what --on-empty says on both engines: the same
    output file for null and skip; with error, a bad row that stops the job (or is skipped by on_bad_rows)."""
    from sentiq.errors import DataError
    from sentiq.inference.batch import score_file
    from sentiq.inference.raydata import score_file_ray

    model = tfidf_model
    _with_empty_rows(tmp_path / "in.csv")
    (tmp_path / "in.txt").write_text("\n".join(["great fun", "", "awful", "   ", "love it"]) + "\n")
    for name in ("in.csv", "in.txt"):
        keep = ["id"] if name == "in.csv" else []
        for on_empty, rows in (("null", None), ("skip", 3 if name == "in.txt" else 47)):
            out = {engine: tmp_path / f"{name}-{on_empty}-{engine}.parquet" for engine in ("local", "ray")}
            local = score_file(model, tmp_path / name, out["local"], keep=keep, on_empty=on_empty, chunk_rows=20)
            on_ray = score_file_ray(
                model, tmp_path / name, out["ray"], keep=keep, on_empty=on_empty, concurrency=2, batch_size=16
            )
            table = pq.read_table(out["ray"])
            assert table.equals(pq.read_table(out["local"])), (name, on_empty)
            assert on_ray.rows_out == local.rows_out == (rows or local.rows_in)
            if on_empty == "null":
                assert table.column("label").null_count == (2 if name == "in.txt" else 3)
                assert set(table.column("note").drop_null().to_pylist()) == {"empty text"}
    by_position = score_file_ray(model, tmp_path / "in.csv", tmp_path / "pos.parquet", text_column="1", keep=["0"])
    assert pq.read_table(tmp_path / "pos.parquet").equals(pq.read_table(tmp_path / "in.csv-null-ray.parquet"))
    assert by_position.rows_out == 50
    with pytest.raises(DataError, match="'text' is empty"):
        score_file_ray(model, tmp_path / "in.csv", tmp_path / "o.jsonl", on_empty="error")
    assert not (tmp_path / "o.jsonl").exists()
    result = score_file_ray(model, tmp_path / "in.csv", tmp_path / "o.jsonl", on_empty="error", on_bad_rows="skip")
    assert result.rows_out == 47


@pytest.mark.slow
def test_ray_fine_tuned_onnx_and_routed_models_match_the_predictor(local_ray, trained_model, tfidf_model, tmp_path):
    from sentiq.export import export_onnx
    from sentiq.workflows import route
    from test_chinese import _train_tfidf, zh_frame

    frame = _texts(120)
    _assert_same_as_predictor(trained_model, frame, concurrency=2)
    onnx = export_onnx(trained_model, tmp_path / "onnx", min_eval_rows=20).output_dir  # the tiny test split: 24 rows
    _assert_same_as_predictor(onnx, frame, concurrency=1)
    zh_frame().to_csv(tmp_path / "zh.csv", index=False)
    zh = _train_tfidf(
        tmp_path, "zh", tmp_path / "zh.csv", text_column="review", label_map={"0": "negative", "1": "positive"}
    )
    routed = route({"zh": zh, "en": onnx}, tmp_path / "routed")
    mixed = pd.DataFrame(
        {
            "id": range(80),
            "text": [t if i % 2 else z for i, (t, z) in enumerate(zip(_texts(80)["text"], zh_frame(80)["review"]))],
        }
    )
    _assert_same_as_predictor(routed, mixed, concurrency=2)
