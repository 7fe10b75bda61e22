"""The sweep behind the TF-IDF defaults: IMDB (all 25k train reviews → the 25k test),
review profile, two feature sets, logistic regression C in 4..64. Prints one line per fit and writes
benchmarks/results/tfidf_sweep-<time>.json.

    python benchmarks/tfidf_sweep.py          # about 15 minutes on a 2-core CPU
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from harness import write_result
from sentiq.data import data_dir
from sentiq.preprocess import get_profile


def vectorizer(analyzer: str, ngrams: tuple[int, int], max_features: int | None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer=analyzer, ngram_range=ngrams, min_df=2, sublinear_tf=True, max_features=max_features, dtype=np.float32
    )


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    profile = get_profile("review")
    train = pd.read_parquet(data_dir() / "imdb/train.parquet")
    test = pd.read_parquet(data_dir() / "imdb/test.parquet")
    x_train, x_test = profile.apply(train.text.tolist()), profile.apply(test.text.tolist())
    candidates = {
        "word1-2+char_wb2-5 (500k each)": FeatureUnion(
            [("w", vectorizer("word", (1, 2), 500_000)), ("c", vectorizer("char_wb", (2, 5), 500_000))]
        ),
        "word1-3 (uncapped)": FeatureUnion([("w", vectorizer("word", (1, 3), None))]),
    }
    rows = []
    for name, features in candidates.items():
        start = time.time()
        a, b = features.fit_transform(x_train), features.transform(x_test)
        print(f"{name}: {a.shape[1]} features in {time.time() - start:.0f}s", flush=True)
        for c in (4, 8, 16, 32, 64):
            model = LogisticRegression(C=c, max_iter=2000).fit(a, train.label)
            accuracy = float((model.predict(b) == test.label).mean())
            rows.append({"features": name, "n_features": int(a.shape[1]), "C": c, "accuracy": accuracy})
            print(f"  C={c}: accuracy {accuracy:.5f}", flush=True)
    print(f"wrote {write_result('tfidf_sweep', {'train_rows': len(train), 'test_rows': len(test), 'fits': rows})}")


if __name__ == "__main__":
    main()
