"""``predict`` into a file: one JSON line per text, written atomically (texts: :func:`sentiq.data.read_texts`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from sentiq.atomic import atomic_write_text
from sentiq.workflows.common import ProgressFn


def predict_to_file(predictor, texts: Sequence[str], output: str | Path, *, progress: ProgressFn | None = None) -> int:
    """Write one JSON line per text ``{"text", "label", "score", "scores"}``, atomically."""
    predictions = predictor.predict(list(texts), progress=progress)
    lines = [json.dumps({"text": t, **p.to_dict()}, ensure_ascii=False) for t, p in zip(texts, predictions)]
    atomic_write_text(Path(output), "\n".join(lines) + "\n")
    return len(lines)
