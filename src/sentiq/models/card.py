"""The model card: ``README.md`` in every model directory, with Hugging Face front matter.

The front matter (YAML between ``---`` lines) is what a model hub reads: language, license,
base model, datasets, metrics (as a ``model-index``), plus a ``sentiq`` block with what a
sentiq user needs (approach, labels, preprocessing profile). The body says what the model
is for, what it is not for, how to use it and the command that reproduces it. Everything
comes from the manifest, so a card never disagrees with the directory it describes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sentiq.atomic import atomic_write_text

CARD_NAME = "README.md"
# sentiq's aliases and built-in datasets under their hub names (the hub validates these fields).
_MODEL_IDS = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "e5-multilingual": "intfloat/multilingual-e5-small",
    "multilingual-e5-small": "intfloat/multilingual-e5-small",
}
_DATASET_IDS = {
    "imdb": "stanfordnlp/imdb",
    "sentiment140": "stanfordnlp/sentiment140",
    "weibo_senti_100k": "dirtycomputer/weibo_senti_100k",
    "chnsenticorp": "lansinuote/ChnSentiCorp",
    "waimai": "XiangPan/waimai_10k",
}
_METRIC_NAMES = {
    "accuracy": "Accuracy",
    "macro_f1": "Macro F1",
    "weighted_f1": "Weighted F1",
    "roc_auc": "ROC AUC",
    "log_loss": "Log loss",
    "ece": "Expected calibration error",
}
_METRIC_TYPES = {
    "macro_f1": "f1",
    "weighted_f1": "f1",
    "roc_auc": "roc_auc",
    "log_loss": "loss",
    "ece": "ece",
    "accuracy": "accuracy",
}


def _hub_id(name: str | None, table: dict[str, str]) -> str | None:
    """A hub id for a model or dataset name, or None for a local path (the hub rejects those)."""
    if not name:
        return None
    if name.lower() in table:
        return table[name.lower()]
    looks_local = name.startswith((".", "/", "~")) or Path(name).suffix or name.count("/") != 1 or Path(name).exists()
    return None if looks_local else name


def _languages(manifest) -> list[str]:
    if manifest.language == "multi":  # a routed model: its members' languages
        return sorted((manifest.config.get("routes") or {}).keys()) or ["multilingual"]
    return [manifest.language]


def front_matter(manifest) -> dict[str, Any]:
    config = manifest.config or {}
    source = (config.get("data") or {}).get("source")
    dataset = _hub_id(source, _DATASET_IDS)
    base = _hub_id(manifest.base_model, _MODEL_IDS)
    scores = {k: v for k, v in manifest.metrics.items() if k in _METRIC_NAMES and isinstance(v, (int, float))}
    meta: dict[str, Any] = {
        "language": _languages(manifest),
        # The weights' terms follow the base model's and the training data's licenses: sentiq cannot know them.
        "license": "unknown",  # set it before uploading
        "library_name": "sentiq",
        "pipeline_tag": "text-classification",
        "tags": ["sentiment-analysis", "sentiq", f"sentiq-{manifest.approach}"],
    }
    if base:
        meta["base_model"] = base
    if dataset:
        meta["datasets"] = [dataset]
    if scores:
        meta["metrics"] = sorted({_METRIC_TYPES[k] for k in scores})
        meta["model-index"] = [
            {
                "name": config.get("name") or "sentiq-model",
                "results": [
                    {
                        "task": {"type": "text-classification", "name": "Sentiment analysis"},
                        "dataset": {"name": source or "unknown", "type": dataset or "custom", "split": "test"},
                        "metrics": [
                            {"type": _METRIC_TYPES[k], "value": round(float(v), 6), "name": _METRIC_NAMES[k]}
                            for k, v in scores.items()
                        ],
                    }
                ],
            }
        ]
    block = {
        "approach": manifest.approach,
        "labels": list(manifest.labels),
        "preprocess": dict(manifest.preprocess),
        "max_length": manifest.max_length,
        "truncation": manifest.truncation,
        "temperature": manifest.temperature,
        "format_version": manifest.format_version,
    }
    meta["sentiq"] = {k: v for k, v in block.items() if v is not None}
    return meta


def render_card(manifest) -> str:
    meta = front_matter(manifest)
    config = manifest.config or {}
    name = config.get("name") or "sentiq model"
    source = (config.get("data") or {}).get("source") or "its training data"
    scores = meta.get("model-index", [{}])[0].get("results", [{}])[0].get("metrics", [])
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# {name}",
        "",
        f"A sentiment classifier made with sentiq: approach "
        f"`{manifest.approach}`{f', built on `{manifest.base_model}`' if manifest.base_model else ''}, "
        f"labels {', '.join(f'`{label}`' for label in manifest.labels)}.",
        "",
        "## Intended use",
        "",
        f"Classifying the sentiment of {', '.join(meta['language'])} text like `{source}` "
        f"(preprocessing profile `{manifest.preprocess.get('name')}` v{manifest.preprocess.get('version')}, "
        "applied by sentiq before the model sees a text).",
        "",
        "## Limitations",
        "",
        f"- Measured on the test split of `{source}` only; other domains (other products, platforms, eras) "
        "score lower. Evaluate on your own labelled sample first (`sentiq evaluate`).",
        "- Predicts only the labels above: no neutral class unless it is one, no sarcasm or aspect detection.",
        "- `license: unknown`: the weights inherit the base model's and the training data's terms; set the license "
        "in the front matter before publishing.",
    ]
    if manifest.max_length:
        lines.append(
            f"- Sees at most {manifest.max_length} tokens per window"
            f"{f' (truncation: {manifest.truncation})' if manifest.truncation else ''}."
        )
    lines.append(
        "- Probabilities are temperature-calibrated on the validation split."
        if manifest.temperature
        else "- Probabilities are not calibrated (`sentiq calibrate` fits a temperature)."
    )
    lines += [f"- Warning recorded at training: {w}" for w in manifest.warnings]
    if scores:
        lines += ["", "## Results (test split)", "", "| metric | value |", "|---|---|"]
        lines += [f"| {m['name']} | {m['value']:.4f} |" for m in scores]
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "from sentiq import Predictor",
        "",
        'predictor = Predictor.load("path/to/this/folder")',
        'print(predictor.predict(["What a wonderful film!"]))',
        "```",
        "",
        "```bash",
        'sentiq predict path/to/this/folder "What a wonderful film!"',
        "```",
    ]
    if manifest.command:
        lines += [
            "",
            "## How it was made",
            "",
            "Rerun it with this folder's `config.yaml` (where the command has one):",
            "",
            "```bash",
            manifest.command,
            "```",
        ]
    lines += [
        "",
        "`sentiq.json` holds the full manifest (labels, preprocessing, training config, versions).",
        f"Created {manifest.created}; library versions: {json.dumps(manifest.versions)}.",
        "",
    ]
    return "\n".join(lines)


def read_front_matter(text: str) -> dict:
    """The YAML front matter of a model card (what a hub reads)."""
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---\n", 4)
    return yaml.safe_load(text[4:end]) if end > 0 else {}


def write_model_card(directory: Path, manifest) -> Path:
    path = Path(directory) / CARD_NAME
    atomic_write_text(path, render_card(manifest))
    return path
