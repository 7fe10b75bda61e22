"""benchmarks/transfer.py on toy corpora: the matrix's shape, language marks, baselines, leave-one-domain-out."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import yaml

from test_domains import write_corpus

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ZH_POSITIVE, ZH_NEGATIVE = list("好棒赞爱美"), list("差烂坏慢贵")
ZH_FILLER = list("的了是我这个菜店送外卖酒房间服务")


def write_zh_corpus(path: Path, n: int) -> Path:
    rng = random.Random(3)
    rows = []
    for i in range(n):
        words = ZH_POSITIVE if i % 2 == 0 else ZH_NEGATIVE
        text = "".join(rng.sample(ZH_FILLER, 4) + rng.sample(words, 2)) + str(i)
        rows.append({"text": text, "label": "positive" if i % 2 == 0 else "negative"})
    path.write_text("text,label\n" + "\n".join(f"{r['text']},{r['label']}" for r in rows) + "\n", encoding="utf-8")
    return path


def write_config(path: Path, data: dict, **top) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "name": path.stem,
                "approach": "tfidf",
                "seed": 42,
                "data": {"test_size": 0.2, "validation_size": 0.2, **data},
                **top,
            }
        ),
        encoding="utf-8",
    )
    return path


def test_transfer_matrix_on_toy_data(tmp_path, monkeypatch):
    from sentiq.config import load_config
    from sentiq.workflows import train

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("benchmark_transfer", BENCHMARKS / "transfer.py")
    transfer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(transfer)

    movies, tweets = (
        write_corpus(tmp_path / "movies.csv", 120, "m", 1),
        write_corpus(tmp_path / "tweets.csv", 80, "t", 2),
    )
    hotels = write_zh_corpus(tmp_path / "hotels.csv", 100)
    configs = {
        "movies": write_config(tmp_path / "movies.yaml", {"source": str(movies)}),
        "tweets": write_config(tmp_path / "tweets.yaml", {"source": str(tweets)}),
        "hotels": write_config(tmp_path / "hotels.yaml", {"source": str(hotels)}, preprocess="chinese"),
    }
    general = write_config(tmp_path / "general.yaml", {"source": str(movies), "domains": [str(tweets)]})
    monkeypatch.setattr(
        transfer,
        "DATASETS",
        {
            "movies": (str(configs["movies"]), "en"),
            "tweets": (str(configs["tweets"]), "en"),
            "hotels": (str(configs["hotels"]), "zh"),
        },
    )
    models = {name: train(load_config(c), tmp_path / f"model-{name}").output_dir for name, c in configs.items()}
    models["general"] = train(load_config(general), tmp_path / "model-general").output_dir

    output = transfer.main(
        [
            "--models",
            *(f"{n}={d}" for n, d in models.items()),
            "--rows",
            "16",
            "--lodo",
            str(general),
            "--work",
            str(tmp_path / "lodo"),
            "--output",
            str(tmp_path / "transfer.json"),
        ]
    )
    record = json.loads(output.read_text())
    rows = record["models"]
    lodo = ["general −" + str(movies), "general −" + str(tweets)]
    assert list(rows) == ["movies", "tweets", "hotels", "general", *lodo, "vader", "snownlp"]
    for name, row in rows.items():
        assert list(row["cells"]) == ["movies", "tweets", "hotels"]
    # baselines only on their language's datasets; every model on every dataset, the other language marked
    assert rows["vader"]["cells"]["hotels"] is None and rows["vader"]["cells"]["movies"]["n"] == 16
    assert rows["snownlp"]["cells"]["movies"] is None and rows["snownlp"]["cells"]["hotels"]["n"] == 16
    assert rows["movies"]["cells"]["hotels"]["language_match"] is False
    assert rows["hotels"]["cells"]["hotels"]["language_match"] is True
    assert rows["hotels"]["cells"]["tweets"]["language_match"] is False
    assert rows["general"]["trained_on"] == ["movies", "tweets"]
    assert rows["general"]["cells"]["tweets"]["in_training"] and not rows["movies"]["cells"]["tweets"]["in_training"]
    # no scored test text is in any model's training split (the toy texts are unique)
    assert all(c["seen"] == 0 for r in rows.values() if r["kind"] != "baseline" for c in r["cells"].values() if c)
    # leave-one-domain-out: trained without the domain it is scored on
    assert rows[lodo[0]]["left_out"] == ["movies"] and rows[lodo[0]]["trained_on"] == ["tweets"]
    for row in rows.values():
        for c in filter(None, row["cells"].values()):
            assert 0 <= c["ci95"][0] <= c["accuracy"] <= c["ci95"][1] <= 1 and 0 <= c["macro_f1"] <= 1
    checks = {(c["model"], c["dataset"], c["check"]) for c in record["acceptance"]}
    assert ("general", "movies", "in domain >= movies - 1 point") in checks
    assert ("general", "movies", "above specialist tweets") in checks and ("general", "tweets", "above vader") in checks
    assert (lodo[0], "movies", "left out: above specialist tweets") in checks
    table = Path(output).with_suffix(".md").read_text(encoding="utf-8")
    assert table.splitlines()[0].startswith("| model | movies (16 rows) | tweets (16 rows) | hotels (16 rows) |")
    assert "**" in table and "†" in table and "| vader (en) |" in table and "| snownlp (zh) |" in table
