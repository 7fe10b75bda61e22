"""Read built-in corpora and user files into one shape: a frame of ``text`` and ``label`` names.

Built-in names resolve to local files under ``SENTIQ_DATA_DIR`` (default: the
``../shared/datasets`` folder when present); the Hugging Face Hub is used only when
the user allows it and the files are not on disk.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sentiq.data.files import HEADERLESS, columns_hint, read_table, read_texts, resolve_column, shown_columns
from sentiq.errors import DataError, Errors, UnknownLabelError, shorten

log = logging.getLogger(__name__)

DATA_DIR_ENV = "SENTIQ_DATA_DIR"
SKIP = "skip"  # a label-map target: rows with that raw label are left out (and counted)


@dataclass(frozen=True)
class BuiltinDataset:
    """Where a known corpus lives on disk and how its columns and labels read."""

    name: str
    splits: dict[str, tuple[str, ...]]  # split -> candidate relative paths, first found wins
    text_column: str
    label_column: str
    label_map: dict[str, str]
    language: str
    preprocess: str
    read_options: dict = field(default_factory=dict)
    hub_id: str | None = None
    hub_columns: tuple[str, str] | None = None  # (text, label) on the hub, when they differ
    unlabeled: tuple[str, ...] = ()  # candidate paths of unlabeled in-domain text (for pre-training)


_BINARY = {"0": "negative", "1": "positive"}
_SENT140_COLUMNS = ["polarity", "id", "date", "query", "user", "text"]

BUILTINS: dict[str, BuiltinDataset] = {
    "imdb": BuiltinDataset(
        "imdb",
        {"train": ("imdb/train.parquet",), "test": ("imdb/test.parquet",)},
        "text",
        "label",
        _BINARY,
        "en",
        "review",
        hub_id="stanfordnlp/imdb",
        unlabeled=("imdb/unsupervised.parquet",),
    ),
    "sentiment140": BuiltinDataset(
        "sentiment140",
        {"train": ("sentiment140/training.1600000.processed.noemoticon.csv", "sentiment140/training.sample.csv")},
        "text",
        "polarity",
        {"0": "negative", "2": "neutral", "4": "positive"},
        "en",
        "tweet",
        read_options={"header": None, "names": _SENT140_COLUMNS, "encoding": "latin-1"},
        hub_id="stanfordnlp/sentiment140",
        hub_columns=("text", "sentiment"),
    ),
    "chnsenticorp": BuiltinDataset(
        "chnsenticorp",
        {"train": ("chinese/ChnSentiCorp_htl_all.csv",)},
        "review",
        "label",
        _BINARY,
        "zh",
        "chinese",
    ),
    "waimai": BuiltinDataset(
        "waimai",
        {"train": ("chinese/waimai_10k.csv",)},
        "review",
        "label",
        _BINARY,
        "zh",
        "chinese",
    ),
    "weibo_senti_100k": BuiltinDataset(
        "weibo_senti_100k",
        {"train": ("chinese/weibo_senti_100k.csv",)},
        "review",
        "label",
        _BINARY,
        "zh",
        "chinese",
        hub_id="dirtycomputer/weibo_senti_100k",
    ),
}


@dataclass
class LoadedData:
    """Clean frames per available split (``train`` always; ``test`` when official)."""

    frames: dict[str, pd.DataFrame]
    source: str
    language: str
    default_preprocess: str
    dropped_empty: int = 0
    dropped_missing_label: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # raw label mapped to "skip" -> rows left out
    headerless: bool = False
    recorded_label_map: dict[str, str] | None = None  # set when the labels were read with a model's training map


def data_dir() -> Path | None:
    """The folder holding built-in corpora, or None when there is none."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    repo_shared = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"
    for candidate in (Path.cwd().parent / "shared" / "datasets", repo_shared):
        if candidate.is_dir():
            return candidate
    return None


