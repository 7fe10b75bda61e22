"""Profile base class, the registry, and the lookups used by training and prediction.

A model stores ``profile.spec()`` (name + version) in its manifest; prediction rebuilds
the exact same cleaning with ``profile_from_spec``. Bump a profile's ``version`` whenever
the output of ``__call__`` changes, so old models are never fed differently cleaned text.
"""

from __future__ import annotations

import re
from typing import Iterable

from sentiq.errors import Errors, PreprocessError

_REGISTRY: dict[str, type[Profile]] = {}

# White space, ASCII/C1 control characters, zero-width space and BOM: all become one space.
_SPACE_RUN = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b\ufeff]+")


def squash(text: str) -> str:
    """Collapse white space and control characters to single spaces and strip the ends."""
    return _SPACE_RUN.sub(" ", text).strip()


def register(cls: type[Profile]) -> type[Profile]:
    """Class decorator: make a profile findable by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


class Profile:
    """A named, versioned text cleaner. Subclasses set ``name``, ``version`` and ``__call__``."""

    name: str = ""
    version: int = 1  # the current version; an instance holds the version it reproduces
    older_versions: tuple[int, ...] = ()  # older versions that ``__call__`` still reproduces

    def __init__(self, version: int | None = None):
        current = type(self).version
        supported = (*self.older_versions, current)
        known = ", ".join(map(str, supported))
        if version is None:
            version = current
        if isinstance(version, bool) or not isinstance(version, int):
            raise PreprocessError(Errors.E501, name=self.name, version=version, known=known)
        if version not in supported:
            hint = "; upgrade sentiq" if version > current else ""
            raise PreprocessError(Errors.E502, name=self.name, version=version, known=known, hint=hint)
        self.version = version

    def __call__(self, text: str) -> str:
        """Clean one text. Must never raise on a str and must return a str."""
        raise NotImplementedError

    def apply(self, texts: Iterable[str]) -> list[str]:
        """Clean many texts (same result as calling the profile on each)."""
        if isinstance(texts, str):  # would silently clean each character
            raise TypeError("apply() takes an iterable of texts; call the profile on a single str")
        return [self(text) for text in texts]

    def spec(self) -> dict:
        """What a model manifest stores to rebuild this profile."""
        return {"name": self.name, "version": self.version}

    def __repr__(self) -> str:
        return f"<preprocessing profile {self.name!r} v{self.version}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash((self.name, self.version))


@register
class NoneProfile(Profile):
    """Identity: for data that is already clean, or models that want raw text."""

    name = "none"

    def __call__(self, text: str) -> str:
        return text


def available_profiles() -> list[str]:
    """Names of all registered profiles, sorted."""
    return sorted(_REGISTRY)


def get_profile(name: str, version: int | None = None) -> Profile:
    """The profile ``name`` at ``version`` (None: the current version)."""
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise PreprocessError(Errors.E503, name=name, profiles=", ".join(available_profiles()))
    return cls(version)


def profile_from_spec(spec: dict) -> Profile:
    """Inverse of ``Profile.spec()``: rebuild the profile a model was trained with."""
    if not isinstance(spec, dict) or "name" not in spec or "version" not in spec:
        raise PreprocessError(Errors.E504, spec=spec)
    return get_profile(spec["name"], spec["version"])
