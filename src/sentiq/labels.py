"""Label names are the public currency; integer ids exist only inside models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from sentiq.errors import Errors, UnknownLabelError

# Sentiment names in the order people expect to read them.
_CANONICAL_ORDER = ["negative", "neutral", "positive"]


def _sort_key(name: str) -> tuple[int, str]:
    return (_CANONICAL_ORDER.index(name), "") if name in _CANONICAL_ORDER else (len(_CANONICAL_ORDER), name)


@dataclass(frozen=True)
class LabelSet:
    """An ordered set of label names; position = class id = ``predict_proba`` column."""

    names: tuple[str, ...]

    @classmethod
    def from_names(cls, names: Iterable[str]) -> "LabelSet":
        """Order names canonically (negative, neutral, positive, then alphabetical)."""
        unique = sorted(set(names), key=_sort_key)
        return cls(tuple(unique))

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self):
        return iter(self.names)

    def encode(self, labels: Sequence[str]) -> list[int]:
        index = {name: i for i, name in enumerate(self.names)}
        unknown = sorted({label for label in labels if label not in index})
        if unknown:
            raise UnknownLabelError(Errors.E248, unknown=unknown, model_labels=list(self.names))
        return [index[label] for label in labels]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.names[i] for i in ids]

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}
