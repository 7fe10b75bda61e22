"""Extra training examples for small data: EDA-style word operations and emoji swaps.

Applied to the training split only (``sentiq.workflows.training`` calls
:func:`augment_frame` on it before preprocessing; validation and test never pass
through here), seeded, and label-preserving by construction:

* ``synonym``: words replaced by a synonym from a small curated list of sentiment-neutral
  English words shipped with sentiq (``synonyms_en.json``: film/movie, actor/performer,
  watched/saw...). No thesaurus on PyPI fits: WordNet needs a run-time download, and the
  packaged ones checked either need a database backend Python lacks (synnamon) or list
  loose associations that include antonyms (Moby: good -> bad), which would flip labels.
* ``swap``: two words change places (EDA's random swap).
* ``delete``: words dropped (EDA's random deletion; one word always stays).
* ``emoji``: an emoji or emoticon replaced by another of the same polarity
  (😊 -> 😍, :( -> 😢); the emoji package finds emoji, a small polarity map decides.

Word operations only touch plain words (letters, maybe an apostrophe or hyphen, with
trailing punctuation kept), never URLs, @mentions, markup such as ``<br />``, numbers
or emoticons. Each new example applies one operation drawn from ``ops``; a text the
drawn operation cannot change (no synonym known, a single word) yields no copy rather
than a duplicate.
"""

from __future__ import annotations

import json
import random
import re
from functools import lru_cache
from importlib import resources
from typing import Sequence

import emoji
import pandas as pd

OPS = ("synonym", "swap", "delete", "emoji")
_WORD = re.compile(r"^([A-Za-z][A-Za-z'-]*)([.,!?;:]*)$")
_MODIFIERS = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]")  # variation selector, skin tones: same emoji

POSITIVE_EMOJI = (
    "😀",
    "😃",
    "😄",
    "😁",
    "😊",
    "🙂",
    "😍",
    "🥰",
    "😘",
    "😎",
    "🤗",
    "❤",
    "💕",
    "💖",
    "👍",
    "👏",
    "🎉",
    "🥳",
    "✨",
    "🌟",
    "💯",
    "🙌",
    "😆",
    "😋",
    "☺",
)
NEGATIVE_EMOJI = (
    "😞",
    "😔",
    "😟",
    "🙁",
    "☹",
    "😢",
    "😭",
    "😩",
    "😫",
    "😠",
    "😡",
    "🤬",
    "👎",
    "💔",
    "😒",
    "😣",
    "😖",
    "🤮",
    "🤢",
    "😤",
    "😿",
)
POSITIVE_EMOTICONS = (":)", ":-)", ":D", ":-D", "=)", "=D", ":]", ";)", ";-)", "<3", "^_^", ":P", "xD")
NEGATIVE_EMOTICONS = (":(", ":-(", ":'(", "=(", ":[", "D:", ">:(", ":/", ":-/", "</3", "T_T", ":|")


@lru_cache(maxsize=1)
def synonym_table() -> dict[str, tuple[str, ...]]:
    """word -> its synonyms (lower case), from the groups of the shipped list."""
    data = json.loads(resources.files("sentiq.data").joinpath("synonyms_en.json").read_text(encoding="utf-8"))
    table: dict[str, set[str]] = {}
    for group in data["groups"]:
        for word in group:
            table.setdefault(word, set()).update(w for w in group if w != word)
    return {word: tuple(sorted(others)) for word, others in table.items()}


def _polarity_table() -> dict[str, tuple[str, ...]]:
    table = {}
    for group in (POSITIVE_EMOJI + POSITIVE_EMOTICONS, NEGATIVE_EMOJI + NEGATIVE_EMOTICONS):
        for item in group:
            table[item] = tuple(other for other in group if other != item)
    return table


_POLARITY = _polarity_table()
_EMOTICON = re.compile(
    r"(?<!\S)("
    + "|".join(re.escape(e) for e in sorted(POSITIVE_EMOTICONS + NEGATIVE_EMOTICONS, key=len, reverse=True))
    + r")(?!\S)"
)


def _match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    return word[0].upper() + word[1:] if like[0].isupper() else word


def _count(n: int, p: float) -> int:
    return max(1, round(p * n))


def _synonym(tokens: list[str], rng: random.Random, p: float) -> list[str] | None:
    table = synonym_table()
    spots = [(i, m) for i, t in enumerate(tokens) if (m := _WORD.match(t)) and m.group(1).lower() in table]
    if not spots:
        return None
    out = list(tokens)
    n_words = sum(1 for t in tokens if _WORD.match(t))
    for i, m in rng.sample(spots, min(len(spots), _count(n_words, p))):
        word, punct = m.group(1), m.group(2)
        out[i] = _match_case(rng.choice(table[word.lower()]), word) + punct
    return out


