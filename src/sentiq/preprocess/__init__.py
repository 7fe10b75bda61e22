"""Named, versioned text-cleaning profiles, stored with a model and applied identically at
training and prediction time. Importing this package registers every profile."""

from sentiq.preprocess.base import (
    NoneProfile,
    Profile,
    available_profiles,
    get_profile,
    profile_from_spec,
)
from sentiq.preprocess.chinese import ChineseProfile, ChineseT2SProfile
from sentiq.preprocess.review import ReviewProfile
from sentiq.preprocess.tweet import TweetProfile

__all__ = [
    "ChineseProfile",
    "ChineseT2SProfile",
    "NoneProfile",
    "Profile",
    "ReviewProfile",
    "TweetProfile",
    "available_profiles",
    "get_profile",
    "profile_from_spec",
]
