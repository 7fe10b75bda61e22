"""Cut the two "real file" examples of the README from the shared corpora (run once; the output is committed).

- ``data/real_files/tweets_3class.csv``: Sentiment140's own headerless layout
  (``polarity,id,date,query,user,text``), 40 negative (0) and 40 positive (4) tweets drawn
  with a seed from the Sentiment140 sample, plus 12 hand-written neutral tweets (2), shuffled.
- ``data/real_files/reviews_zh.csv``: ``label,review``, 40 ChnSentiCorp hotel reviews plus
  Weibo-style rows a user meets: empty cells, a bare retweet marker, a bare mention, a bare
  short link and an in-sentence "@".
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from sentiq.data.sources import data_dir

NEUTRAL_TWEETS = [
    "Heading to the library, then the bus home at 6",
    "Anyone know what time the game starts tonight?",
    "Reading the news on my phone while the kettle boils",
    "@jenny_lee the meeting moved to room 204",
    "Weather says cloudy tomorrow, around 15 degrees",
    "Just updated my phone to the new version",
    "Watching the second half of the match now",
    "Going to the store for milk and bread",
    "Our flight lands at 9:40, gate B12",
    "Finished chapter three of the book today",
    "http://bit.ly/abc123 the schedule for next week",
    "Working from the cafe on Main Street this morning",
]
ZH_ODD_ROWS = [
    ("1", ""),
    ("0", "   "),
    ("1", "//@张三:"),
    ("0", "@苹果客服"),
    ("1", "http://t.cn/RxyZ12a"),
    ("1", "我@你了吗？这家酒店真的很好，下次还来"),
    ("0", ""),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("data/real_files"))
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    root = data_dir()
    if root is None:
        raise SystemExit("no shared datasets folder: set SENTIQ_DATA_DIR")
    args.out.mkdir(parents=True, exist_ok=True)

    columns = ["polarity", "id", "date", "query", "user", "text"]
    tweets = pd.read_csv(
        root / "sentiment140" / "training.sample.csv", header=None, names=columns, dtype=str, encoding="latin-1"
    )
    picked = pd.concat([g.sample(args.per_class, random_state=args.seed) for _, g in tweets.groupby("polarity")])
    neutral = pd.DataFrame(
        {
            "polarity": "2",
            "id": [str(2000000000 + i) for i in range(len(NEUTRAL_TWEETS))],
            "date": "Sat Jun 06 12:00:00 PDT 2009",
            "query": "NO_QUERY",
            "user": [f"neutral_{i}" for i in range(len(NEUTRAL_TWEETS))],
            "text": NEUTRAL_TWEETS,
        }
    )
    out = pd.concat([picked, neutral]).sample(frac=1.0, random_state=args.seed)
    out.to_csv(args.out / "tweets_3class.csv", header=False, index=False, encoding="utf-8")

    hotel = pd.read_csv(root / "chinese" / "ChnSentiCorp_htl_all.csv", dtype=str, keep_default_na=False)
    hotel = hotel[hotel["review"].str.len().between(10, 80)]
    reviews = pd.concat([g.sample(args.per_class // 2, random_state=args.seed) for _, g in hotel.groupby("label")])
    odd = pd.DataFrame(ZH_ODD_ROWS, columns=["label", "review"])
    out = pd.concat([reviews, odd]).sample(frac=1.0, random_state=args.seed)
    out.to_csv(args.out / "reviews_zh.csv", index=False, encoding="utf-8")
    print(f"wrote {args.out / 'tweets_3class.csv'} and {args.out / 'reviews_zh.csv'}")


if __name__ == "__main__":
    main()
