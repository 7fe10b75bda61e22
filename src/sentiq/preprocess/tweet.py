"""``tweet``: Sentiment140-style tweets.

URLs, user names and hashtag signs carry no sentiment but vary endlessly, so they become
fixed tokens; emoticons and emoji carry a lot of it, so they become words a tokenizer knows.
"""

from __future__ import annotations

import html
import re

import emoji

from sentiq.preprocess.base import Profile, register, squash

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
# Any non-digit character repeated 3+ times: "soooo" -> "soo", "!!!!!" -> "!!" (numbers are kept).
_REPEAT = re.compile(r"([^\d\s])\1{2,}")

_EMOTICONS = {
    "smile": [":)", ":-)", "=)", ":]", ":-]", "(:", "^_^"],
    "laugh": [":D", ":-D", "=D", "xD"],
    "wink": [";)", ";-)", ";D"],
    "sad": [":(", ":-(", "=(", ":[", "):"],
    "cry": [":'(", ":'-(", ";(", "T_T"],
    "love": ["<3"],
    "broken heart": ["</3"],
    "tongue": [":P", ":-P", ";P", "=P"],
    "surprise": [":O", ":-O", "o_O", "O_o"],
    "angry": [">:(", ">:-(", ":@"],
    "annoyed": [":/", ":-/", ":\\", "-_-", ":|", ":-|"],
}
_EMOTICON_WORD = {e.lower(): word for word, emos in _EMOTICONS.items() for e in emos}


def _emoticon_pattern(emo: str) -> str:
    # A repeated mouth still counts: ":)))", ":DDD" (already cut to two by _REPEAT).
    # Table keys are lower-cased; the pattern is compiled case-insensitively.
    return re.escape(emo) + ("+" if emo[-1] in ")(][dp" else "")


_EMOTICON = re.compile(
    "|".join(_emoticon_pattern(e) for e in sorted(_EMOTICON_WORD, key=len, reverse=True)),
    re.IGNORECASE,
)
# A whole token made of emoticons (optionally followed by . , ! ?), so "re:p" or "a:/b" never fire.
_EMOTICON_TOKEN = re.compile(rf"(?<!\S)(?:{_EMOTICON.pattern})+(?=[.,!?]*(?:\s|$))", re.IGNORECASE)

# Emoji newer than this Unicode Emoji version are left as they are, so a newer ``emoji``
# package (which knows more emoji) does not change the output of version 1.
_EMOJI_VERSION = 15.1


def _emoticon_words(match: re.Match) -> str:
    emos = _EMOTICON.findall(match.group(0))
    return " " + " ".join(_EMOTICON_WORD[re.sub(r"(.)\1+$", r"\1", e.lower())] for e in emos) + " "


def _emoji_words(chars: str, data: dict) -> str:
    if data.get("E", 0) > _EMOJI_VERSION:
        return chars
    return " " + data["en"].strip(":").replace("_", " ") + " "


@register
class TweetProfile(Profile):
    """URLs -> ``http``, @names -> ``@user``, ``#tag`` -> ``tag``, emoticons/emoji -> words."""

    name = "tweet"
    version = 1

    def __call__(self, text: str) -> str:
        text = html.unescape(text)  # Sentiment140 has "&amp;", "&lt;3", "&quot;"
        text = _URL.sub(" http ", text)  # first, so ":/" in "http://" is gone
        text = _MENTION.sub("@user", text)
        text = _HASHTAG.sub(r"\1", text)
        text = _REPEAT.sub(r"\1\1", text)
        text = _EMOTICON_TOKEN.sub(_emoticon_words, text)
        text = emoji.replace_emoji(text, replace=_emoji_words)
        return squash(text)