def _normalise_raw_label(value) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def to_labeled_frame(
    raw: pd.DataFrame,
    *,
    text_column: str,
    label_column: str,
    label_map: dict[str, str] | None,
    where: str,
    keep_columns: tuple[str, ...] = (),
    skipped: dict[str, int] | None = None,
) -> tuple[pd.DataFrame, int, int]:
    """Select and clean the text/label columns (by name or 0-based position); map raw labels to names.

    ``keep_columns`` (slice markers, say) are carried along unchanged when the source has them.
    Raw labels mapped to ``skip`` are left out and counted into ``skipped`` (raw value -> rows).

    Returns the frame and how many rows were dropped for empty text and missing label.
    """
    text_col, label_col = resolve_column(raw, str(text_column)), resolve_column(raw, str(label_column))
    missing = [c for c, found in ((text_column, text_col), (label_column, label_col)) if found is None]
    if missing:
        raise DataError(Errors.E204, where=where, missing=[shorten(str(c)) for c in missing], hint=columns_hint(raw))
    texts = raw[text_col].map(lambda t: "" if t is None or (isinstance(t, float) and pd.isna(t)) else str(t))
    labels = raw[label_col].map(_normalise_raw_label)
    empty = texts.str.strip() == ""
    no_label = labels.isna()
    keep = ~empty & ~no_label
    if label_map:
        unknown = sorted(set(labels[keep]) - set(label_map))
        if unknown:
            raise UnknownLabelError(
                Errors.E201,
                where=where,
                unknown=[shorten(str(u), 40) for u in unknown[:10]],
                label_map=label_map,
                skip=SKIP,
            )
        skip = keep & labels.map(lambda v: label_map.get(v) == SKIP)
        if skipped is not None:
            for value, n in labels[skip].value_counts().items():
                skipped[str(value)] = skipped.get(str(value), 0) + int(n)
        keep &= ~skip
    labels = labels[keep]
    if label_map:
        labels = labels.map(label_map)
    frame = pd.DataFrame(
        {
            "text": texts[keep].to_numpy(),
            "label": labels.to_numpy(),
            **{c: raw[c][keep].to_numpy() for c in keep_columns if c in raw.columns and c not in ("text", "label")},
        }
    )
    return frame, int(empty.sum()), int((no_label & ~empty).sum())


def _builtin_path(spec: BuiltinDataset, split: str) -> Path | None:
    root = data_dir()
    if root is None:
        return None
    for rel in spec.splits[split]:
        if (root / rel).is_file():
            return root / rel
    return None


def _load_from_hub(spec: BuiltinDataset) -> dict[str, pd.DataFrame]:
    if spec.hub_id is None:
        raise DataError(Errors.E205, name=spec.name, env=DATA_DIR_ENV)
    try:
        import datasets  # optional: pip install 'sentiq[hub]'
    except ImportError:
        raise DataError(Errors.E206) from None
    try:
        loaded = datasets.load_dataset(spec.hub_id)
    except Exception as exc:  # network, auth, missing dataset: all mean the same to the user
        raise DataError(Errors.E207, hub_id=spec.hub_id, detail=exc) from None
    frames = {}
    for split in ("train", "test"):
        if split in loaded:
            frame = loaded[split].to_pandas()
            if spec.hub_columns:
                frame = frame.rename(
                    columns={spec.hub_columns[0]: spec.text_column, spec.hub_columns[1]: spec.label_column}
                )
            frames[split] = frame
    return frames


def _read_builtin(spec: BuiltinDataset, allow_hub: bool) -> dict[str, pd.DataFrame]:
    paths = {split: _builtin_path(spec, split) for split in spec.splits}
    if paths["train"] is not None:
        return {split: read_table(p, **spec.read_options) for split, p in paths.items() if p is not None}
    if allow_hub:
        log.info("dataset %s not found on disk; loading %s from the hub", spec.name, spec.hub_id)
        return _load_from_hub(spec)
    where = data_dir() or f"${DATA_DIR_ENV} (unset)"
    raise DataError(Errors.E208, name=spec.name, where=where, env=DATA_DIR_ENV)


def guess_language(texts: pd.Series) -> str:
    """'zh' when most sampled texts are mostly CJK characters, else 'en'."""
    sample = "".join(texts.head(200))
    if not sample:
        return "en"
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    return "zh" if cjk / len(sample) > 0.2 else "en"


