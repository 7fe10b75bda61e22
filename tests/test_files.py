"""Real files, first try (issue 16): headerless CSVs, column positions, labels a model does not know,
empty texts, routed fallbacks, run records and listings, log output, the cost of evaluate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import SHARED, toy_frame
from sentiq.cli import app
from test_chinese import _train_tfidf, zh_en_models, zh_frame  # noqa: F401 (a fixture)

S140 = SHARED / "sentiment140" / "training.sample.csv"
HOTEL = SHARED / "chinese" / "ChnSentiCorp_htl_all.csv"
WAIMAI = SHARED / "chinese" / "waimai_10k.csv"
needs_shared = pytest.mark.skipif(not S140.is_file() or not HOTEL.is_file(), reason="shared datasets not present")


def invoke(*args, **kwargs):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False, **kwargs)


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory) -> Path:
    """A TF-IDF model (negative/positive) on the toy corpus: trained in a second."""
    root = tmp_path_factory.mktemp("tfidf")
    toy_frame(120).to_csv(root / "toy.csv", index=False)
    return _train_tfidf(root, "toy-tfidf", root / "toy.csv")


def _tweets(n: int, seed: int = 0) -> pd.DataFrame:
    """Sentiment140-layout rows (polarity, id, date, query, user, text) with toy sentences."""
    frame = toy_frame(n, seed)
    polarity = frame["label"].map({"negative": "0", "positive": "4"})
    return pd.DataFrame(
        {
            "p": polarity,
            "id": [str(1467810369 + i) for i in range(n)],
            "date": "Mon Apr 06 2009",
            "q": "NO_QUERY",
            "user": [f"user{i}" for i in range(n)],
            "text": frame["text"],
        }
    )


def _headerless(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, header=False)
    return path


# --- reading the user's file -------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("path, headerless", [(S140, True), (HOTEL, False), (WAIMAI, False)])
def test_header_detection_on_the_real_files(path, headerless):
    from sentiq.data.files import HEADERLESS
    from sentiq.data.files import read_table as _read_file

    frame = _read_file(path, encoding="latin-1" if path == S140 else None)
    assert bool(frame.attrs.get(HEADERLESS)) is headerless
    assert len(frame) == {S140: 20000, HOTEL: 7766, WAIMAI: 11987}[path]  # Sentiment140's first tweet is a row


@needs_shared
def test_sentiment140_layout_is_read_without_column_flags():
    from sentiq.data import load_data

    loaded = load_data(str(S140), encoding="latin-1")
    train = loaded.frames["train"]
    assert loaded.headerless and len(train) == 20000
    assert train["text"].iloc[0].startswith("@switchfoot http://twitpic.com/2y1zl")
    assert train["label"].value_counts().to_dict() == {"positive": 10001, "negative": 9999}


@pytest.mark.parametrize(
    "rows, headerless",
    [
        ("label,text\npositive,great\nnegative,bad film\n", False),
        ("positive,great\nnegative,bad film\npositive,ok\n", True),  # a label word repeats: data, not a name
        ("text,label\nI loved it,pos\nawful,neg\n", False),
        ("1,很好的酒店\n0,很差\n", True),  # a bare number is never a column name
        ("review,label\n", False),
    ],
)
def test_first_row_is_data_rule(rows, headerless, tmp_path):
    from sentiq.data.files import HEADERLESS
    from sentiq.data.files import read_table as _read_file

    path = tmp_path / "f.csv"
    path.write_text(rows, encoding="utf-8")
    assert bool(_read_file(path).attrs.get(HEADERLESS)) is headerless


def test_columns_by_position_and_header_flags(tmp_path):
    path = _headerless(toy_frame(40), tmp_path / "words.csv")  # text,label words: no header row
    result = invoke("data", "inspect", path, "--text-column", "0", "--label-column", "1", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["headerless"] and sum(sum(c.values()) for c in report["counts"].values()) == 40
    # --header makes the first row the header: its text and label become the column names
    first = toy_frame(40).iloc[0]
    forced = invoke(
        "data", "inspect", path, "--header", "--text-column", first["text"], "--label-column", first["label"], "--json"
    )
    assert forced.exit_code == 0, forced.output
    assert sum(sum(c.values()) for c in json.loads(forced.stdout)["counts"].values()) == 39


def test_errors_name_the_flags_of_the_command_that_ran(tfidf_model, tmp_path):
    path = _headerless(_tweets(20), tmp_path / "tweets.csv").rename(tmp_path / "tweets.csv")
    frame = pd.read_csv(path, header=None, dtype=str)
    frame[0] = frame[0].map({"0": "neg", "4": "pos"})  # not Sentiment140's polarities: no layout guess
    frame.to_csv(path, index=False, header=False)
    result = invoke("evaluate", tfidf_model, "--data", path)
    assert result.exit_code == 1
    message = result.output
    assert "--text-column / --label-column" in message and "data.text_column" not in message
    assert "(train)" not in message and "no header row" in message and "5='" in message
    # the config-driven command keeps speaking in config keys
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"approach: tfidf\ndata:\n  source: {path}\n", encoding="utf-8")
    trained = invoke("train", "-c", cfg, "-o", tmp_path / "m")
    assert trained.exit_code == 1 and "data.text_column" in trained.output


def test_positions_score_a_headerless_file_whole_and_say_so(tfidf_model, tmp_path):
    frame = _tweets(50)
    frame["p"] = frame["p"].map({"0": "neg", "4": "pos"})
    path = _headerless(frame, tmp_path / "tweets.csv")
    result = invoke(
        "evaluate",
        tfidf_model,
        "--data",
        path,
        "--text-column",
        5,
        "--label-column",
        0,
        "--label-map",
        "neg=negative,pos=positive",
        "--report",
        tmp_path / "r",
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["n"] == 50  # the whole file, not a 20% "test" slice
    shown = " ".join(result.stdout.split())
    assert "whole file, 50 rows" in shown and "scored: 50 rows (the whole file" in shown


def test_skip_target_leaves_rows_out_and_counts_them(tfidf_model, tmp_path):
    frame = _tweets(40)
    frame.loc[::4, "p"] = "2"  # 10 neutral tweets the binary model does not know
    path = _headerless(frame, tmp_path / "three.csv")
    refused = invoke("evaluate", tfidf_model, "--data", path)
    assert refused.exit_code == 1 and "'neutral'" in refused.output
    result = invoke(
        "evaluate",
        tfidf_model,
        "--data",
        path,
        "--label-map",
        "0=negative,4=positive,2=skip",
        "--report",
        tmp_path / "r",
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["n"] == 30
    assert "left out: 10 (label 2 (skip))" in " ".join(result.stdout.split())


def test_another_file_with_the_training_label_values_needs_no_label_map(tmp_path):
    """A model trained with data.label_map 0/1 scores another 0/1 file without --label-map (it used to say
    "labels ['0', '1'] are not among the model's labels"); a file the map does not fit still gets that error."""
    frame = toy_frame(120)
    frame["label"] = frame["label"].map({"negative": "0", "positive": "1"})
    frame.to_csv(tmp_path / "train.csv", index=False)
    model = _train_tfidf(tmp_path, "zero-one", tmp_path / "train.csv", label_map={"0": "negative", "1": "positive"})
    other = toy_frame(40, seed=5)
    other["label"] = other["label"].map({"negative": "0", "positive": "1"})
    other.to_csv(tmp_path / "other.csv", index=False)
    result = invoke("evaluate", model, "--data", tmp_path / "other.csv", "--report", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["n"] == 40
    assert "labels read with the model's training map 0=negative,1=positive" in " ".join(result.stdout.split())
    other.loc[::5, "label"] = "2"
    other.to_csv(tmp_path / "three.csv", index=False)
    refused = invoke("evaluate", model, "--data", tmp_path / "three.csv")
    assert refused.exit_code == 1 and "not among the model's labels" in " ".join(refused.output.split())


def test_a_file_shaped_like_the_training_data_needs_no_column_flags(zh_en_models, tmp_path):
    """A model trained on a label,review file scores another label,review file with no flags (it used to say
    "has no column ['text']"): the model's training columns and label map are the defaults."""
    _, zh, _ = zh_en_models
    zh_frame(30, seed=3).to_csv(tmp_path / "more.csv", index=False)
    result = invoke("evaluate", zh, "--data", tmp_path / "more.csv", "--report", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["n"] == 30


def test_predict_input_shaped_like_the_training_data_needs_no_text_column(zh_en_models, tmp_path):
    """predict --input on a label,review file with a model trained on label,review: no --text-column needed
    (it used to say "has no column 'text' ... a file without a header row needs --columns"); empty reviews
    get a null row; a file with neither column still names --text-column."""
    _, zh, _ = zh_en_models
    frame = zh_frame(6, seed=4)
    frame.loc[2, "review"] = ""
    frame.to_csv(tmp_path / "more.csv", index=False)
    result = invoke("predict", zh, "--input", tmp_path / "more.csv", "--output", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6 and rows[2]["label"] is None and all(r["label"] for i, r in enumerate(rows) if i != 2)
    frame.rename(columns={"review": "body"}).to_csv(tmp_path / "other.csv", index=False)
    refused = invoke("predict", zh, "--input", tmp_path / "other.csv", "--output", tmp_path / "o2.jsonl")
    message = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "--text-column" in message and "without a header row needs" not in message


def test_neutral_band_is_chosen_on_rows_that_are_not_scored(tfidf_model, tmp_path):
    from sentiq.workflows import evaluate

    frame = _tweets(100)
    frame.loc[::5, "p"] = "2"
    frame.loc[::5, "text"] = "the movie was a film and it is a show"  # no sentiment words: near 0.5
    path = _headerless(frame, tmp_path / "three.csv")
    metrics, _ = evaluate(tfidf_model, data=str(path), neutral_band="auto", report_dir=tmp_path / "r")
    scored = metrics["scored"]
    assert scored["rows"] == 80 and scored["band_chosen_on_rows"] == 20
    assert 0 < scored["neutral_band"] < 0.5
    assert set(metrics["per_class"]) == {"negative", "neutral", "positive"}
    assert metrics["per_class"]["neutral"]["recall"] > 0.5
    fixed, _ = evaluate(tfidf_model, data=str(path), neutral_band=0.0, report_dir=tmp_path / "r0")
    assert fixed["n"] == 100 and fixed["per_class"]["neutral"]["recall"] == 0.0


def test_validation_size_zero_trains_on_all_rows_with_a_warning(tmp_path):
    from sentiq.config import build_config
    from sentiq.workflows import train

    toy_frame(100).to_csv(tmp_path / "toy.csv", index=False)
    cfg = build_config({"approach": "tfidf", "data": {"source": str(tmp_path / "toy.csv"), "validation_size": 0}})
    result = train(cfg, tmp_path / "m")
    assert result.data_report.counts["train"] == {"negative": 40, "positive": 40}
    assert any("validation_size is 0" in w and "no calibration" in w for w in result.warnings)
    assert json.loads((tmp_path / "m" / "sentiq.json").read_text())["temperature"] is None


def test_validation_size_zero_fine_tunes_without_evaluation(tiny_config, tmp_path):
    from sentiq.workflows import train

    result = train(tiny_config(**{"data.validation_size": 0, "training.epochs": 1}), tmp_path / "m")
    assert not any("eval_loss" in step for step in json.loads((tmp_path / "m" / "history.json").read_text()))
    assert any("validation_size is 0" in w for w in result.warnings)


# --- empty and odd texts -----------------------------------------------------------------------


def test_one_empty_text_policy_for_the_python_predictor(tfidf_model):
    from sentiq.errors import EmptyTextError
    from sentiq.inference import Predictor

    predictor = Predictor.load(tfidf_model)
    texts = ["great film", "   ", "awful plot"]
    rows = predictor.predict(texts)
    assert [r.label for r in rows] == ["positive", None, "negative"] and rows[1].note == "empty text"
    assert rows[1].to_dict() == {"label": None, "score": None, "scores": None, "note": "empty text"}
    assert [r.label for r in predictor.predict(texts, on_empty="skip")] == ["positive", "negative"]
    with pytest.raises(EmptyTextError, match="text 2 is empty"):
        predictor.predict(texts, on_empty="error")


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".jsonl"])
def test_cli_keeps_one_output_row_per_input_row(tfidf_model, tmp_path, suffix):
    path = tmp_path / f"in{suffix}"
    texts = ["great film", "", "awful plot"]
    if suffix == ".txt":
        path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    elif suffix == ".csv":
        pd.DataFrame({"text": texts}).to_csv(path, index=False)
    else:
        path.write_text("\n".join(json.dumps({"text": t}) for t in texts) + "\n", encoding="utf-8")
    result = invoke("predict", tfidf_model, "--input", path)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["label"] for r in rows] == ["positive", None, "negative"] and rows[1]["note"] == "empty text"
    assert "1 of 3 texts given label null" in result.stderr
    where = "line 3" if suffix == ".csv" else "line 2"  # file lines, as the streaming reader names them
    skipped = invoke("predict", tfidf_model, "--input", path, "--on-empty", "skip")
    assert [json.loads(x)["text"] for x in skipped.stdout.splitlines()] == ["great film", "awful plot"]
    failed = invoke("predict", tfidf_model, "--input", path, "--on-empty", "error")
    assert failed.exit_code == 1 and f"{where}: 'text' is empty" in failed.output and not failed.stdout.strip()


