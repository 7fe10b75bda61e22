"""``compare``: several approaches trained on one split, one table and page."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from sentiq.atomic import atomic_directory
from sentiq.config import SentiqConfig, warn_ignored_settings
from sentiq.data import load_splits
from sentiq.errors import ConfigError, Errors
from sentiq.evaluation.comparison import write_comparison
from sentiq.evaluation.significance import against_reference
from sentiq.inference import Predictor
from sentiq.tracking import tracked_run
from sentiq.training.distributed import world_size
from sentiq.workflows.common import ProgressFn
from sentiq.workflows.training import _train

log = logging.getLogger(__name__)


def _timed_speed(model_dir: Path, texts: list[str]) -> float:
    predictor = Predictor.load(model_dir)
    predictor.predict_proba(texts[: min(8, len(texts))])  # warm-up: lazy loads, first-call allocations
    start = time.perf_counter()
    predictor.predict_proba(texts)
    return len(texts) / max(time.perf_counter() - start, 1e-9)


def compare(
    config: SentiqConfig, output_dir: str | Path, *, overwrite: bool = False, progress: ProgressFn | None = None
) -> list[dict]:
    """Train each approach of ``config.compare`` on the same split; write one table and page.

    Models go to ``<output_dir>/models/<approach>``; ``comparison.json`` and
    ``comparison.html`` sit beside them. Nothing appears at ``output_dir`` unless all succeed.
    One run is recorded (metrics keyed ``<approach>.<metric>``), not one per approach.
    """
    warn_ignored_settings(config, list(config.compare.approaches))
    with tracked_run(
        "compare", name=config.name, tracking=config.tracking, params=config.to_dict(), config=config.to_dict()
    ) as run:
        rows = _compare(config, output_dir, overwrite=overwrite, progress=progress)
        run.log_metrics({r["approach"]: {k: v for k, v in r.items() if k != "approach"} for r in rows})
        run.model_path = str(Path(output_dir).resolve() / "models")
        run.report_path = str(Path(output_dir).resolve() / "comparison.html")
    return rows


def _compare(
    config: SentiqConfig, output_dir: str | Path, *, overwrite: bool, progress: ProgressFn | None
) -> list[dict]:
    if world_size() > 1:
        raise ConfigError(Errors.E152)
    output_dir = Path(output_dir)
    _, splits = load_splits(config)
    speed_texts = splits.test["text"].tolist()[: config.compare.speed_texts]
    rows: list[dict] = []
    gold: list[str] = []
    predictions: dict[str, list[str]] = {}
    with atomic_directory(output_dir, overwrite=overwrite) as tmp:
        trained: list[str] = []
        for approach in config.compare.approaches:
            update = {"approach": approach}
            if approach == "ensemble":
                update["ensemble"] = config.ensemble.model_copy(update={"members": list(trained)})
            cfg = config.model_copy(update=update)
            log.info("compare: training %s", approach)
            start = time.perf_counter()
            result = _train(
                cfg, tmp / "models" / approach, overwrite=False, resume=False, keep_checkpoints=False, progress=progress
            )
            seconds = time.perf_counter() - start
            trained.append(str(tmp / "models" / approach))
            gold, predictions[approach] = result.test_labels, result.test_predictions
            rows.append(
                {
                    "approach": approach,
                    **{k: result.metrics.get(k) for k in ("accuracy", "macro_f1", "roc_auc")},
                    "train_seconds": seconds,
                    "predict_texts_per_s": _timed_speed(tmp / "models" / approach, speed_texts),
                }
            )
        # Every approach predicted the same test rows: is the best one really better than each other?
        best, paired = against_reference(gold, predictions, seed=config.seed)
        for row in rows:
            row.update(paired[row["approach"]])
        write_comparison(
            tmp,
            rows,
            reference=best,
            title=f"{config.name}: approaches compared",
            context={
                "data": config.data.source,
                "seed": config.seed,
                "train rows": len(splits.train),
                "test rows": len(splits.test),
            },
        )
    return rows
