"""Prometheus metrics of the service (a private registry per app).

With several uvicorn workers (``sentiq serve --workers N``) the metrics are shared through
prometheus_client's multiprocess mode: every worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics``, whichever worker answers it, adds them all up
(counters and histograms summed over workers, living or exited; ``sentiq_model_ready`` the
number of living workers with their model loaded). :func:`shared_metrics_dir` provides the
directory for a run; a worker marks itself dead on shutdown (:meth:`ServiceMetrics.close`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,  # noqa: F401  (re-exported for the app)
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger(__name__)

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable


def multiprocess_mode() -> bool:
    """Whether this process writes its metrics to the shared directory (set before prometheus_client loads)."""
    from prometheus_client import values

    return bool(os.environ.get(MULTIPROC_ENV)) and values.ValueClass is not values.MutexValue


class ServiceMetrics:
    def __init__(self) -> None:
        self.multiprocess = multiprocess_mode()
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sentiq_requests", "HTTP requests answered.", ["endpoint", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "sentiq_request_latency_seconds", "Time to answer a request.", ["endpoint"], registry=self.registry
        )
        self.errors = Counter(
            "sentiq_errors",
            "Requests answered with a 4xx or 5xx status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.predictions = Counter(
            "sentiq_predictions", "Texts classified, by predicted label.", ["label"], registry=self.registry
        )
        self.batch_texts = Histogram(
            "sentiq_batch_texts",
            "Texts per model call (micro-batch size).",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.shed = Counter(
            "sentiq_shed_requests",
            "Requests refused to bound the load (429/503), by reason: queue_full, explain_busy, explain_timeout.",
            ["reason"],
            registry=self.registry,
        )
        self.client_gone = Counter(
            "sentiq_client_gone",
            "Requests whose client disconnected before the answer, by "
            "stage: queued (dropped before the model ran), waiting, explaining.",
            ["stage"],
            registry=self.registry,
        )
        self.ready = Gauge(
            "sentiq_model_ready",
            "Workers with their model loaded (1 with one worker).",
            multiprocess_mode="livesum",
            registry=self.registry,
        )

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)
        if status >= 400:
            self.errors.labels(endpoint, str(status)).inc()

    def render(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()  # read afresh per scrape: every worker's files, this one's included
        MultiProcessCollector(registry)
        return generate_latest(registry)

    def close(self) -> None:
        """On worker shutdown: its live gauges leave the sum (its counts stay counted)."""
        if self.multiprocess:
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid())


@contextmanager
def shared_metrics_dir(workers: int) -> Iterator[Path | None]:
    """For ``workers`` > 1, the ``PROMETHEUS_MULTIPROC_DIR`` the workers share, set in the environment they
    inherit: the user's (its ``*.db`` files from an earlier run removed, as prometheus_client requires) or a
    temporary one removed afterwards. Nothing with one worker."""
    if workers <= 1:
        yield None
        return
    given = os.environ.get(MULTIPROC_ENV)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="sentiq-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)
    log.info("metrics of %d workers shared through %s", workers, directory)
    try:
        yield directory
    finally:
        if not given:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(directory, ignore_errors=True)