def test_texts_preprocessing_empties_are_treated_as_empty(zh_en_models, tmp_path):
    from sentiq.inference import Predictor
    from sentiq.workflows import evaluate

    _, zh, _ = zh_en_models
    predictor = Predictor.load(zh)
    texts = ["//@张三:", "http://t.cn/RxyZ12a", "@苹果客服", "这家店的菜真好吃，很满意！"]
    rows = predictor.predict(texts)
    assert [r.note for r in rows] == ["empty after preprocessing"] * 3 + [None]
    assert rows[3].label == "positive"
    frame = zh_frame(20).assign(label=lambda f: f["label"].map({0: "negative", 1: "positive"}))
    frame = pd.concat([frame, pd.DataFrame({"review": ["@苹果客服", ""], "label": ["positive", "negative"]})])
    frame.to_csv(tmp_path / "zh.csv", index=False)
    metrics, _ = evaluate(zh, data=str(tmp_path / "zh.csv"), text_column="review", report_dir=tmp_path / "r")
    assert metrics["n"] == 20
    assert metrics["scored"]["left_out"] == {"empty text (in the file)": 1, "empty after preprocessing": 1}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("我@你了吗？", "我@你了吗?"),  # "did I @ you?": not a user called 你了吗
        ("回复@李四:谢谢", "回复 谢谢"),
        ("感谢@小米客服 的帮助", "感谢 的帮助"),
        ("@张三，你好", ",你好"),
        ("@苹果客服", ""),
    ],
)
def test_weibo_mentions_end_where_weibo_ends_them(raw, expected):
    from sentiq.preprocess import get_profile

    assert get_profile("chinese")(raw) == expected
    assert get_profile("chinese", 1)("我@你了吗？") == "我 ?"  # models trained with v1 keep v1


