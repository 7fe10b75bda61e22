"""Augmentation: what each operation changes, seeding, and that only the training split is augmented."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from sentiq.config import build_config
from sentiq.data.augment import (
    NEGATIVE_EMOJI,
    NEGATIVE_EMOTICONS,
    POSITIVE_EMOJI,
    POSITIVE_EMOTICONS,
    augment_frame,
    augment_text,
    augment_texts,
    synonym_table,
)
from sentiq.errors import ConfigError


def test_synonym_replaces_known_neutral_words_and_keeps_case_and_punctuation():
    rng = random.Random(0)
    out = augment_text("Movie, acting awful.", "synonym", rng, p=1.0)
    first = out.split()[0]
    assert first[:-1] in {"Film", "Picture", "Flick"} and first.endswith(",")
    assert out.endswith("acting awful.")  # polar and unknown words stay
    assert augment_text("awful terrible", "synonym", rng) is None  # nothing to replace


def test_the_synonym_list_holds_no_polar_words_and_is_symmetric():
    table = synonym_table()
    for polar in ("good", "bad", "great", "awful", "boring", "love", "hate", "terrible", "excellent"):
        assert polar not in table
    assert "film" in table["movie"] and "movie" in table["film"]


def test_swap_and_delete_only_move_or_drop_plain_words():
    text = "i watched it @user <br /> http://x.co so dull"
    rng = random.Random(1)
    swaps = [augment_text(text, "swap", rng, p=0.5) for _ in range(20)]
    assert sum(s is not None for s in swaps) >= 15  # None only when the swaps undid each other
    for swapped in filter(None, swaps):
        assert sorted(swapped.split()) == sorted(text.split())
        for keep in ("@user", "<br", "/>", "http://x.co"):
            assert text.split().index(keep) == swapped.split().index(keep)
    for _ in range(20):
        deleted = augment_text(text, "delete", rng, p=0.5).split()
        assert {"@user", "<br", "/>", "http://x.co"} <= set(deleted) and len(deleted) < len(text.split())
    assert augment_text("single", "delete", rng) is None and augment_text("single", "swap", rng) is None


def test_delete_always_keeps_a_word():
    rng = random.Random(2)
    assert len(augment_text("two words", "delete", rng, p=1.0).split()) == 1


def test_emoji_swaps_keep_polarity():
    rng = random.Random(3)
    for _ in range(30):
        happy = augment_text("so good 😊 :)", "emoji", rng, p=1.0)
        sad = augment_text("so sad 😢👎🏽 :(", "emoji", rng, p=1.0)
        assert happy.startswith("so good ") and sad.startswith("so sad ")
        assert all(ch not in happy for ch in "".join(NEGATIVE_EMOJI))
        assert all(ch not in sad for ch in "".join(POSITIVE_EMOJI))
        assert not any(e in happy.split() for e in NEGATIVE_EMOTICONS)
        assert not any(e in sad.split() for e in POSITIVE_EMOTICONS)
        assert happy != "so good 😊 :)" and sad != "so sad 😢👎🏽 :("
    assert augment_text("no emoji here, 🤔 neither", "emoji", rng) is None  # 🤔 has no polarity


def test_augmentation_is_seeded_and_never_duplicates_its_source():
    texts = ["i watched the movie with friends", "the film was long and the story slow 😢", "ok"]
    a = augment_texts(texts, ops=["synonym", "swap", "delete", "emoji"], n_per_example=3, seed=7)
    b = augment_texts(texts, ops=["synonym", "swap", "delete", "emoji"], n_per_example=3, seed=7)
    c = augment_texts(texts, ops=["synonym", "swap", "delete", "emoji"], n_per_example=3, seed=8)
    assert a == b and a != c
    assert all(new != texts[i] for i, new in a)
    assert not any(i == 2 for i, _ in a)  # a one-word text without synonyms cannot change
    assert len(set(a)) == len(a)


def test_augment_frame_appends_rows_with_their_sources_labels():
    frame = pd.DataFrame({"text": ["i watched the movie", "the film story was slow"], "label": ["pos", "neg"]})
    out = augment_frame(frame, ops=["synonym"], n_per_example=2, p=0.5, seed=0)
    assert out.iloc[:2].equals(frame)
    for _, row in out.iloc[2:].iterrows():
        source = 0 if len(row["text"].split()) == 4 else 1
        assert row["label"] == frame["label"][source]
    assert augment_frame(frame, ops=[], seed=0) is frame


def test_training_augments_the_training_split_only(tiny_config, tmp_path, monkeypatch):
    import sentiq.training as training
    from sentiq.models.transformer import TransformerClassifier
    from sentiq.workflows import train

    seen: dict[str, list] = {"train": [], "validation": [], "test": []}
    real_fit, real_predict = training.fit_model, TransformerClassifier.predict_proba

    def fit_spy(model, train_df, val_df, config, **kwargs):
        seen["train"].append(train_df)
        seen["validation"].append(val_df)
        return real_fit(model, train_df, val_df, config, **kwargs)

    def predict_spy(self, texts, **kwargs):
        seen["test"].append(list(texts))
        return real_predict(self, texts, **kwargs)

    monkeypatch.setattr(training, "fit_model", fit_spy)
    monkeypatch.setattr(TransformerClassifier, "predict_proba", predict_spy)
    # Only the test split is predicted: no calibration, fairness or explanation passes.
    quiet = {
        "training.epochs": 1,
        "evaluation.calibrate": False,
        "evaluation.fairness": False,
        "evaluation.important_words": 0,
    }
    plain = train(tiny_config(**quiet), tmp_path / "plain")
    augmented = train(
        tiny_config(**quiet, **{"training.augment.ops": "[swap, delete]", "training.augment.n_per_example": 2}),
        tmp_path / "aug",
    )

    (plain_train, aug_train), (plain_val, aug_val) = seen["train"], seen["validation"]
    assert len(aug_train) > len(plain_train)
    assert aug_train.iloc[: len(plain_train)].reset_index(drop=True).equals(plain_train.reset_index(drop=True))
    assert aug_val.equals(plain_val)
    from sentiq.models.integrity import SMOKE_TEXTS

    scored = [texts for texts in seen["test"] if texts != list(SMOKE_TEXTS)]  # not the smoke texts seal records
    assert scored[0] == scored[1]  # the test split is scored on the very same texts
    assert augmented.metrics["n"] == plain.metrics["n"]


def test_unknown_augmentation_is_refused():
    with pytest.raises(ConfigError, match="augment"):
        build_config({"training": {"augment": {"ops": ["backtranslate"]}}})
