"""``review``: movie/product reviews scraped from HTML (IMDB has ``<br /><br />`` everywhere).

Case is kept: model tokenizers decide about case themselves.
"""

from __future__ import annotations

import html
import re

from sentiq.preprocess.base import Profile, register, squash

# Only real-looking tags (``<br />``, ``<p>``, ``</i>``, ``<a href=...>``), so ``<3`` survives.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")


@register
class ReviewProfile(Profile):
    """Drop HTML tags, unescape entities, collapse white space."""

    name = "review"
    version = 1

    def __call__(self, text: str) -> str:
        # Tags first, then entities: an escaped ``&lt;i&gt;`` was text in the page, not markup.
        return squash(html.unescape(_TAG.sub(" ", text)))
