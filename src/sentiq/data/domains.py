"""Several corpora trained on as one (``data.domains``): each split on its own, training balanced by domain.

Each domain is split exactly as a config with that source alone would split it (same seed, test_size,
validation_size), so a general model's test rows of a domain are that domain's specialist's test split and
never in its training split. Training rows are then balanced (``data.balance_domains``) so that a large
corpus does not drown a small one; the test split is the union of the domains' test splits, whole.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from sentiq.data import load_from, split_from
from sentiq.data.sources import BUILTINS, LoadedData, _builtin_path
from sentiq.data.splits import Splits, subsample

log = logging.getLogger(__name__)

DOMAIN_COLUMN = "domain"
_SOURCE_KEYS = ("source", "text_column", "label_column", "label_map", "encoding", "header")


def domain_configs(d) -> list:
    """``d`` (a DataConfig with ``domains``) as one single-source DataConfig per domain present on disk, ``source``
    first; an optional domain that is absent is left out with a logged note."""
    shared = d.model_copy(update={"domains": []})
    configs = [shared]
    for domain in d.domains:
        if domain.optional and not _present(domain.source, allow_hub=d.allow_hub):
            log.warning("optional domain %s is not on disk: trained without it", domain.source)
            continue
        configs.append(shared.model_copy(update={"test_source": None, **domain.model_dump(include=set(_SOURCE_KEYS))}))
    return configs


def _present(source: str, *, allow_hub: bool) -> bool:
    spec = BUILTINS.get(source.lower())
    if spec is not None and not Path(source).exists():
        return allow_hub or _builtin_path(spec, "train") is not None
    return Path(source).expanduser().exists()


def load_domain_splits(d, seed: int, *, keep_columns=()) -> tuple[LoadedData, Splits]:
    """Load and split every domain of ``d``; the splits carry a ``domain`` column (the domain's source)."""
    parts = []
    for config in domain_configs(d):
        loaded = load_from(config, keep_columns=keep_columns)
        splits = split_from(loaded, config, seed)
        parts.append((config.source, loaded, splits))
    languages = {loaded.language for _, loaded, _ in parts}
    if len(languages) > 1:
        log.warning("the domains hold texts in %s; the model records %s", sorted(languages), parts[0][1].language)
    tagged = {
        split: [
            frame.assign(**{DOMAIN_COLUMN: name})
            for name, _, splits in parts
            for s, frame in splits.items()
            if s == split
        ]
        for split in ("train", "validation", "test")
    }
    how = d.balance_domains
    splits = Splits(
        balanced(tagged["train"], how=how, seed=seed),
        balanced(tagged["validation"], how="none" if how == "none" else "downsample", seed=seed),
        pd.concat(tagged["test"], ignore_index=True),
    )
    return _combined(parts), splits


def balanced(frames: list[pd.DataFrame], *, how: str, seed: int) -> pd.DataFrame:
    """One frame from one per domain, each contributing equally: ``downsample`` to the smallest (stratified
    by label), ``oversample`` to the largest (whole copies, then a stratified sample of the rest) or ``none``."""
    sizes = [len(f) for f in frames if len(f)]
    if how == "downsample" and sizes:
        frames = [_sample(f, min(sizes), seed) for f in frames]
    elif how == "oversample" and sizes:
        target = max(sizes)
        frames = [_repeated(f, target, seed) if len(f) else f for f in frames]
    if how != "none":
        log.info(
            "rows per domain after balancing (%s): %s", how, {f[DOMAIN_COLUMN].iat[0]: len(f) for f in frames if len(f)}
        )
    combined = pd.concat(frames, ignore_index=True)
    return combined.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # domains interleaved


def _repeated(frame: pd.DataFrame, target: int, seed: int) -> pd.DataFrame:
    copies, rest = divmod(target, len(frame))
    return pd.concat([frame] * copies + ([_sample(frame, rest, seed)] if rest else []), ignore_index=True)


def _sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    # stratified where every class can have a row; a plain seeded sample below that
    if n >= len(frame) or n >= frame["label"].nunique():
        return subsample(frame, n, seed)
    return frame.sample(n=n, random_state=seed).reset_index(drop=True)


def _combined(parts) -> LoadedData:
    loaded = [p[1] for p in parts]
    skipped: dict[str, int] = {}
    for one in loaded:
        for value, n in one.skipped.items():
            skipped[value] = skipped.get(value, 0) + n
    # every labelled row of every domain (an official test split included): what ``split all`` scores
    frames = {
        "train": pd.concat(
            [frame.assign(**{DOMAIN_COLUMN: name}) for name, one, _ in parts for frame in one.frames.values()],
            ignore_index=True,
        )
    }
    return LoadedData(
        frames,
        "+".join(name for name, _, _ in parts),
        loaded[0].language,
        loaded[0].default_preprocess,
        sum(one.dropped_empty for one in loaded),
        sum(one.dropped_missing_label for one in loaded),
        skipped,
        any(one.headerless for one in loaded),
    )