def test_routed_models_say_who_answered_and_refuse_silently_wrong_languages(zh_en_models, tmp_path):
    from sentiq.inference import Predictor
    from sentiq.preprocess.language import detect_language
    from sentiq.workflows import route

    _, zh, en = zh_en_models
    assert detect_language("ｈｅｌｌｏ ｗｏｒｌｄ") == "en"
    texts = ["最悪でした。二度と買いません", "😀😀", "ｇｒｅａｔ ｆｉｌｍ", "这家店的菜真好吃，很满意！"]
    strict = Predictor.load(route({"zh": zh, "en": en}, tmp_path / "strict"))
    rows = strict.predict(texts)
    assert [r.label for r in rows[:2]] == [None, None]
    assert [r.note for r in rows[:2]] == ["unsupported language (ja)", "unsupported language (unknown)"]
    assert [r.model for r in rows] == ["unsupported", "unsupported", "en", "zh"]
    assert rows[2].label is not None  # full-width Latin is detected as English (NFKC) and scored
    lenient = Predictor.load(route({"zh": zh, "en": en}, tmp_path / "lenient", fallback="en"))
    rows = lenient.predict(texts)
    assert rows[0].label is not None and rows[0].to_dict()["model"] == "en (fallback)"


# --- runs, logs and output ---------------------------------------------------------------------


