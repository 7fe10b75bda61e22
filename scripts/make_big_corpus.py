"""Build a 1.6M-row stand-in for the full Sentiment140 file from the shipped 20k-row sample.

The full ``training.1600000.processed.noemoticon.csv`` is not on these machines, so the
scale tests and benchmarks use this synthetic corpus instead. It is NOT real data: every
row is a perturbed copy of a row of the sample's training part (word dropout, word swaps,
curated sentiment-neutral synonyms from ``sentiq.data.augment``; new tweet id, user and
date), so accuracy on it says little about accuracy on the real corpus. It has the same
headerless 6-column latin-1 format (``polarity, id, date, query, user, text``, every field
quoted) and, like the original, is sorted by label: 800k "0" rows, then 800k "4" rows.

The sample is split first, exactly as ``stratified_split`` splits it (20% test, seed 42):
only the training part is perturbed, and the test part is written untouched next to the
corpus (``test.csv``), so accuracy measured on it is on rows whose copies were never
trained on. Never commit the output: write it under /tmp or a git-ignored folder.

    python scripts/make_big_corpus.py --out /tmp/s140big --rows 1600000
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from sentiq.data.augment import augment_text
from sentiq.data.sources import data_dir
from sentiq.data.splits import stratified_split

COLUMNS = ["polarity", "id", "date", "query", "user", "text"]
_OPS = ("synonym", "swap", "delete")  # emoji swaps would leave latin-1
_START = datetime(2009, 4, 6, 22, 19, 45)


def read_sample(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, header=None, names=COLUMNS, dtype=str, encoding="latin-1", keep_default_na=False)
    return frame.assign(label=frame["polarity"])  # stratified_split stratifies on "label"


def perturbed(row: dict, rng: random.Random, serial: int) -> list[str]:
    text = row["text"]
    for _ in range(rng.randint(1, 2)):  # one or two operations; a text none can change stays as it is
        text = augment_text(text, rng.choice(_OPS), rng, p=0.15) or text
    when = _START + timedelta(seconds=serial * 3 + rng.randint(0, 2))
    user = f"{row['user'][:10]}_{rng.randrange(36**4):x}"
    return [
        row["polarity"],
        str(1467810369 + serial),
        when.strftime("%a %b %d %H:%M:%S PDT %Y"),
        "NO_QUERY",
        user,
        text,
    ]


def write_corpus(train: pd.DataFrame, out: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    per_label = rows // 2
    tmp = out.with_suffix(".tmp")
    serial = 0
    with tmp.open("w", encoding="latin-1", errors="replace", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        polarities = sorted(train["polarity"].unique())
        for polarity in polarities:
            source = train[train["polarity"] == polarity].to_dict("records")
            for _ in range(rows - per_label if polarity == polarities[-1] else per_label):
                writer.writerow(perturbed(source[rng.randrange(len(source))], rng, serial))
                serial += 1
    tmp.replace(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/s140big"), help="output folder (not in the repo)")
    parser.add_argument("--rows", type=int, default=1_600_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = data_dir()
    if root is None:
        raise SystemExit("no datasets folder: set SENTIQ_DATA_DIR")
    sample = read_sample(root / "sentiment140" / "training.sample.csv")
    train, test = stratified_split(sample, 0.2, 42)
    args.out.mkdir(parents=True, exist_ok=True)
    test[COLUMNS].to_csv(args.out / "test.csv", header=False, index=False, encoding="latin-1", quoting=csv.QUOTE_ALL)
    write_corpus(train, args.out / f"training.{args.rows}.csv", args.rows, args.seed)
    print(
        f"wrote {args.rows} rows to {args.out / f'training.{args.rows}.csv'} and {len(test)} test rows to "
        f"{args.out / 'test.csv'}"
    )


if __name__ == "__main__":
    main()
