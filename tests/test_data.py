"""Behaviour of data loading, splitting and reporting on user files and the built-in corpora."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import SHARED, toy_frame
from sentiq.data import BUILTINS, Splits, build_report, data_dir, load_data, make_splits, subsample
from sentiq.data.sources import DATA_DIR_ENV, LoadedData
from sentiq.errors import DataError, SingleClassError, UnknownLabelError
from sentiq.labels import LabelSet

RAW = pd.DataFrame(
    {
        "text": ["loved it", "hated it", "fine film", "dreadful", "superb", "boring"],
        "label": [1, 0, 1, 0, 1, 0],
    }
)
BINARY = {"0": "negative", "1": "positive"}
EXPECTED_LABELS = ["positive", "negative", "positive", "negative", "positive", "negative"]


def _write(frame: pd.DataFrame, path) -> str:
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif suffix == ".json":
        frame.to_json(path, orient="records", force_ascii=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:  # pragma: no cover
        raise ValueError(suffix)
    return str(path)


def _frame(labels: list[str], prefix: str = "t") -> pd.DataFrame:
    return pd.DataFrame({"text": [f"{prefix} {i} {label}" for i, label in enumerate(labels)], "label": labels})


def _imbalanced(n_pos: int = 70, n_neg: int = 30, n_neu: int = 0) -> pd.DataFrame:
    labels = ["positive"] * n_pos + ["negative"] * n_neg + ["neutral"] * n_neu
    return _frame(labels)


# --- user files ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".json", ".parquet"])
def test_user_file_formats_load(tmp_path, suffix):
    path = _write(RAW, tmp_path / f"reviews{suffix}")
    loaded = load_data(path)
    train = loaded.frames["train"]
    assert list(loaded.frames) == ["train"]
    assert list(train.columns) == ["text", "label"]
    assert train["text"].tolist() == RAW["text"].tolist()
    # Without a label map the raw values become the names, as strings.
    assert train["label"].tolist() == [str(v) for v in RAW["label"]]
    assert loaded.language == "en"
    assert loaded.default_preprocess == "none"
    assert loaded.dropped_empty == 0


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_label_map_maps_raw_values(tmp_path, suffix):
    path = _write(RAW, tmp_path / f"reviews{suffix}")
    train = load_data(path, label_map=BINARY).frames["train"]
    assert train["label"].tolist() == EXPECTED_LABELS


def test_parquet_float_labels_map_like_ints(tmp_path):
    raw = RAW.assign(label=RAW["label"].astype(float))  # 1.0 / 0.0
    assert raw["label"].dtype == float
    path = _write(raw, tmp_path / "floats.parquet")
    assert load_data(path, label_map=BINARY).frames["train"]["label"].tolist() == EXPECTED_LABELS
    # Without a map they still read as "1" / "0", not "1.0".
    assert set(load_data(path).frames["train"]["label"]) == {"0", "1"}


def test_custom_column_names(tmp_path):
    raw = pd.DataFrame({"id": range(4), "body": ["a b", "c d", "e f", "g h"], "stars": ["5", "1", "4", "2"]})
    path = _write(raw, tmp_path / "custom.csv")
    loaded = load_data(
        path,
        text_column="body",
        label_column="stars",
        label_map={"1": "negative", "2": "negative", "4": "positive", "5": "positive"},
    )
    train = loaded.frames["train"]
    assert list(train.columns) == ["text", "label"]
    assert train["text"].tolist() == ["a b", "c d", "e f", "g h"]
    assert train["label"].tolist() == ["positive", "negative", "positive", "negative"]


def test_unknown_raw_label_is_named(tmp_path):
    raw = pd.DataFrame({"text": ["a", "b", "c"], "label": [0, 1, 7]})
    path = _write(raw, tmp_path / "odd.csv")
    with pytest.raises(UnknownLabelError) as info:
        load_data(path, label_map=BINARY)
    assert "7" in str(info.value)
    assert "label_map" in str(info.value)
    assert isinstance(info.value, DataError)


def test_missing_column_is_named_and_columns_listed(tmp_path):
    raw = pd.DataFrame({"review": ["a", "b"], "label": [0, 1]})
    path = _write(raw, tmp_path / "cols.csv")
    with pytest.raises(DataError) as info:
        load_data(path)
    message = str(info.value)
    assert "'text'" in message
    assert "review" in message and "label" in message  # the columns that do exist
    assert "text_column" in message
    with pytest.raises(DataError, match="sentiment"):
        load_data(path, text_column="review", label_column="sentiment")


def test_non_utf8_csv_mentions_encoding_and_latin1_loads(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncaf\xe9 au lait was great,1\nna\xefve and dull,0\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        load_data(str(path))
    assert "encoding" in str(info.value)
    assert "utf-8" in str(info.value)
    train = load_data(str(path), encoding="latin-1", label_map=BINARY).frames["train"]
    assert train["text"].tolist() == ["café au lait was great", "naïve and dull"]
    assert train["label"].tolist() == ["positive", "negative"]


def test_utf8_chinese_csv_is_detected_as_chinese(tmp_path):
    raw = pd.DataFrame({"text": ["这家酒店非常好", "服务太差了", "房间干净舒适"], "label": [1, 0, 1]})
    loaded = load_data(_write(raw, tmp_path / "zh.csv"), label_map=BINARY)
    assert loaded.frames["train"]["text"].tolist() == raw["text"].tolist()
    assert loaded.language == "zh"
    assert loaded.default_preprocess == "chinese"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_empty_and_whitespace_texts_are_dropped_and_counted(tmp_path, suffix):
    raw = pd.DataFrame({"text": ["good", "", "   ", "bad", "\t\n", "ok"], "label": [1, 1, 0, 0, 1, 1]})
    loaded = load_data(_write(raw, tmp_path / f"blank{suffix}"), label_map=BINARY)
    train = loaded.frames["train"]
    assert train["text"].tolist() == ["good", "bad", "ok"]
    assert train["label"].tolist() == ["positive", "negative", "positive"]
    assert loaded.dropped_empty == 3
    assert loaded.dropped_missing_label == 0


def test_rows_without_label_are_dropped_and_counted(tmp_path):
    path = tmp_path / "nolabel.csv"
    path.write_text("text,label\ngood,1\nbad,\nfine,1\n,\n", encoding="utf-8")
    loaded = load_data(str(path), label_map=BINARY)
    assert loaded.frames["train"]["text"].tolist() == ["good", "fine"]
    assert loaded.dropped_missing_label == 1
    assert loaded.dropped_empty == 1


def test_separate_test_source(tmp_path):
    train_path = _write(RAW, tmp_path / "train.csv")
    test_path = _write(RAW.iloc[:2], tmp_path / "test.jsonl")
    loaded = load_data(train_path, test_source=test_path, label_map=BINARY)
    assert set(loaded.frames) == {"train", "test"}
    assert loaded.frames["test"]["label"].tolist() == ["positive", "negative"]


def test_nonexistent_path_or_unknown_name(tmp_path):
    with pytest.raises(DataError) as info:
        load_data(str(tmp_path / "nope.csv"))
    assert "nope.csv" in str(info.value)
    with pytest.raises(DataError) as info:
        load_data("no_such_dataset")
    assert "no_such_dataset" in str(info.value)
    assert "imdb" in str(info.value)  # lists the built-in names


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"not really")
    with pytest.raises(DataError, match="cannot read"):
        load_data(str(path))


def test_malformed_jsonl(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": \n', encoding="utf-8")
    with pytest.raises(DataError, match="broken.jsonl"):
        load_data(str(path))


# --- splits ------------------------------------------------------------------------------


def _assert_stratified(whole: pd.DataFrame, part: pd.DataFrame) -> None:
    shares = whole["label"].value_counts(normalize=True)
    counts = part["label"].value_counts()
    for label, share in shares.items():
        expected = share * len(part)
        assert abs(counts.get(label, 0) - expected) <= 1, (label, counts.get(label, 0), expected)


def _splits(frame: pd.DataFrame, seed: int = 0, **kw) -> Splits:
    return make_splits(
        {"train": frame},
        validation_size=kw.pop("validation_size", 0.1),
        test_size=kw.pop("test_size", 0.2),
        seed=seed,
        **kw,
    )


@pytest.mark.parametrize("counts", [(70, 30, 0), (120, 40, 40), (50, 50, 0)])
def test_splits_are_stratified_disjoint_and_complete(counts):
    frame = _imbalanced(*counts)
    splits = _splits(frame, seed=1)
    parts = dict(splits.items())
    assert list(parts) == ["train", "validation", "test"]
    for part in parts.values():
        _assert_stratified(frame, part)
        assert list(part.columns) == ["text", "label"]
    texts = [set(part["text"]) for part in parts.values()]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2]) and not (texts[1] & texts[2])
    assert sum(len(p) for p in parts.values()) == len(frame)
    assert set().union(*texts) == set(frame["text"])
    assert len(splits.test) == round(0.2 * len(frame))
    # Labels stay attached to their texts.
    truth = dict(zip(frame["text"], frame["label"]))
    for part in parts.values():
        assert all(truth[t] == label for t, label in zip(part["text"], part["label"]))


def test_splits_are_reproducible_per_seed():
    frame = toy_frame(100)
    a, b, c = _splits(frame, seed=42), _splits(frame, seed=42), _splits(frame, seed=43)
    for (name, left), (_, right) in zip(a.items(), b.items()):
        pd.testing.assert_frame_equal(left, right, obj=name)
    assert a.test["text"].tolist() != c.test["text"].tolist()
    assert a.train["text"].tolist() != c.train["text"].tolist()


def test_splits_shuffle_sorted_input():
    frame = _frame(["negative"] * 100 + ["positive"] * 100)  # sorted by label, like sentiment140
    train = _splits(frame).train
    changes = int((train["label"] != train["label"].shift()).sum())
    assert changes > len(train) // 4


def test_official_test_split_is_kept():
    train = _imbalanced(60, 40)
    test = _frame(["negative", "positive", "positive", "negative", "positive"], prefix="official")
    splits = make_splits({"train": train, "test": test}, validation_size=0.25, test_size=0.2, seed=0)
    pd.testing.assert_frame_equal(splits.test, test)
    assert len(splits.train) + len(splits.validation) == len(train)
    assert len(splits.validation) == 25
    _assert_stratified(train, splits.validation)
    assert not set(splits.train["text"]) & set(test["text"])


def test_max_train_samples_is_a_stratified_subsample():
    frame = _imbalanced(300, 100, 100)
    full = _splits(frame, seed=3)
    small = _splits(frame, seed=3, max_train_samples=50, max_eval_samples=20)
    assert len(small.train) == 50
    assert len(small.validation) == 20 and len(small.test) == 20
    _assert_stratified(frame, small.train)
    _assert_stratified(frame, small.validation)
    _assert_stratified(frame, small.test)
    assert set(small.train["text"]) <= set(full.train["text"])
    assert set(small.test["text"]) <= set(full.test["text"])


def test_subsample_larger_than_frame_is_the_frame():
    frame = toy_frame(20)
    assert subsample(frame, 100, seed=0) is frame
    assert subsample(frame, None, seed=0) is frame
    assert len(subsample(frame, 10, seed=0)) == 10


def test_single_class_training_data_is_refused(tmp_path):
    with pytest.raises(SingleClassError) as info:
        _splits(_frame(["positive"] * 40))
    assert "positive" in str(info.value)
    assert isinstance(info.value, DataError)
    # Through a file whose label map sends everything to one class, too.
    path = _write(RAW, tmp_path / "one.csv")
    loaded = load_data(path, label_map={"0": "positive", "1": "positive"})
    with pytest.raises(SingleClassError):
        make_splits(loaded.frames, validation_size=0.1, test_size=0.2, seed=0)


def test_tiny_class_falls_back_to_plain_split():
    frame = _frame(["positive"] * 30 + ["negative"] * 29 + ["neutral"])
    splits = _splits(frame)
    assert sum(len(p) for _, p in splits.items()) == len(frame)


# --- report ------------------------------------------------------------------------------


def test_report_counts_duplicates_and_overlap():
    train = pd.DataFrame(
        {
            "text": ["a", "b", "a", "c", "a", "d", "e", "f"],
            "label": ["positive", "negative", "positive", "negative", "positive", "negative", "positive", "negative"],
        }
    )
    validation = pd.DataFrame({"text": ["g", "h", "b"], "label": ["positive", "negative", "negative"]})
    test = pd.DataFrame(
        {"text": ["a", "c", "c", "x", "y"], "label": ["positive", "negative", "negative", "positive", "negative"]}
    )
    loaded = LoadedData({"train": train}, "toy.csv", "en", "none", dropped_empty=2, dropped_missing_label=1)
    report = build_report(loaded, Splits(train, validation, test))
    assert report.duplicates == {"train": 2, "validation": 0, "test": 1}
    assert report.overlap == {"train/validation": 1, "train/test": 2}
    assert report.counts["train"] == {"negative": 4, "positive": 4}
    assert report.counts["test"] == {"negative": 3, "positive": 2}
    assert report.labels == ["negative", "positive"]
    assert report.dropped_empty == 2 and report.dropped_missing_label == 1
    assert any("train and test" in w for w in report.warnings)
    assert any("train and validation" in w for w in report.warnings)
    assert report.to_dict()["overlap"]["train/test"] == 2


def test_report_on_clean_splits_has_no_overlap_warnings():
    frame = toy_frame(80).drop_duplicates("text").reset_index(drop=True)
    loaded = LoadedData({"train": frame}, "toy", "en", "none")
    report = build_report(loaded, _splits(frame))
    assert set(report.overlap.values()) == {0}
    assert set(report.duplicates.values()) == {0}
    assert not report.warnings


def test_report_warns_about_imbalance():
    frame = _imbalanced(190, 10)
    report = build_report(LoadedData({"train": frame}, "x", "en", "none"))
    assert report.counts == {"train": {"negative": 10, "positive": 190}}
    assert any("imbalanced" in w and "class_weights" in w for w in report.warnings)


# --- labels ------------------------------------------------------------------------------


def test_label_set_order_and_encoding():
    labels = LabelSet.from_names(["positive", "zeta", "negative", "neutral", "alpha", "positive"])
    assert labels.names == ("negative", "neutral", "positive", "alpha", "zeta")
    assert labels.encode(["positive", "negative"]) == [2, 0]
    assert labels.decode([0, 3]) == ["negative", "alpha"]
    assert labels.id2label[1] == "neutral" and labels.label2id["zeta"] == 4
    with pytest.raises(UnknownLabelError, match="mixed"):
        labels.encode(["positive", "mixed"])


# --- built-in corpora ----------------------------------------------------------------------


def _builtin_root():
    root = data_dir()
    if root is None or not root.is_dir():
        pytest.skip(f"no dataset folder ({SHARED} or ${DATA_DIR_ENV})")
    return root


def _require(*rels: str):
    root = _builtin_root()
    for rel in rels:
        if not (root / rel).is_file():
            pytest.skip(f"{root / rel} is missing")
    return root


def test_builtin_names_are_known():
    assert set(BUILTINS) >= {"imdb", "sentiment140", "chnsenticorp", "waimai", "weibo_senti_100k"}


def test_sentiment140_loads_latin1_and_split_is_shuffled():
    _require("sentiment140/training.sample.csv")
    loaded = load_data("sentiment140")
    train = loaded.frames["train"]
    assert list(loaded.frames) == ["train"]
    assert set(train["label"]) == {"negative", "positive"}
    counts = train["label"].value_counts()
    assert counts["negative"] > 9000 and counts["positive"] > 9000
    assert loaded.language == "en" and loaded.default_preprocess == "tweet"
    # The raw file is sorted by label ...
    assert train["label"].iloc[0] == "negative" and train["label"].iloc[-1] == "positive"
    # ... the splits are not.
    splits = make_splits(loaded.frames, validation_size=0.1, test_size=0.2, seed=42)
    for _, part in splits.items():
        assert not part["label"].is_monotonic_increasing and not part["label"].is_monotonic_decreasing
        assert int((part["label"] != part["label"].shift()).sum()) > len(part) // 4
        _assert_stratified(train, part)


@pytest.fixture(scope="module")
def imdb() -> LoadedData:
    _require("imdb/train.parquet", "imdb/test.parquet")
    return load_data("imdb")


def test_imdb_has_official_test_split_and_raw_text(imdb):
    assert len(imdb.frames["train"]) == 25_000
    assert len(imdb.frames["test"]) == 25_000
    assert imdb.frames["test"]["label"].value_counts().to_dict() == {"negative": 12_500, "positive": 12_500}
    assert imdb.frames["train"]["text"].str.contains("<br />", regex=False).any()
    assert imdb.default_preprocess == "review"


def test_imdb_splits_keep_the_official_test(imdb):
    splits = make_splits(
        imdb.frames, validation_size=0.1, test_size=0.2, seed=0, max_train_samples=200, max_eval_samples=100
    )
    assert len(splits.train) == 200 and len(splits.validation) == 100 and len(splits.test) == 100
    assert set(splits.test["text"]) <= set(imdb.frames["test"]["text"])
    full = make_splits(imdb.frames, validation_size=0.1, test_size=0.2, seed=0)
    assert len(full.test) == 25_000
    assert len(full.train) + len(full.validation) == 25_000


@pytest.mark.parametrize(
    ("name", "rel", "rows"),
    [
        ("chnsenticorp", "chinese/ChnSentiCorp_htl_all.csv", 7_765),
        ("waimai", "chinese/waimai_10k.csv", 11_987),
    ],
)
def test_chinese_corpora_load(name, rel, rows):
    _require(rel)
    raw = pd.read_csv(_builtin_root() / rel, nrows=1)
    assert {"review", "label"} <= set(raw.columns)
    loaded = load_data(name)
    train = loaded.frames["train"]
    assert set(train["label"]) == {"negative", "positive"}
    assert len(train) == rows
    assert loaded.language == "zh" and loaded.default_preprocess == "chinese"
    assert (train["text"].str.strip() != "").all()


def test_chnsenticorp_drops_its_empty_review():
    _require("chinese/ChnSentiCorp_htl_all.csv")
    assert load_data("chnsenticorp").dropped_empty == 1


def test_data_dir_env_pointing_to_empty_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert data_dir() == tmp_path
    with pytest.raises(DataError) as info:
        load_data("imdb")
    assert DATA_DIR_ENV in str(info.value)
    assert str(tmp_path) in str(info.value)
    assert "allow_hub" in str(info.value)


def test_local_file_named_like_a_builtin_is_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "none"))
    (tmp_path / "imdb").write_text("x")  # exists but is not readable data: treated as a path
    with pytest.raises(DataError, match="cannot read"):
        load_data("imdb")
