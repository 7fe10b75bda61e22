"""Prometheus metrics of one service instance (a private registry per app).

With several uvicorn workers each process counts its own requests; a scrape sees the
worker that answered it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401  (re-exported for the app)

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("sentiq_requests", "HTTP requests answered.", ["endpoint", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("sentiq_request_latency_seconds", "Time to answer a request.", ["endpoint"],
                                 registry=self.registry)
        self.errors = Counter("sentiq_errors", "Requests answered with a 4xx or 5xx status.", ["endpoint", "status"],
                              registry=self.registry)
        self.predictions = Counter("sentiq_predictions", "Texts classified, by predicted label.", ["label"],
                                   registry=self.registry)
        self.batch_texts = Histogram("sentiq_batch_texts", "Texts per model call (micro-batch size).",
                                     buckets=BATCH_BUCKETS, registry=self.registry)
        self.shed = Counter("sentiq_shed_requests", "Requests refused to bound the load (429/503), by reason: "
                            "queue_full, explain_busy, explain_timeout.", ["reason"], registry=self.registry)
        self.client_gone = Counter("sentiq_client_gone", "Requests whose client disconnected before the answer, by "
                                   "stage: queued (dropped before the model ran), waiting, explaining.", ["stage"],
                                   registry=self.registry)
        self.ready = Gauge("sentiq_model_ready", "1 once the model is loaded.", registry=self.registry)

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)
        if status >= 400:
            self.errors.labels(endpoint, str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
