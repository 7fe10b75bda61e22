"""`sentiq serve --workers N`: metrics added up over worker processes, one request log per worker, read as one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import serve_command

SRC = Path(__file__).resolve().parents[1] / "src"
TEXTS = ["what a wonderful film, I loved it", "the plot was awful and boring"]


def sample_value(metrics: str, name: str, **labels) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels`` (0 when none)."""
    total = 0.0
    for line in metrics.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_request_log_gets_one_file_per_worker():
    from sentiq.serving import ServeSettings

    assert ServeSettings(model_dir=".", workers=2, request_log="logs/requests.jsonl").request_log == Path(
        "logs/requests.{pid}.jsonl"
    )
    assert ServeSettings(model_dir=".", request_log="logs/requests.jsonl").request_log == Path("logs/requests.jsonl")
    assert ServeSettings(model_dir=".", workers=4, request_log="r-{pid}.jsonl").request_log == Path("r-{pid}.jsonl")
    from_env = ServeSettings.from_env({"SENTIQ_WORKERS": "3", "SENTIQ_REQUEST_LOG": "r.jsonl"}, model_dir=".")
    assert from_env.request_log == Path("r.{pid}.jsonl")
    assert ServeSettings.from_env(from_env.to_env()).request_log == Path("r.{pid}.jsonl")  # what workers rebuild


def _log_line(label: str) -> str:
    return json.dumps(
        {
            "time": "2026-01-01T00:00:00.000+00:00",
            "model": "m",
            "request_id": "r",
            "length": 10,
            "language": "en",
            "label": label,
            "score": 0.9,
            "latency_ms": 1.0,
        }
    )


def test_monitor_reads_the_worker_logs_as_one(tmp_path):
    from sentiq.monitoring.samples import load_sample, request_log_parts

    (tmp_path / "requests.101.jsonl").write_text("\n".join([_log_line("positive")] * 3) + "\n")
    (tmp_path / "requests.202.jsonl").write_text("\n".join([_log_line("negative")] * 2) + "\n")
    (tmp_path / "requests.notes.jsonl").write_text("not a log\n")  # not a worker's part
    expected = [tmp_path / "requests.101.jsonl", tmp_path / "requests.202.jsonl"]
    for name in ("requests.jsonl", "requests.{pid}.jsonl", "requests.*.jsonl"):
        assert request_log_parts(str(tmp_path / name)) == expected, name
        sample = load_sample(str(tmp_path / name), max_rows=None)
        assert sample.kind == "request log" and sample.total_rows == 5
        assert sorted(sample.labels) == ["negative"] * 2 + ["positive"] * 3
    (tmp_path / "requests.jsonl").write_text(_log_line("neutral") + "\n")  # a single-worker log beside the parts
    assert load_sample(str(tmp_path / "requests.jsonl"), max_rows=None).total_rows == 6
    (tmp_path / "other.jsonl").write_text(_log_line("neutral") + "\n")  # a log without parts reads as before
    assert request_log_parts(str(tmp_path / "other.jsonl")) == []
    assert load_sample(str(tmp_path / "other.jsonl"), max_rows=None).total_rows == 1


WORKER = """
import os, sys
from sentiq.serving.metrics import ServiceMetrics
m = ServiceMetrics()
assert m.multiprocess
m.ready.set(1)
for _ in range(int(sys.argv[1])):
    m.observe_request("/v1/predict", "POST", 200, 0.01)
m.predictions.labels("positive").inc(int(sys.argv[1]))
if sys.argv[2] == "exit":
    m.close()
"""


def test_metrics_add_up_over_worker_processes(tmp_path):
    """Two real processes write metrics in multiprocess mode; a third renders what a scrape sees."""
    from sentiq.serving.metrics import shared_metrics_dir

    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    try:
        (tmp_path / "metrics").mkdir()
        (tmp_path / "metrics" / "counter_999.db").write_bytes(b"stale")  # an earlier run's file is removed
        with shared_metrics_dir(2) as directory:
            assert directory == tmp_path / "metrics" and not (directory / "counter_999.db").exists()
            env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
            for count, ending in ((3, "exit"), (4, "stay")):
                subprocess.run([sys.executable, "-c", WORKER, str(count), ending], env=env, check=True, timeout=60)
            render = "from sentiq.serving.metrics import ServiceMetrics; print(ServiceMetrics().render().decode())"
            scraped = subprocess.run(
                [sys.executable, "-c", render], env=env, check=True, timeout=60, capture_output=True, text=True
            ).stdout
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    assert sample_value(scraped, "sentiq_requests_total", endpoint="/v1/predict", status="200") == 7
    assert sample_value(scraped, "sentiq_predictions_total", label="positive") == 7
    assert sample_value(scraped, "sentiq_request_latency_seconds_count", endpoint="/v1/predict") == 7
    # the worker that exited left the live sum; the one that did not (its files are still there) counts
    assert sample_value(scraped, "sentiq_model_ready") == 1


def test_one_worker_keeps_its_private_registry(tmp_path):
    from sentiq.serving.metrics import ServiceMetrics, shared_metrics_dir

    with shared_metrics_dir(1) as directory:
        assert directory is None and "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    metrics = ServiceMetrics()
    assert not metrics.multiprocess
    metrics.observe_request("/v1/predict", "POST", 200, 0.01)
    assert sample_value(metrics.render().decode(), "sentiq_requests_total", endpoint="/v1/predict") == 1


@pytest.mark.slow
def test_serve_two_workers_metrics_count_every_request(trained_model, tmp_path):
    """A real `sentiq serve --workers 2`: requests until both workers have answered some (each logs to its own
    file), then /metrics, whichever worker answers it, counts every request and every text of both."""
    import httpx

    sent = 0
    with serve_command(
        trained_model,
        "--workers",
        "2",
        "--request-log",
        str(tmp_path / "requests.jsonl"),
        env={"PROMETHEUS_MULTIPROC_DIR": None},
    ) as base:
        deadline = time.monotonic() + 90
        answered = lambda: [p for p in tmp_path.glob("requests.*.jsonl") if p.stat().st_size]  # noqa: E731
        while len(answered()) < 2:  # each worker opens its file at start and logs from a thread; 400 requests, 90 s
            assert sent < 400 and time.monotonic() < deadline, "the requests never reached a second worker"
            with httpx.Client() as client:  # a new connection each time: the kernel hands it to either worker
                assert client.post(f"{base}/v1/predict", json={"texts": TEXTS}).status_code == 200
            sent += 1
            time.sleep(0.05)  # the request log writes from a background thread
        for _ in range(3):  # scrapes answered by either worker agree
            scraped = httpx.get(f"{base}/metrics").text
            assert sample_value(scraped, "sentiq_requests_total", endpoint="/v1/predict", status="200") == sent
            assert sample_value(scraped, "sentiq_predictions_total") == 2 * sent
            assert sample_value(scraped, "sentiq_model_ready") == 2
    from sentiq.monitoring.samples import load_sample

    parts = sorted(tmp_path.glob("requests.*.jsonl"))
    assert len(parts) == 2 and all(p.stem.split(".")[1].isdigit() for p in parts), parts
    assert sum(len(p.read_text().splitlines()) for p in parts) == 2 * sent, [p.read_text()[:300] for p in parts]
    assert load_sample(str(tmp_path / "requests.jsonl"), max_rows=None).total_rows == 2 * sent