def load_data(
    source: str,
    *,
    test_source: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    label_map: dict[str, str] | None = None,
    encoding: str | None = None,
    header: bool | None = None,
    allow_hub: bool = False,
    keep_columns: tuple[str, ...] = (),
    fallback_columns: tuple[str | None, str | None] = (None, None),
) -> LoadedData:
    """Load a built-in dataset by name or a user file by path, labels mapped to names.

    ``header=None`` detects whether a CSV/TSV has a header row; a headerless file's columns
    are given by 0-based position. A headerless file in Sentiment140's own layout
    (``polarity,id,date,query,user,text``) is read as Sentiment140 without column settings.
    A user file without a ``text``/``label`` column, and no column given, is read with
    ``fallback_columns`` (text, label) when it has them: a model's training columns, so a file
    shaped like the training data (ChnSentiCorp's ``label,review``) needs no column flags.
    """
    spec = BUILTINS.get(source.lower())
    if spec is not None and not Path(source).exists():
        raw_frames = _read_builtin(spec, allow_hub)
        text_column = text_column or spec.text_column
        label_column = label_column or spec.label_column
        label_map = label_map or spec.label_map
    else:
        path = Path(source)
        if not path.exists():
            known = ", ".join(BUILTINS)
            raise DataError(Errors.E209, source=source, known=known)
        raw_frames = {"train": read_table(path, encoding=encoding, header=header)}
        if text_column is None and label_column is None and _sentiment140_layout(raw_frames["train"]):
            log.info("%s has Sentiment140's headerless layout: text column 5, label column 0", source)
            text_column, label_column = "5", "0"
            label_map = label_map or BUILTINS["sentiment140"].label_map
        names = set(map(str, raw_frames["train"].columns))
        text_column = text_column or (
            "text" if "text" in names or fallback_columns[0] not in names else fallback_columns[0]
        )
        label_column = label_column or (
            "label" if "label" in names or fallback_columns[1] not in names else fallback_columns[1]
        )
    if test_source:
        raw_frames["test"] = read_table(Path(test_source), encoding=encoding, header=header)

    frames, dropped_empty, dropped_label, skipped = {}, 0, 0, {}
    for split, raw in raw_frames.items():
        frame, empty, no_label = to_labeled_frame(
            raw,
            text_column=text_column,
            label_column=label_column,
            label_map=label_map,
            where=test_source if split == "test" and test_source else source,
            keep_columns=tuple(keep_columns),
            skipped=skipped,
        )
        frames[split] = frame
        dropped_empty += empty
        dropped_label += no_label
    if dropped_empty or dropped_label:
        log.warning("dropped %d empty texts and %d rows without a label from %s", dropped_empty, dropped_label, source)
    language = spec.language if spec else guess_language(frames["train"]["text"])
    preprocess = spec.preprocess if spec else ("chinese" if language == "zh" else "none")
    if skipped:
        log.info("left out %s rows whose label maps to %r", skipped, SKIP)
    headerless = any(raw.attrs.get(HEADERLESS) for raw in raw_frames.values())
    return LoadedData(frames, source, language, preprocess, dropped_empty, dropped_label, skipped, headerless)


def _sentiment140_layout(raw: pd.DataFrame) -> bool:
    """Six headerless columns whose first holds only Sentiment140 polarities (0, 2, 4)."""
    if not raw.attrs.get(HEADERLESS) or raw.shape[1] != 6 or raw.empty:
        return False
    return set(raw["0"].str.strip().unique()) <= {"0", "2", "4"}


@dataclass
class UnlabeledTexts:
    """Texts without labels (for pre-training or a teacher to label), with what they are."""

    texts: list[str]
    source: str
    language: str
    default_preprocess: str


def _unlabeled_builtin(spec: BuiltinDataset, text_column: str | None) -> list[str]:
    root = data_dir()
    found = next((root / rel for rel in spec.unlabeled if root is not None and (root / rel).is_file()), None)
    if found is not None:
        frame = read_table(found, **spec.read_options)
    else:  # no dedicated unlabeled file: the training texts, labels ignored (never the official test split)
        frame = _read_builtin(spec, allow_hub=False)["train"]
    return _text_column(frame, text_column or spec.text_column, spec.name)


def _text_column(frame: pd.DataFrame, column: str, where: str) -> list[str]:
    if column not in frame.columns:
        raise DataError(Errors.E210, where=where, column=shorten(column), columns=shown_columns(frame.columns))
    texts = frame[column].map(lambda t: "" if t is None or (isinstance(t, float) and pd.isna(t)) else str(t))
    return [t for t in texts if t.strip()]


def load_unlabeled(source: str, *, text_column: str | None = None, encoding: str | None = None) -> UnlabeledTexts:
    """Unlabeled texts from a built-in name (IMDB: its 50,000 unlabeled reviews), a .txt file (one text per
    line) or a table file (``text_column``, default ``text``); empty texts are dropped."""
    spec = BUILTINS.get(source.lower())
    if spec is not None and not Path(source).exists():
        texts = _unlabeled_builtin(spec, text_column)
        language, preprocess = spec.language, spec.preprocess
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(Errors.E211, source=source, builtins=", ".join(BUILTINS))
        texts = read_texts(
            path,
            text_column=text_column or "text",
            encoding=encoding,
            column_hint="(set the text column)",
            encoding_hint="set the encoding",
        )
        language = guess_language(pd.Series(texts))
        preprocess = "chinese" if language == "zh" else "none"
    if not texts:
        raise DataError(Errors.E212, source=source)
    return UnlabeledTexts(texts, source, language, preprocess)
