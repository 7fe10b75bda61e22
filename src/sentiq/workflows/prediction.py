"""``predict``: one record per text under the empty-text policy, to stdout or a file written atomically
(texts: :func:`sentiq.data.read_texts`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from sentiq.atomic import atomic_write_text
from sentiq.data.files import text_positions
from sentiq.workflows.common import ProgressFn


def predict_records(
    predictor,
    texts: Sequence[str],
    *,
    on_empty: str = "null",
    positions: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
) -> tuple[list[dict], list[str]]:
    """``{"text", "label", "score", "scores", ...}`` per text (empty ones as ``on_empty`` says), and the
    positions of the texts that got no label."""
    texts = list(texts)
    positions = list(positions) if positions is not None else text_positions(None, len(texts))
    predictions = predictor.predict(
        texts, on_empty="null" if on_empty == "skip" else on_empty, positions=positions, progress=progress
    )
    records, unscored = [], []
    for text, position, pred in zip(texts, positions, predictions):
        if pred.label is None:
            unscored.append(f"{position} ({pred.note})")
            if on_empty == "skip":
                continue
        records.append({"text": text, **pred.to_dict()})
    return records, unscored


def write_records(records: Sequence[dict], output: str | Path) -> int:
    """Write ``records`` as JSON lines, atomically (no partial file is ever left as if complete)."""
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    atomic_write_text(Path(output), "\n".join(lines) + ("\n" if lines else ""))
    return len(lines)


def predict_to_file(
    predictor,
    texts: Sequence[str],
    output: str | Path,
    *,
    on_empty: str = "null",
    positions: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
) -> int:
    """Write one JSON line per text ``{"text", "label", "score", "scores"}`` (empty texts as ``on_empty``
    says), atomically; returns the lines written."""
    records, _ = predict_records(predictor, texts, on_empty=on_empty, positions=positions, progress=progress)
    return write_records(records, output)
