"""The transfer matrix: every given model on every local test split, beside VADER and snownlp.

Rows: model directories (``NAME=DIR`` sets the row's name), built-ins (``builtin:e5-sentiment-binary``), the
leave-one-domain-out models of ``--lodo`` and the lexicon baselines VADER (English datasets only) and snownlp
(Chinese only). Columns: IMDB, Sentiment140, ChnSentiCorp and waimai, on the splits sentiq's configs make
(``_local_splits.py``: seed 42; IMDB's official test split, the others' stratified 20%); ``--rows N`` scores a
stratified seeded sample of N rows per split, the same rows for every model. A model is scored on datasets of
the other language too (that is the point of a transfer matrix); such cells are marked. A cell: accuracy with
its 95% bootstrap interval, macro-F1, n, and how many of the scored texts the model's training split holds
(``seen``: a split mistake shows here; duplicates within a corpus make a few). 3-class models are scored with
the binary mapping (neutral dropped, the other two renormalised: ``sentiq.models.pretrained.to_binary``).

``--lodo CONFIG`` trains the general model of CONFIG (``data.source`` + ``data.domains``) once without each
domain (``--set`` overrides apply, e.g. ``--set approach=finetune --set model=minilm``) into ``--work`` and adds
those models as rows: the left-out domain's cell is the general model's score on a domain it never saw.

``acceptance`` in the result checks issue 18's wording for every general model (trained on 2+ datasets):
in domain at most 1 point below the specialist (the model trained on that dataset alone); on each dataset of
its language above every other specialist; above the language's lexicon baseline on each.

    # the TF-IDF specialists and general models (seconds to minutes each on 2 cores)
    for c in imdb sentiment140 chnsenticorp-e5 waimai-e5; do
        sentiq train --config configs/$c.yaml --set approach=tfidf --output models/tfidf-$c; done
    sentiq train --config configs/general-en.yaml --output models/general-en-tfidf
    sentiq train --config configs/general-zh.yaml --output models/general-zh-tfidf
    SENTIQ_DATA_DIR=/work/shared/datasets python benchmarks/transfer.py --rows 2000 \
        --models models/tfidf-* models/general-en-tfidf models/general-zh-tfidf \
        --lodo configs/general-en.yaml configs/general-zh.yaml --work models/lodo
    # fine-tuned general models (a GPU run): --lodo configs/general-en.yaml --set approach=finetune --set model=minilm

The result goes to ``benchmarks/results/transfer-<time>.json``; the markdown table is printed and written
beside it (``--markdown`` to choose the path).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

import _local_splits
from _local_splits import BASELINES, ROOT, binary_labels, scores, split_rows
from harness import write_result
from sentiq.config import SentiqConfig, load_config
from sentiq.data import load_splits
from sentiq.inference import Predictor
from sentiq.models.pretrained import THREE_CLASS, to_binary

log = logging.getLogger("transfer-bench")
DATASETS = _local_splits.DATASETS  # name -> (config defining its split, language); tests point it at toy data


class Row:
    """One row of the matrix: a model (``predict`` -> 1 for positive) or a baseline. (A plain class: a dataclass
    needs its module in ``sys.modules``, which a script loaded from its path is not.)"""

    def __init__(self, name, kind, language, predict, trained_on=(), training_texts=None, left_out=()):
        self.name = name
        self.kind = kind  # model | baseline | lodo
        self.language = language  # en, zh, multi
        self.predict = predict
        self.trained_on = list(trained_on)  # local datasets in its training data
        self.training_texts = training_texts  # its training split's texts (None: unknown, e.g. a built-in)
        self.left_out = list(left_out)  # lodo: the local datasets of the domain it was trained without
        self.seconds = 0.0


def binary_predictions(predictor: Predictor, texts: list[str]) -> np.ndarray:
    """1 where the model says positive; a negative/neutral/positive model through the binary mapping."""
    labels = list(predictor.labels)
    proba = predictor.predict_proba(texts)
    if set(labels) == set(THREE_CLASS):
        proba = to_binary(proba[:, [labels.index(c) for c in THREE_CLASS]])
        return (proba.argmax(axis=1) == 1).astype(int)
    if set(labels) != {"negative", "positive"}:
        raise SystemExit(f"labels {labels} are neither negative/positive nor negative/neutral/positive")
    return (np.asarray(labels)[proba.argmax(axis=1)] == "positive").astype(int)


def trained_datasets(data: dict) -> list[str]:
    """The local datasets a recorded data config trains on (its source and domains)."""
    sources = [data.get("source")] + [d["source"] if isinstance(d, dict) else d for d in data.get("domains") or []]
    keys = {_source_key(s) for s in sources if s}
    return [name for name, (config, _) in DATASETS.items() if _source_key(_config(config).data.source) in keys]


def _source_key(source: str) -> str:
    path = Path(source).expanduser()
    return str(path.resolve()) if path.exists() else source.lower()


def _config(path: str):
    return load_config(path if Path(path).is_absolute() else ROOT / path, [])


def model_row(spec: str, *, kind: str = "model", left_out: list[str] | None = None) -> Row:
    name, _, path = spec.rpartition("=") if "=" in spec and not spec.startswith("builtin:") else ("", "", spec)
    predictor = Predictor.load(path)
    manifest = predictor.manifest
    data = (manifest.config or {}).get("data") or {}
    return Row(
        name or (path if path.startswith("builtin:") else Path(path).name),
        kind,
        manifest.language,
        lambda texts: binary_predictions(predictor, texts),
        trained_datasets(data),
        training_texts(manifest.config) if data else None,
        left_out or [],
    )


def training_texts(recorded: dict) -> set | None:
    """The texts of a model's training split, re-made from its recorded config (None when it cannot be)."""
    try:
        config = SentiqConfig.model_validate(recorded, context={"recorded": True})
        _, splits = load_splits(config)
    except Exception as exc:  # a moved user file, say: the cell then says seen = None
        log.warning("cannot re-make the training split of %s: %s", recorded.get("name"), exc)
        return None
    return set(splits.train["text"])


