"""The request log: one JSON object per predicted text, in a rotated JSON-lines file.

It is the input of the monitoring (drift) tools, so its schema is a contract:

=============  ========  ==============================================================
key            type      meaning
=============  ========  ==============================================================
``time``       str       ISO-8601 UTC time the prediction was answered
                         (``2026-11-23T14:40:00.123+00:00``)
``model``      str       model name/version served (``ServeSettings.model_name``)
``request_id`` str       the request's id (``X-Request-ID`` header, or generated);
                         every text of one request shares it
``length``     int       characters in the text (before preprocessing)
``language``   str       :func:`sentiq.preprocess.language.detect_language` of the text
``label``      str       predicted label name; null for a text the model did not score
                         (empty after preprocessing, unsupported language)
``score``      float     probability of that label (null when not scored)
``latency_ms`` float     the request's latency in milliseconds, from the parsed
                         request to its predictions (batch wait included)
``text``       str       the raw text -- ONLY when raw-text logging is enabled
=============  ========  ==============================================================

Records are written by a background thread (``QueueHandler`` + ``QueueListener``) so the
event loop never waits on the disk; files rotate with ``RotatingFileHandler``.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import queue
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from sentiq.preprocess.language import detect_language

SCHEMA_KEYS = ("time", "model", "request_id", "length", "language", "label", "score", "latency_ms")
TEXT_KEY = "text"


def build_records(
    texts: Sequence[str],
    predictions: Sequence,
    *,
    model: str,
    request_id: str,
    latency_ms: float,
    include_text: bool = False,
    time: datetime | None = None,
) -> list[dict]:
    """One schema record per text; ``predictions`` carry ``label`` and ``score`` (sentiq ``Prediction``)."""
    stamp = (time or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="milliseconds")
    records = []
    for text, pred in zip(texts, predictions, strict=True):
        record = {
            "time": stamp,
            "model": model,
            "request_id": request_id,
            "length": len(text),
            "language": detect_language(text),
            "label": pred.label,
            "score": None if pred.score is None else float(pred.score),
            "latency_ms": round(float(latency_ms), 3),
        }
        if include_text:
            record[TEXT_KEY] = text
        records.append(record)
    return records


def read_records(path: str | Path) -> list[dict]:
    """Every record of one request log file (the current one, not its rotated backups)."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Every file it opens (the first and each after a rotation) is readable by its owner only (0600),
    whatever the umask: the records hold the users' raw text."""

    def _open(self):
        descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(descriptor, 0o600)  # also an existing file, and not reduced by the umask
        return open(descriptor, self.mode, encoding=self.encoding, errors=self.errors)


class RequestLog:
    """Writes records as JSON lines to a rotated file from a background thread; ``private`` (set when the
    raw text is logged) makes the files 0600."""

    def __init__(self, path: str | Path, *, max_bytes: int = 50_000_000, backups: int = 5, private: bool = False):
        self.path = Path(str(path).replace("{pid}", str(os.getpid())))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handler_class = _PrivateRotatingFileHandler if private else logging.handlers.RotatingFileHandler
        handler = handler_class(self.path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        self._queue: queue.Queue = queue.Queue()
        self._listener = logging.handlers.QueueListener(self._queue, handler)
        # A private logger (not in the global tree) so nothing else writes into the file.
        self._logger = logging.Logger(f"sentiq.requests.{id(self)}", logging.INFO)
        self._logger.addHandler(logging.handlers.QueueHandler(self._queue))
        self._handler = handler
        self._listener.start()

    def write(self, records: Sequence[dict]) -> None:
        for record in records:
            self._logger.info(json.dumps(record, ensure_ascii=False))

    def close(self) -> None:
        """Flush what is queued and close the file."""
        self._listener.stop()
        self._handler.close()
