"""Domain-adaptive pre-training and distillation on the tiny BERT and the toy corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from conftest import toy_frame, train_on_toy_corpus
from sentiq.cli import app
from sentiq.config import build_config
from sentiq.errors import ConfigError, ModelError
from sentiq.inference import Predictor
from sentiq.training import distill, pretrain
from sentiq.training.distillation import distillation_loss, evenly_spaced_layers, teacher_config

# --- domain-adaptive pre-training ---------------------------------------------------------------


@pytest.fixture()
def corpus_txt(tmp_path):
    path = tmp_path / "unlabeled.txt"
    path.write_text("\n".join(toy_frame(30, seed=3)["text"].tolist() * 4) + "\n", encoding="utf-8")
    return path


def test_pretraining_lowers_masked_lm_loss_and_writes_an_encoder_train_can_use(tiny_bert, corpus_txt, tmp_path):
    from sentiq.labels import LabelSet
    from sentiq.models.transformer import TransformerClassifier

    cfg = build_config(
        {
            "model": str(tiny_bert),
            "preprocess": "none",
            "pretrain": {
                "source": str(corpus_txt),
                "eval_texts": 20,
                "epochs": 5,
                "learning_rate": 5e-3,
                "batch_size": 16,
                "max_length": 32,
                "warmup_ratio": 0.0,
            },
        }
    )
    result = pretrain(cfg, tmp_path / "enc")
    assert result.whole_word_mask and result.train_texts == 100 and result.eval_texts == 20
    assert any("predictions" in key for key in result.initialised_head)  # the tiny encoder ships no MLM head
    assert result.eval_loss_after < 0.8 * result.eval_loss_before, (result.eval_loss_before, result.eval_loss_after)
    summary = json.loads((tmp_path / "enc" / "pretrain.json").read_text())
    assert summary["eval_loss_after"] == pytest.approx(result.eval_loss_after)

    saved, original = load_file(tmp_path / "enc" / "model.safetensors"), load_file(tiny_bert / "model.safetensors")
    # the pooler is carried over untouched; the encoder itself has learned
    torch.testing.assert_close(saved["bert.pooler.dense.weight"], original["pooler.dense.weight"])
    assert not torch.equal(
        saved["bert.encoder.layer.0.attention.self.query.weight"],
        original["encoder.layer.0.attention.self.query.weight"],
    )
    model = TransformerClassifier.from_encoder(str(tmp_path / "enc"), LabelSet(("negative", "positive")), max_length=32)
    torch.testing.assert_close(
        model.model.bert.encoder.layer[0].attention.self.query.weight,
        saved["bert.encoder.layer.0.attention.self.query.weight"],
    )
    torch.testing.assert_close(model.model.bert.pooler.dense.weight, original["pooler.dense.weight"])


def test_loss_at_masked_positions_equals_the_full_head_loss(tiny_bert):
    from sentiq.training.dapt import MaskingCollator, load_masked_lm, masked_lm_head, masked_positions_loss

    model, tokenizer, _ = load_masked_lm(str(tiny_bert))
    model.eval()  # no dropout: both passes see the same network
    texts = toy_frame(12, seed=5)["text"].tolist()
    enc = tokenizer(texts, truncation=True, max_length=32, return_special_tokens_mask=True)
    examples = [
        {k: enc[k][i] for k in ("input_ids", "attention_mask", "special_tokens_mask")} for i in range(len(texts))
    ]
    batch = MaskingCollator(tokenizer, mlm_probability=0.3, seed=1)(examples)
    assert 0 < int((batch["labels"] != -100).sum()) < batch["labels"].numel() // 2

    full = model(**batch).loss
    head = masked_lm_head(model)
    assert head is model.cls
    cheap = masked_positions_loss(model, head, batch)
    torch.testing.assert_close(cheap, full, rtol=1e-5, atol=1e-6)
    # the same gradients too: training follows the same path
    full.backward()
    expected = model.bert.encoder.layer[0].attention.self.query.weight.grad.clone()
    model.zero_grad()
    masked_positions_loss(model, head, batch).backward()
    torch.testing.assert_close(
        model.bert.encoder.layer[0].attention.self.query.weight.grad, expected, rtol=1e-4, atol=1e-7
    )


def test_models_without_a_single_head_module_use_the_full_forward():
    from transformers import DistilBertConfig, DistilBertForMaskedLM

    from sentiq.training.dapt import masked_lm_head

    tiny = DistilBertForMaskedLM(DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32))
    assert masked_lm_head(tiny) is None


def test_whole_word_masking_masks_all_pieces_of_a_word(tiny_bert):
    from transformers import AutoTokenizer

    from sentiq.training.dapt import MaskingCollator

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    texts = ["xyz qrs the movie", "great uvw", "abc def ghi jkl mno"]  # unknown words split into letter pieces
    enc = tokenizer(texts, return_special_tokens_mask=True, return_offsets_mapping=True)
    examples = [
        {k: enc[k][i] for k in ("input_ids", "attention_mask", "special_tokens_mask", "offset_mapping")}
        for i in range(len(texts))
    ]
    batch = MaskingCollator(
        tokenizer, mlm_probability=0.5, whole_word_mask=True, mask_replace_prob=1.0, random_replace_prob=0.0, seed=0
    )(examples)
    masked = batch["labels"] != -100
    assert masked.any()
    for row, text in enumerate(texts):
        word_ids = enc.word_ids(row)
        for word in set(w for w in word_ids if w is not None):
            pieces = [masked[row, i].item() for i, w in enumerate(word_ids) if w == word]
            assert all(pieces) or not any(pieces), (text, word, pieces)


def test_chinese_text_falls_back_to_token_masking(tiny_bert):
    from transformers import AutoTokenizer

    from sentiq.training.dapt import use_whole_word_mask

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    assert use_whole_word_mask(True, tokenizer, "en") and not use_whole_word_mask(True, tokenizer, "zh")
    assert not use_whole_word_mask(False, tokenizer, "en")


# --- distillation ------------------------------------------------------------------------------


def test_distillation_loss_is_zero_when_the_student_matches_and_ignores_unlabelled_rows():
    teacher = torch.tensor([[2.0, -1.0], [0.5, 0.3]])
    none = torch.tensor([-100, -100])
    assert distillation_loss(teacher.clone(), teacher, none, temperature=2.0, alpha=1.0).item() == pytest.approx(
        0, abs=1e-6
    )
    off = distillation_loss(-teacher, teacher, none, temperature=2.0, alpha=0.5)
    assert off.item() > 0 and torch.isfinite(off)
    hard_only = distillation_loss(teacher, teacher, torch.tensor([0, -100]), temperature=2.0, alpha=0.0)
    assert hard_only.item() == pytest.approx(torch.nn.functional.cross_entropy(teacher[:1], torch.tensor([0])).item())


def test_layers_are_chosen_evenly():
    assert evenly_spaced_layers(6, 3) == [0, 2, 4]
    assert evenly_spaced_layers(6, 2) == [0, 3]
    assert evenly_spaced_layers(12, 6) == [0, 2, 4, 6, 8, 10]
    with pytest.raises(ConfigError):
        evenly_spaced_layers(6, 7)


@pytest.fixture(scope="module")
def good_teacher(tmp_path_factory, tiny_bert):
    """A tiny model trained until it separates the toy classes (the teacher of the tests below)."""
    root = tmp_path_factory.mktemp("teacher")
    result = train_on_toy_corpus(
        root,
        {
            "model": str(tiny_bert),
            "preprocess": "review",
            "training": {"max_length": 32, "batch_size": 8, "epochs": 15, "learning_rate": 1e-3, "warmup_ratio": 0.0},
        },
    )
    assert result.metrics["accuracy"] >= 0.9
    extra = root / "extra.txt"
    extra.write_text("\n".join(toy_frame(60, seed=7)["text"]), encoding="utf-8")
    return root / "model", extra


@pytest.mark.slow
def test_student_learns_the_teachers_labels(good_teacher, tmp_path):
    teacher_dir, extra = good_teacher
    cfg = teacher_config(
        teacher_dir,
        overrides=[
            "distill.student=layers:1",
            "training.epochs=10",
            f"distill.extra_source={extra}",
            "distill.speed_texts=16",
        ],
    )
    result = distill(teacher_dir, tmp_path / "student", config=cfg)

    assert result.student["layers"] == 1 and result.teacher["layers"] == 2
    assert result.student["parameters"] < result.teacher["parameters"]
    assert result.extra_rows > 0 and result.train_rows == 76
    assert result.agreement >= 0.9 and result.accuracy_kept >= 0.9
    assert result.teacher["texts_per_s"] > 0 and result.student["texts_per_s"] > 0
    assert result.teacher["texts_per_cpu_s"] > 0 and result.speedup_cpu > 0
    # an ordinary sentiq model directory: same labels and preprocessing as the teacher
    student, original = Predictor.load(tmp_path / "student"), Predictor.load(teacher_dir)
    assert student.labels == original.labels and student.manifest.preprocess == original.manifest.preprocess
    texts = ["great wonderful superb film", "awful terrible boring plot", "i love it <br /> so fun"]
    assert [p.label for p in student.predict(texts)] == [p.label for p in original.predict(texts)]
    summary = json.loads((tmp_path / "student" / "distill.json").read_text())
    assert summary["speedup"] == pytest.approx(result.speedup) and summary["temperature"] == 2.0
    assert summary["speedup_cpu"] == pytest.approx(result.speedup_cpu)
    assert (tmp_path / "student" / "report" / "report.html").is_file()
    assert not (tmp_path / "student.partial").exists()


def test_layer_copy_starts_the_student_from_the_teachers_weights(trained_model):
    from sentiq.models import load_model
    from sentiq.training.distillation import build_student

    t = load_model(trained_model)
    student, described = build_student("layers:1", t, t.labels, max_length=32)
    assert "1 of 2 layers" in described
    for name in (
        "bert.embeddings.word_embeddings.weight",
        "bert.encoder.layer.0.output.dense.weight",
        "classifier.weight",
    ):
        torch.testing.assert_close(student.model.state_dict()[name], t.model.state_dict()[name])
    np.testing.assert_equal(len(student.model.bert.encoder.layer), 1)


def test_bad_teacher_or_student_gives_a_clear_error(trained_model, tmp_path):
    teacher_dir = trained_model
    with pytest.raises(ModelError, match="does not exist"):
        distill(tmp_path / "no-such-teacher", tmp_path / "out")
    other_vocab = tmp_path / "student.json"
    other_vocab.write_text(
        json.dumps(
            {
                "model_type": "bert",
                "vocab_size": 50,
                "hidden_size": 32,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "intermediate_size": 64,
            }
        )
    )
    cfg = teacher_config(teacher_dir, overrides=[f"distill.student={other_vocab}"])
    with pytest.raises(ModelError, match="vocabulary"):
        distill(teacher_dir, tmp_path / "out", config=cfg)
    with pytest.raises(ConfigError, match="layers:N"):
        distill(
            teacher_dir, tmp_path / "out", config=teacher_config(teacher_dir, overrides=["distill.student=layers:x"])
        )
    assert not (tmp_path / "out").exists()


def test_distilled_student_is_an_ordinary_model_directory(trained_model, tmp_path):
    # one quick epoch: the directory contract, not the quality (the slow test above checks that)
    result = CliRunner().invoke(
        app,
        [
            "distill",
            "--teacher",
            str(trained_model),
            "--student",
            "layers:1",
            "--output",
            str(tmp_path / "s"),
            "--set",
            "training.epochs=1",
            "--set",
            "distill.speed_texts=8",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "accuracy kept" in result.output and "CPU texts/s" in result.output
    manifest = json.loads((tmp_path / "s" / "sentiq.json").read_text())
    teacher = json.loads((trained_model / "sentiq.json").read_text())
    assert manifest["labels"] == teacher["labels"] and manifest["preprocess"] == teacher["preprocess"]
    assert "1 of 2 layers" in manifest["base_model"]
    summary = json.loads((tmp_path / "s" / "distill.json").read_text())
    assert summary["student"]["layers"] == 1 and summary["teacher"]["texts_per_s"] > 0
    assert len(Predictor.load(tmp_path / "s").predict(["great film", "awful plot"])) == 2
    assert not (tmp_path / "s.partial").exists()


def test_cli_reports_a_missing_teacher_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["distill", "--teacher", str(tmp_path / "nope"), "--output", str(tmp_path / "s")])
    assert result.exit_code == 1
    assert "[E342]" in result.output and "does not exist" in result.output and "Traceback" not in result.output


def test_class_weights_weigh_the_gold_label_term_of_the_distillation_loss():
    student, teacher = torch.tensor([[2.0, -1.0], [0.5, 0.3]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    gold = torch.tensor([1, 0])
    plain = distillation_loss(student, teacher, gold, temperature=2.0, alpha=0.0)
    same = distillation_loss(student, teacher, gold, temperature=2.0, alpha=0.0, class_weights=torch.tensor([1.0, 1.0]))
    heavy = distillation_loss(
        student, teacher, gold, temperature=2.0, alpha=0.0, class_weights=torch.tensor([1.0, 9.0])
    )
    assert same.item() == pytest.approx(plain.item())
    expected = torch.nn.functional.cross_entropy(student, gold, weight=torch.tensor([1.0, 9.0]))
    assert heavy.item() == pytest.approx(expected.item()) and heavy.item() != pytest.approx(plain.item())


def test_distill_honours_the_training_settings_and_writes_what_train_writes(trained_model, tmp_path, monkeypatch):
    """`sentiq distill` used to ignore windows, freezing, class weights, adversarial training, the token cache
    and augmentation, crash on truncation=chunks, and skip calibration, the trust sections and the card."""
    from sentiq.models.card import read_front_matter
    from sentiq.training import adversarial

    attacks = []
    original = adversarial.FGM.attack
    monkeypatch.setattr(adversarial.FGM, "attack", lambda self, backward: attacks.append(1) or original(self, backward))
    monkeypatch.setenv("SENTIQ_CACHE_DIR", str(tmp_path / "cache"))
    cfg = teacher_config(
        trained_model,
        overrides=[
            "distill.student=layers:1",
            "training.epochs=1",
            "distill.speed_texts=8",
            "evaluation.important_words=2",
            "training.max_length=12",
            "training.truncation=chunks",
            "training.chunk_stride=4",
            "training.chunk_pooling=max",
            "training.freeze_embeddings=true",
            "training.class_weights=balanced",
            "training.adversarial=fgm",
            "training.augment.ops=[swap]",
            "training.cache_tokenized=true",
        ],
    )
    result = distill(trained_model, tmp_path / "s", config=cfg)

    student = Predictor.load(tmp_path / "s")
    manifest = student.manifest
    assert manifest.truncation == "chunks" and manifest.window == {"head_tokens": None, "stride": 4, "pooling": "max"}
    assert manifest.max_length == 12 and student.model.window_options["pooling"] == "max"
    teacher_weights = load_file(trained_model / "model.safetensors")
    student_weights = load_file(tmp_path / "s" / "model.safetensors")
    name = "bert.embeddings.word_embeddings.weight"
    torch.testing.assert_close(student_weights[name], teacher_weights[name])  # frozen: copied, never trained
    assert attacks, "training.adversarial=fgm never attacked"
    assert result.train_rows > 76  # 76 training texts plus their swapped copies
    assert list((tmp_path / "cache" / "tokenized").iterdir())
    # what train gives a model directory: calibration, the trust sections, the run files and the card
    assert manifest.temperature is not None and "ece_uncalibrated" in manifest.metrics
    metrics = json.loads((tmp_path / "s" / "report" / "metrics.json").read_text())
    assert all(metrics[section] for section in ("slices", "fairness", "important_words"))
    assert {"config.yaml", "data_report.json", "history.json", "README.md", "distill.json"} <= {
        p.name for p in (tmp_path / "s").iterdir()
    }
    card = read_front_matter((tmp_path / "s" / "README.md").read_text(encoding="utf-8"))
    assert (
        card["sentiq"]["approach"] == "finetune"
        and "sentiq distill --teacher" in (tmp_path / "s" / "README.md").read_text()
    )