def baseline_rows() -> list[Row]:
    return [Row(name, "baseline", language, predict) for name, (language, predict) in BASELINES.items()]


def lodo_models(config_path: Path, overrides: list[str], work: Path) -> list[tuple[str, list[str]]]:
    """Train the general model of ``config_path`` once without each of its domains; returns (NAME=DIR, the
    left-out local datasets) per model."""
    from sentiq.workflows import train

    config = load_config(config_path, overrides)
    data = config.data
    primary = {
        k: v
        for k, v in data.model_dump().items()
        if k in ("source", "text_column", "label_column", "label_map", "encoding", "header")
    }
    domains = [{**primary, "optional": False}] + [d.model_dump() for d in data.domains]
    if sum(not d["optional"] for d in domains) < 2:
        raise SystemExit(f"--lodo {config_path}: needs data.domains (two or more corpora that are not optional)")
    specs = []
    for left_out in domains:
        if left_out["optional"]:
            continue  # absent or not, a domain that may be missing is never the one scored
        rest = [d for d in domains if d is not left_out]
        first = next(d for d in rest if not d["optional"])
        keep = [d for d in rest if d is not first]
        name = f"{config.name}-without-{left_out['source']}"
        settings = [f"data.{k}={_yaml(v)}" for k, v in first.items() if k != "optional"]
        settings += [f"data.domains={_yaml(keep)}", f"name={name}"]
        out = work / name
        start = time.perf_counter()
        train(load_config(config_path, overrides + settings), out, overwrite=True)
        log.info("trained %s in %.0f s", name, time.perf_counter() - start)
        specs.append((f"{config.name} −{left_out['source']}={out}", trained_datasets({"source": left_out["source"]})))
    return specs


def _yaml(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)  # JSON is YAML: overrides parse it back exactly


def cell(row: Row, name: str, frame) -> dict | None:
    dataset_language = DATASETS[name][1]
    if row.kind == "baseline" and row.language != dataset_language:
        return None  # VADER reads English, snownlp Chinese
    texts = frame["text"].tolist()
    start = time.perf_counter()
    pred = row.predict(texts)
    seconds = time.perf_counter() - start
    row.seconds += seconds
    return {
        **scores(binary_labels(frame), pred),
        "language_match": row.language in (dataset_language, "multi"),
        "in_training": name in row.trained_on,
        "seen": None if row.training_texts is None else sum(t in row.training_texts for t in texts),
        "seconds": round(seconds, 2),
    }


def matrix(rows: list[Row], frames: dict) -> dict:
    results = {}
    for row in rows:
        results[row.name] = {
            "kind": row.kind,
            "language": row.language,
            "trained_on": row.trained_on,
            **({"left_out": row.left_out} if row.kind == "lodo" else {}),
            "cells": {name: cell(row, name, frame) for name, frame in frames.items()},
        }
        log.info("%s: %s", row.name, {n: c and round(c["accuracy"], 4) for n, c in results[row.name]["cells"].items()})
    return results


