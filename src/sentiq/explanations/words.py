"""Words with their character spans: the units explanations attribute importance to."""

from __future__ import annotations

import logging
import re
from typing import NamedTuple

# Letters (with inner apostrophes: don't, it's), numbers, or any other single visible
# character (punctuation, an emoji). CJK runs are split further for Chinese.
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+(?:[.,]\d+)*|[^\w\s]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class Span(NamedTuple):
    word: str
    start: int
    end: int


def _jieba_spans(text: str) -> list[Span] | None:
    try:
        import jieba
    except ImportError:
        return None
    jieba.setLogLevel(logging.WARNING)
    return [Span(w, s, e) for w, s, e in jieba.tokenize(text) if w.strip()]


def split_words(text: str, language: str = "en") -> list[Span]:
    """Words of ``text`` in order; Chinese is segmented with jieba when it is installed, else by character."""
    if language == "zh" or (language != "en" and _CJK.search(text)):
        spans = _jieba_spans(text)
        if spans is not None:
            return spans
        return [Span(c, i, i + 1) for i, c in enumerate(text) if not c.isspace()]
    return [Span(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def unit_of_position(spans: list[Span], length: int) -> list[int]:
    """For each character position, the index of the span covering it, or -1."""
    owner = [-1] * length
    for i, span in enumerate(spans):
        for pos in range(span.start, min(span.end, length)):
            owner[pos] = i
    return owner