def test_run_records_live_apart_from_models_and_list_as_json(tfidf_model, tmp_path, monkeypatch):
    from sentiq.tracking import runs_root

    monkeypatch.delenv("SENTIQ_RUNS_DIR")
    assert runs_root() == Path(".sentiq") / "runs"
    monkeypatch.setenv("SENTIQ_RUNS_DIR", str(tmp_path / "records"))
    toy_frame(60).to_csv(tmp_path / "toy.csv", index=False)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"name: same-name\napproach: lexicon\ndata:\n  source: {tmp_path / 'toy.csv'}\n", encoding="utf-8")
    assert invoke("train", "-c", cfg, "-o", tmp_path / "a", "--set", "approach=tfidf").exit_code == 0
    assert invoke("train", "-c", cfg, "-o", tmp_path / "a", "--set", "approach=tfidf").exit_code == 1  # exists
    assert invoke("evaluate", tfidf_model, "--data", tmp_path / "toy.csv").exit_code == 0
    listing = json.loads(invoke("runs", "list", "--json").stdout)
    assert [(r["command"], r["approach"], r["status"]) for r in listing] == [
        ("evaluate", "tfidf", "finished"),
        ("train", "tfidf", "failed"),
        ("train", "tfidf", "finished"),
    ]
    assert listing[0]["data"] == str((tmp_path / "toy.csv").resolve())
    assert [r["status"] for r in json.loads(invoke("runs", "list", "--json", "--status", "failed").stdout)] == [
        "failed"
    ]
    table = invoke("runs", "list").stdout  # not a terminal: no 80-column cut
    assert listing[0]["id"] in table and "tfidf" in table and "toy.csv" in table
    pair = json.loads(invoke("runs", "compare", listing[1]["id"], listing[2]["id"], "--json", "--only-diff").stdout)
    assert all(row["differs"] for row in pair)
    assert json.loads(invoke("config", "--json").stdout)[0]["key"]


