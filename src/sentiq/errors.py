"""The error catalogue: every failure a user can cause has one class and one message.

Each error carries a short code (``E1xx`` config, ``E2xx`` data, ``E3xx`` model,
``E4xx`` training, ``E5xx`` preprocessing) so messages can be looked up in the README,
whose table :func:`reference_markdown` generates from this module (a test keeps it in sync).
The CLI prints ``str(error)`` and exits non-zero; it never shows a traceback for these.
The base class has no code and cannot be raised itself: every error names its cause.
"""

from __future__ import annotations

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
    """Base class of every error sentiq raises on purpose (raise a subclass: each has a code)."""

    code: str | None = None

    def __init__(self, message: str):
        if type(self).code is None:
            raise TypeError(f"{type(self).__name__} has no error code; raise one of the classes in sentiq.errors")
        message = cap_message(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ConfigError(SentiqError, ValueError):
    """A config value is missing, malformed or out of range (the message names the field)."""

    code = "E100"


class UsageError(ConfigError):
    """A command-line argument is malformed, or two arguments conflict (the message names the flag)."""

    code = "E101"


class DataError(SentiqError, ValueError):
    """A data file cannot be read, lacks a column, has the wrong encoding or the wrong shape."""

    code = "E200"


class UnknownLabelError(DataError):
    """A label value is not in the label map or the model's labels."""

    code = "E201"


class SingleClassError(DataError):
    """The training split holds only one class: no classifier can be learned from it."""

    code = "E202"


class EmptyTextError(DataError):
    """A text to classify is empty or only white space."""

    code = "E203"


class ModelError(SentiqError, ValueError):
    """A model path or model directory cannot be used (missing, incomplete, corrupt or foreign files)."""

    code = "E300"


class ModelIntegrityError(ModelError):
    """A model directory is damaged: a file is missing, truncated or swapped, or it no longer predicts
    what it predicted when it was saved."""

    code = "E310"


class ExportError(ModelError):
    """An ONNX export failed its parity or accuracy check against PyTorch (nothing is written)."""

    code = "E330"

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report or {}


class TrainingError(SentiqError, RuntimeError):
    """Training stopped because continuing would produce a broken model."""

    code = "E400"


class DivergenceError(TrainingError):
    """The loss became NaN or infinite."""

    code = "E401"


class CollapseError(TrainingError):
    """The collapse guard stopped the run: the model predicts (almost) a single class (``on_collapse: stop``)."""

    code = "E402"


class PreprocessError(SentiqError, ValueError):
    """A preprocessing profile is unknown or its version is not supported."""

    code = "E500"


def catalogue() -> list[type[SentiqError]]:
    """Every error class with a code, in code order."""
    found, todo = [], [SentiqError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.code is not None:
            found.append(cls)
    return sorted(found, key=lambda cls: cls.code)


def reference_markdown() -> str:
    """The README's error table, from the classes above."""
    lines = ["| code | class | meaning |", "|---|---|---|"]
    for cls in catalogue():
        meaning = " ".join(cls.__doc__.split()).rstrip(".")
        lines.append(f"| {cls.code} | `{cls.__name__}` | {meaning[0].lower()}{meaning[1:]} |")
    return "\n".join(lines)