def acceptance(results: dict) -> list[dict]:
    """Issue 18's checks for every general model (a model trained on two or more local datasets)."""
    specialists = {
        r["trained_on"][0]: n for n, r in results.items() if r["kind"] == "model" and len(r["trained_on"]) == 1
    }
    checks = []

    def accuracy(model: str, dataset: str) -> float | None:
        found = results[model]["cells"].get(dataset)
        return None if found is None else found["accuracy"]

    for name, row in results.items():
        if row["kind"] == "lodo":  # on the domain it was trained without: above every other domain's specialist
            for dataset in set(row.get("left_out", [])) & set(row["cells"]):
                for home, other in specialists.items():
                    if home != dataset and results[other]["language"] == row["language"]:
                        checks.append(
                            _check(
                                name,
                                dataset,
                                f"left out: above specialist {other}",
                                accuracy(name, dataset),
                                accuracy(other, dataset),
                                True,
                            )
                        )
            continue
        if len(row["trained_on"]) < 2:
            continue
        for dataset, (_, language) in DATASETS.items():
            if dataset not in row["cells"] or row["language"] not in (language, "multi"):
                continue
            own = accuracy(name, dataset)
            if dataset in row["trained_on"] and dataset in specialists:
                spec = accuracy(specialists[dataset], dataset)
                checks.append(_check(name, dataset, f"in domain >= {specialists[dataset]} - 1 point", own, spec - 0.01))
            for home, other in specialists.items():
                if home != dataset and results[other]["language"] == row["language"]:
                    checks.append(
                        _check(name, dataset, f"above specialist {other}", own, accuracy(other, dataset), True)
                    )
            for base, (base_language, _) in BASELINES.items():
                if base in results and base_language == language:
                    checks.append(_check(name, dataset, f"above {base}", own, accuracy(base, dataset), True))
    return checks


def _check(model: str, dataset: str, what: str, value: float, bar: float, strict: bool = False) -> dict:
    return {
        "model": model,
        "dataset": dataset,
        "check": what,
        "value": value,
        "bar": bar,
        "holds": bool(value > bar if strict else value >= bar),
    }


def markdown(results: dict, frames: dict) -> str:
    names = list(frames)
    best = {n: max((r["cells"][n]["accuracy"] for r in results.values() if r["cells"][n]), default=None) for n in names}
    header = "| model | " + " | ".join(f"{n} ({len(frames[n])} rows)" for n in names) + " |"
    lines = [header, "|---|" + "---|" * len(names)]
    for model, row in results.items():
        cells = []
        for n in names:
            c = row["cells"][n]
            if c is None:
                cells.append("—")
                continue
            accuracy = f"{100 * c['accuracy']:.1f}"
            accuracy = f"**{accuracy}**" if c["accuracy"] == best[n] else accuracy
            marks = ("" if c["language_match"] else " †") + (" ◦" if c["in_training"] else "")
            low, high = c["ci95"]
            cells.append(f"{accuracy} [{100 * low:.1f}, {100 * high:.1f}] F1 {100 * c['macro_f1']:.1f}{marks}")
        lines.append(f"| {model} ({row['language']}) | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Accuracy % [95% bootstrap interval], macro-F1 %; best accuracy per column in bold. "
        "† the model's language is not the dataset's; ◦ the dataset's training split is in the model's training data."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=[], help="model directories, NAME=DIR, or builtin:NAME")
    parser.add_argument(
        "--lodo", nargs="*", default=[], type=Path, help="general configs: train and add leave-one-domain-out models"
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], help="config override for --lodo (key=value)"
    )
    parser.add_argument("--work", type=Path, default=Path("models/lodo"), help="where --lodo writes its models")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))  # read at call time
    parser.add_argument("--split", default="test", choices=("test", "validation"), help="validation: for choices")
    parser.add_argument("--rows", type=int, default=None, help="a stratified seeded sample per split (default all)")
    parser.add_argument("--no-baselines", action="store_true", help="leave VADER and snownlp out")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--markdown", type=Path, default=None, help="default: beside the JSON result")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    start = time.perf_counter()
    frames = {name: split_rows(name, args.split, args.rows, datasets=DATASETS) for name in args.datasets}
    lodo = [spec for config in args.lodo for spec in lodo_models(config, args.overrides, args.work)]
    rows = [model_row(spec) for spec in args.models] + [
        model_row(spec, kind="lodo", left_out=out) for spec, out in lodo
    ]
    rows += [] if args.no_baselines else baseline_rows()
    results = matrix(rows, frames)
    table = markdown(results, frames)
    payload = {
        "split": args.split,
        "rows_per_split": {n: len(f) for n, f in frames.items()},
        "sampled": args.rows is not None,
        "models": results,
        "acceptance": acceptance(results),
        "seconds_per_model": {r.name: round(r.seconds, 1) for r in rows},
        "markdown": table,
        "wall_s": round(time.perf_counter() - start, 1),
    }
    output = write_result("transfer", payload, path=args.output)
    (args.markdown or output.with_suffix(".md")).write_text(table + "\n", encoding="utf-8")
    print(table)
    for check in payload["acceptance"]:
        print(
            f"{'holds ' if check['holds'] else 'FAILS '} {check['model']} on {check['dataset']}: {check['check']} "
            f"({100 * check['value']:.2f} vs {100 * check['bar']:.2f})"
        )
    return output


if __name__ == "__main__":
    main()