def test_training_outside_a_terminal_logs_plain_progress_lines(tiny_bert, tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIQ_PROGRESS_EVERY", "0")
    toy_frame(80).to_csv(tmp_path / "toy.csv", index=False)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        json.dumps(
            {
                "model": str(tiny_bert),
                "preprocess": "none",
                "data": {"source": str(tmp_path / "toy.csv")},
                "evaluation": {"important_words": 0, "fairness": False},
                "training": {"max_length": 32, "batch_size": 8, "epochs": 1, "logging_steps": 2},
            }
        )
    )
    result = invoke("train", "-c", cfg, "-o", tmp_path / "m")
    assert result.exit_code == 0, result.output
    lines = [x for x in result.stderr.splitlines() if x.startswith("train: ")]
    assert len(lines) >= 3 and "loss" in lines[-1] and "samples/s" in lines[-1]
    assert any("ETA" in x for x in lines) and re.match(r"train: (\d+)/\1 \(100%\)", lines[-1])


def test_data_warnings_are_shown_once(tmp_path):
    frame = toy_frame(100)
    frame = pd.concat([frame, frame])  # every text in train and test: an overlap warning
    frame.to_csv(tmp_path / "dup.csv", index=False)
    result = invoke(
        "train", "--set", "approach=tfidf", "--set", f"data.source={tmp_path / 'dup.csv'}", "-o", tmp_path / "m"
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("appear in both train and test") == 1


def test_loading_a_model_prints_nothing(trained_model, capfd):
    from sentiq.inference import Predictor

    capfd.readouterr()
    Predictor.load(trained_model).predict(["great film"])
    captured = capfd.readouterr()
    assert captured.out == "" and "Loading weights" not in captured.err


# --- cost of evaluation ------------------------------------------------------------------------


def test_evaluate_on_other_data_skips_the_data_free_sections_by_default(trained_model, tmp_path):
    from sentiq.workflows import evaluate

    toy_frame(30, seed=3).to_csv(tmp_path / "other.csv", index=False)
    metrics, report = evaluate(trained_model, data=str(tmp_path / "other.csv"), report_dir=tmp_path / "r")
    stored = json.loads((report / "metrics.json").read_text())
    assert stored.get("fairness") is None and stored.get("important_words") is None
    _, again = evaluate(
        trained_model, data=str(tmp_path / "other.csv"), report_dir=tmp_path / "r2", important_words=True
    )
    assert json.loads((again / "metrics.json").read_text())["important_words"]


def test_embedding_cache_is_keyed_by_encoder_content_not_folder(tiny_bert, tmp_path):
    import shutil

    from sentiq.models.embedding import SentenceEncoder

    copy = shutil.copytree(tiny_bert, tmp_path / "elsewhere")
    a, b = SentenceEncoder(str(tiny_bert), max_length=32), SentenceEncoder(str(copy), max_length=32)
    b.encode(["good film"])  # a call that sets truncation on the tokenizer must not change the key
    assert a.fingerprint() == b.fingerprint()
    assert SentenceEncoder(str(copy), max_length=64).fingerprint() != a.fingerprint()
    changed = SentenceEncoder(str(copy), max_length=32)
    with np.errstate(all="ignore"):
        next(changed.model.parameters()).data.add_(1.0)
    changed._fingerprint = None
    assert changed.fingerprint() != a.fingerprint()


def test_plain_progress_names_the_unit_without_the_phase_detail(capsys):
    from sentiq.cli.common import _PlainProgress

    progress = _PlainProgress(0)
    progress("predict (member 1/2)", 0, 10)
    progress("predict (member 1/2)", 10, 10)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("predict (member 1/2): 10/10 (100%)") and " predict items/s" in last
