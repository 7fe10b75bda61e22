"""Pieces the workflows share: the progress callback type, preprocessing, names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pandas as pd
from pydantic import ValidationError

from sentiq.config import SentiqConfig, TrackingConfig
from sentiq.models import Manifest, model_type
from sentiq.preprocess import Profile, get_profile

ProgressFn = Callable[[str, int, int], None]


def profile_for(config: SentiqConfig, default: str) -> Profile:
    if model_type(config.approach).capabilities.own_preprocessing:
        return get_profile("none")  # an ensemble's members clean text their own way
    return get_profile(default if config.preprocess == "auto" else config.preprocess)


def preprocessed(frame: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    return frame.assign(text=profile.apply(frame["text"].tolist()))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(text).stem if Path(text).suffix else text).strip("-") or "data"


def recorded_tracking(manifest: Manifest) -> TrackingConfig:
    """The tracking settings the model was trained with (defaults for models older than tracking)."""
    try:
        return TrackingConfig.model_validate(manifest.config.get("tracking") or {})
    except ValidationError:
        return TrackingConfig()
