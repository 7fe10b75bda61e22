"""Script-based language detection: cheap, deterministic and good enough to route
Chinese and English text and to report the language mix of live traffic.

It counts letters by Unicode script; it does not tell English from French (both are
``latin``-script and reported as ``en``), which is all routing between a Chinese and an
English model needs.
"""

from __future__ import annotations

import unicodedata

# Share of CJK ideographs among letters above which a text counts as Chinese. Chinese
# reviews routinely carry Latin brand names and numbers, so a majority is not required.
CJK_SHARE = 0.2

LANGUAGES = ("zh", "ja", "ko", "en", "other", "unknown")


def _script(ch: str) -> str | None:
    code = ord(ch)
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FA1F or 0xF900 <= code <= 0xFAFF:
        return "han"
    if 0x3040 <= code <= 0x30FF:
        return "kana"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF:
        return "hangul"
    if ch.isalpha():
        return "latin" if unicodedata.name(ch, "").startswith("LATIN") else "other"
    return None


def detect_language(text: str) -> str:
    """``zh``, ``ja``, ``ko``, ``en`` (any Latin script), ``other`` or ``unknown`` (no letters: emoji only).

    The text is NFKC-normalised first, so full-width Latin (``ｈｅｌｌｏ``) counts as Latin.
    """
    counts = {"han": 0, "kana": 0, "hangul": 0, "latin": 0, "other": 0}
    for ch in unicodedata.normalize("NFKC", text):
        script = _script(ch)
        if script:
            counts[script] += 1
    letters = sum(counts.values())
    if letters == 0:
        return "unknown"
    if counts["kana"] and counts["kana"] >= 0.1 * letters:
        return "ja"
    if counts["hangul"] and counts["hangul"] >= 0.3 * letters:
        return "ko"
    if counts["han"] >= CJK_SHARE * letters:
        return "zh"
    if counts["latin"] >= counts["other"]:
        return "en"
    return "other"
