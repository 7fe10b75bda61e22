"""Member models of a combined model (ensemble, routed): full Predictors that share one label set."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from sentiq.errors import Errors, ModelError


def load_members(paths: Mapping[str, str | Path], *, kind: str) -> dict:
    """Load each member directory (name -> path) as a Predictor; their labels must match in name and order."""
    from sentiq.inference.predictor import Predictor

    members = {name: Predictor.load(path) for name, path in paths.items()}
    first_name, first = next(iter(members.items()))
    for name, member in members.items():
        if member.labels != first.labels:
            raise ModelError(
                Errors.E348,
                kind=kind,
                first_name=first_name,
                first_path=paths[first_name],
                first_labels=first.labels,
                name=name,
                path=paths[name],
                labels=member.labels,
            )
    return members
