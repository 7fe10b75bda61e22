"""``chinese``: Weibo posts and Chinese reviews.

Full-width forms are folded so "ＡＢＣ" and "ABC" are the same token; Weibo markup (retweet
chains, mentions, short links, ``[表情]`` emoticons, ``#话题#`` tags) is reduced to its text.
``chinese-t2s`` does the same and then converts traditional characters to simplified ones
(OpenCC's ``t2s`` table), so a model trained on simplified text (Weibo, ChnSentiCorp) reads
Taiwanese or Hong Kong posts. It is a profile of its own rather than a new ``chinese``
version: models trained with ``chinese`` v1 keep getting exactly the text they were trained on.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from sentiq.errors import Errors, PreprocessError
from sentiq.preprocess.base import Profile, register, squash

_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9._~/?#@!$&*+=%:-]+", re.IGNORECASE)
# "//@name:" starts the quoted post in a retweet chain; "：" is also listed in case NFKC is skipped.
_RETWEET = re.compile(r"//\s*@[\w-]*[:：]?")
# "@name" (plus an addressing colon); the name runs up to white space or punctuation.
_MENTION = re.compile(r"(?<![A-Za-z0-9_])@[\w-]+[:：]?")
# Version 2. A Weibo name holds CJK characters, letters, digits, "_" and "-" (4-30 bytes, so
# 1-30 characters here), and in running Chinese text the name is not delimited: "我@你了吗？"
# is "did I @ you?", not a mention of a user called "你了吗". Weibo clients end an inserted
# mention with a space or a colon, so a mention is "@name" that ends at white space, a colon
# or the end of the text; one that ends at other punctuation counts only when the "@" starts
# a word (not right after a CJK character, letter or digit).
_NAME = r"@[\w-]{1,30}"
_MENTION_V2 = re.compile(rf"(?<![A-Za-z0-9_]){_NAME}(?:[:：]|(?=\s|$))|(?<!\w){_NAME}(?=[^\w\s-])")
_BRACKET_EMOTICON = re.compile(r"\[([^\[\]]{1,8})\]")
_TOPIC = re.compile(r"#([^#]{1,64})#")


@register
class ChineseProfile(Profile):
    """NFKC, drop retweet markers, mentions and URLs, unwrap ``[哈哈]`` and ``#话题#``."""

    name = "chinese"
    version = 2
    older_versions = (1,)  # v1: "@" took every following word character ("我@你了吗？" -> "我 ?")

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text)  # "ＡＢＣ１２３　" -> "ABC123 ", "，" -> ","
        text = _URL.sub(" ", text)
        text = _RETWEET.sub(" ", text)
        text = (_MENTION if self.version == 1 else _MENTION_V2).sub(" ", text)
        text = _BRACKET_EMOTICON.sub(r" \1 ", text)
        text = _TOPIC.sub(r" \1 ", text)
        return squash(text)


@lru_cache(maxsize=1)
def _t2s():
    try:
        from opencc import OpenCC
    except ImportError:
        raise PreprocessError(Errors.E505) from None
    return OpenCC("t2s")


@register
class ChineseT2SProfile(ChineseProfile):
    """``chinese`` followed by traditional -> simplified conversion (OpenCC t2s)."""

    name = "chinese-t2s"
    version = 2
    older_versions = (1,)

    def __call__(self, text: str) -> str:
        return _t2s().convert(super().__call__(text))