def _swap(tokens: list[str], rng: random.Random, p: float) -> list[str] | None:
    words = [i for i, t in enumerate(tokens) if _WORD.match(t)]
    if len(words) < 2:
        return None
    out = list(tokens)
    for _ in range(_count(len(words), p)):
        a, b = rng.sample(words, 2)
        out[a], out[b] = out[b], out[a]
    return out


def _delete(tokens: list[str], rng: random.Random, p: float) -> list[str] | None:
    words = [i for i, t in enumerate(tokens) if _WORD.match(t)]
    if len(words) < 2:
        return None
    dropped = set(rng.sample(words, min(len(words) - 1, _count(len(words), p))))
    return [t for i, t in enumerate(tokens) if i not in dropped]


def _emoji_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, polarity-map key) of every emoji and emoticon the polarity map knows."""
    spans = [(e["match_start"], e["match_end"], _MODIFIERS.sub("", e["emoji"])) for e in emoji.emoji_list(text)]
    spans += [(m.start(), m.end(), m.group(1)) for m in _EMOTICON.finditer(text)]
    return sorted(s for s in spans if s[2] in _POLARITY)


def swap_emoji(text: str, rng: random.Random, p: float) -> str | None:
    """``text`` with some known emoji/emoticons replaced by others of the same polarity; None if it has none."""
    spans = _emoji_spans(text)
    if not spans:
        return None
    chosen = sorted(rng.sample(spans, min(len(spans), _count(len(spans), p))), reverse=True)
    for start, end, key in chosen:  # right to left: earlier offsets stay valid
        text = text[:start] + rng.choice(_POLARITY[key]) + text[end:]
    return text


_WORD_OPS = {"synonym": _synonym, "swap": _swap, "delete": _delete}


def augment_text(text: str, op: str, rng: random.Random, *, p: float = 0.1) -> str | None:
    """One changed copy of ``text`` made by ``op``, or None when ``op`` cannot change it."""
    if op == "emoji":
        return swap_emoji(text, rng, p)
    if op not in _WORD_OPS:
        raise ValueError(f"unknown augmentation {op!r}; choose from {', '.join(OPS)}")
    tokens = text.split()
    out = _WORD_OPS[op](tokens, rng, p)
    if out is None:
        return None
    changed = " ".join(out)
    return changed if changed != " ".join(tokens) else None


def augment_texts(
    texts: Sequence[str], *, ops: Sequence[str], n_per_example: int = 1, p: float = 0.1, seed: int = 0
) -> list[tuple[int, str]]:
    """(index of the source text, new text) pairs: up to ``n_per_example`` copies per text, seeded."""
    unknown = sorted(set(ops) - set(OPS))
    if unknown:
        raise ValueError(f"unknown augmentation {unknown}; choose from {', '.join(OPS)}")
    rng = random.Random(seed)
    made: list[tuple[int, str]] = []
    for i, text in enumerate(texts):
        seen = {text}
        for _ in range(n_per_example):
            new = augment_text(text, rng.choice(list(ops)), rng, p=p)
            if new is not None and new not in seen:
                seen.add(new)
                made.append((i, new))
    return made


def augment_frame(
    frame: pd.DataFrame, *, ops: Sequence[str], n_per_example: int = 1, p: float = 0.1, seed: int = 0
) -> pd.DataFrame:
    """The training frame followed by its augmented rows (same label and other columns as their source)."""
    if not ops or frame.empty:
        return frame
    made = augment_texts(frame["text"].tolist(), ops=ops, n_per_example=n_per_example, p=p, seed=seed)
    if not made:
        return frame
    extra = frame.iloc[[i for i, _ in made]].assign(text=[t for _, t in made])
    return pd.concat([frame, extra], ignore_index=True)


def augmented_training_split(train: pd.DataFrame, config) -> pd.DataFrame:
    """The raw training split plus ``config.training.augment``'s new rows (validation and test never come
    here); shared by ``train`` and ``distill``, seeded with the training seed."""
    import logging

    aug = config.training.augment
    if not aug.ops:
        return train
    out = augment_frame(train, ops=aug.ops, n_per_example=aug.n_per_example, p=aug.p, seed=config.training_seed)
    logging.getLogger(__name__).info(
        "augmentation (%s): %d training rows + %d new", ", ".join(aug.ops), len(train), len(out) - len(train)
    )
    return out
