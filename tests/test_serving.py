"""The REST service, tested over HTTP against real uvicorn servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from conftest import serve_command  # noqa: E402
from sentiq.errors import ConfigError  # noqa: E402
from sentiq.serving import ServeSettings, create_app  # noqa: E402
from sentiq.serving.app import uvicorn_options  # noqa: E402
from sentiq.serving.microbatch import MicroBatcher  # noqa: E402
from sentiq.serving.requestlog import SCHEMA_KEYS, read_records  # noqa: E402

TEXTS = ["I really love this great movie", "the plot was awful and boring", "it was a film", "fun, superb acting!"]
KEY = "s3cret-key"
CHROMIUM = "/usr/bin/chromium"


@contextmanager
def live_server(prepare=None, **settings):
    """A real uvicorn server in a thread on a free loopback port; yields its base URL once ready.
    ``prepare(app)`` may wrap parts of the app (a test's gate on the model thread) before it starts."""
    access_log = settings.pop("uvicorn_access_log", False)
    settings = ServeSettings(**settings)
    app = create_app(settings)
    if prepare:
        prepare(app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="info" if access_log else "warning", access_log=access_log, **uvicorn_options(settings)
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def wait_ready(base: str, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{base}/ready")
        failed = response.status_code == 503 and "failed" in response.json()["detail"]
        if response.status_code == 200 or failed or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def metric(text: str, name: str, **labels) -> float:
    """One sample's value from Prometheus text (0 when the series does not exist yet)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


@pytest.fixture(scope="module")
def predictor(trained_model):
    from sentiq.inference import Predictor

    return Predictor.load(trained_model)


@pytest.fixture(scope="module")
def log_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("requestlog") / "requests.jsonl"


@pytest.fixture(scope="module")
def server(trained_model, log_path):
    """Default limits, no API key, request log on (without raw text)."""
    with live_server(model_dir=trained_model, request_log=log_path, max_wait_ms=20, batching=True) as base:
        assert wait_ready(base).status_code == 200
        yield base


@pytest.fixture(scope="module")
def strict_server(trained_model):
    """Small limits and an API key."""
    with live_server(model_dir=trained_model, api_key=KEY, max_texts=4, max_chars=50, max_body_bytes=2048) as base:
        assert wait_ready(base).status_code == 200
        yield base


def assert_same(served: dict, expected) -> None:
    assert served["label"] == expected.label
    assert served["score"] == pytest.approx(expected.score, abs=1e-5)
    assert served["scores"] == pytest.approx(expected.scores, abs=1e-5)
    assert list(served["scores"]) == list(expected.scores)  # label order kept


def test_predictions_equal_predictor_output(server, predictor):
    response = httpx.post(f"{server}/v1/predict", json={"texts": TEXTS}, headers={"X-Request-ID": "abc-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["request_id"] == "abc-1" and response.headers["x-request-id"] == "abc-1"
    assert body["model"].startswith("toy@")
    assert len(body["predictions"]) == len(TEXTS)
    for served, expected in zip(body["predictions"], predictor.predict(TEXTS)):
        assert_same(served, expected)
    single = httpx.post(f"{server}/v1/predict", json={"texts": TEXTS[1]}).json()["predictions"]
    assert len(single) == 1
    assert_same(single[0], predictor.predict([TEXTS[1]])[0])


def test_concurrent_requests_get_their_own_answers(server, predictor):
    expected = {text: predictor.predict([text])[0] for text in TEXTS}

    async def fire():
        async with httpx.AsyncClient(base_url=server, timeout=60) as client:
            return await asyncio.gather(
                *(client.post("/v1/predict", json={"texts": [TEXTS[i % 4]]}) for i in range(24))
            )

    before = httpx.get(f"{server}/metrics").text
    responses = asyncio.run(fire())
    after = httpx.get(f"{server}/metrics").text
    for i, response in enumerate(responses):
        assert response.status_code == 200
        assert_same(response.json()["predictions"][0], expected[TEXTS[i % 4]])
    calls = metric(after, "sentiq_batch_texts_count") - metric(before, "sentiq_batch_texts_count")
    texts = metric(after, "sentiq_batch_texts_sum") - metric(before, "sentiq_batch_texts_sum")
    assert texts == 24
    assert calls < 24, "concurrent requests were not gathered into batches"


def test_text_in_another_language_than_the_models_is_scored_with_a_warning(server):
    body = httpx.post(f"{server}/v1/predict", json={"texts": ["这部电影很好看", "great film"]}).json()
    foreign, own = body["predictions"]
    assert foreign["label"] is not None and foreign["warning"].startswith("language mismatch")
    assert "warning" not in own


def test_health_ready_docs_and_page(server):
    assert httpx.get(f"{server}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{server}/ready").json()
    assert ready["status"] == "ready" and ready["labels"] == ["negative", "positive"]
    assert httpx.get(f"{server}/docs").status_code == 200
    spec = httpx.get(f"{server}/openapi.json").json()
    assert {"/v1/predict", "/health", "/ready", "/metrics"} <= set(spec["paths"])
    page = httpx.get(f"{server}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" in page.text and "http://" not in page.text and "https://" not in page.text  # nothing external


def test_metrics_count_requests_errors_and_labels(server):
    before = httpx.get(f"{server}/metrics").text
    labels = [p["label"] for p in httpx.post(f"{server}/v1/predict", json={"texts": TEXTS}).json()["predictions"]]
    httpx.post(f"{server}/v1/predict", json={"texts": []})
    after = httpx.get(f"{server}/metrics").text
    ok = dict(name="sentiq_requests_total", endpoint="/v1/predict", method="POST", status="200")
    assert metric(after, **ok) - metric(before, **ok) == 1
    bad = dict(name="sentiq_errors_total", endpoint="/v1/predict", status="422")
    assert metric(after, **bad) - metric(before, **bad) == 1
    for label in set(labels):
        grew = metric(after, "sentiq_predictions_total", label=label) - metric(
            before, "sentiq_predictions_total", label=label
        )
        assert grew == labels.count(label)
    assert metric(after, "sentiq_request_latency_seconds_count", endpoint="/v1/predict") >= 2
    assert metric(after, "sentiq_model_ready") == 1


def test_request_log_has_the_schema(server, log_path):
    httpx.post(
        f"{server}/v1/predict", json={"texts": ["good film", "这部电影很好看"]}, headers={"X-Request-ID": "log-check"}
    )
    deadline = time.monotonic() + 10
    while True:  # written by a background thread
        records = [r for r in read_records(log_path) if r["request_id"] == "log-check"] if log_path.exists() else []
        if len(records) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(records) == 2
    for record in records:
        assert tuple(record) == SCHEMA_KEYS  # exactly these keys: no raw text by default
        assert datetime.fromisoformat(record["time"]).utcoffset().total_seconds() == 0
        assert isinstance(record["length"], int) and isinstance(record["score"], float)
        assert isinstance(record["latency_ms"], float) and record["latency_ms"] > 0
        assert record["model"].startswith("toy@") and record["label"] in ("negative", "positive")
    assert [r["length"] for r in records] == [9, 7]
    assert [r["language"] for r in records] == ["en", "zh"]


def test_drift_monitor_reads_the_service_log(server, log_path):
    """The contract with sentiq.monitoring: the live log is recognised and read as a request log."""
    from sentiq.monitoring.samples import load_sample

    httpx.post(f"{server}/v1/predict", json={"texts": TEXTS}, headers={"X-Request-ID": "drift-check"})
    deadline = time.monotonic() + 10
    # The log is written by a background thread, one record per text: wait for all of them.
    while sum(r["request_id"] == "drift-check" for r in read_records(log_path)) < len(TEXTS):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    records = read_records(log_path)
    sample = load_sample(str(log_path), max_rows=None)
    assert sample.kind == "request log" and sample.label_basis == "predicted"
    assert len(sample) == sum(r["label"] is not None for r in records) and sample.skipped_lines == 0
    assert sample.texts is None  # raw text is not logged by default


def test_request_log_keeps_raw_text_only_when_asked(trained_model, tmp_path):
    path = tmp_path / "raw.jsonl"
    with live_server(model_dir=trained_model, request_log=path, request_log_text=True) as base:
        wait_ready(base)
        assert httpx.post(f"{base}/v1/predict", json={"texts": ["so boring"]}).status_code == 200
    (record,) = read_records(path)  # shutting down flushed the log
    assert record["text"] == "so boring" and set(record) == set(SCHEMA_KEYS) | {"text"}


def test_api_key_is_required_when_set(strict_server):
    url = f"{strict_server}/v1/predict"
    assert httpx.post(url, json={"texts": ["good"]}).status_code == 401
    wrong = httpx.post(url, json={"texts": ["good"]}, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401 and "API key" in wrong.json()["detail"]
    assert httpx.post(url, json={"texts": ["good"]}, headers={"X-API-Key": KEY}).status_code == 200
    assert httpx.get(f"{strict_server}/metrics").status_code == 401
    assert httpx.get(f"{strict_server}/metrics", headers={"X-API-Key": KEY}).status_code == 200
    assert httpx.get(f"{strict_server}/health").status_code == 200
    assert httpx.get(f"{strict_server}/ready").status_code == 200


@pytest.mark.parametrize(
    "payload, status, words",
    [
        ({"texts": ["good"] * 5}, 422, "at most 4"),
        ({"texts": ["good " * 11]}, 422, "at most 50 characters"),
        ({"texts": []}, 422, "at least 1"),
        ({"texts": [""]}, 422, "at least 1 character"),
        ({"texts": ["   \n\t"]}, 422, "empty"),
        ({"texts": 42}, 422, "string or a list of strings"),
        ({"texts": ["good", 3]}, 422, "valid string"),
        ({"texts": None}, 422, "string or a list of strings"),
        ({"text": "good"}, 422, "texts"),
        ({"texts": ["good"], "extra": 1}, 422, "not permitted"),
        ([1, 2], 422, "valid dictionary"),
        # issue 15 (10): explain takes JSON booleans only; invisible texts are blank
        ({"texts": ["good"], "explain": 1}, 422, "valid boolean"),
        ({"texts": ["good"], "explain": 0}, 422, "valid boolean"),
        ({"texts": ["good"], "explain": "yes"}, 422, "valid boolean"),
        ({"texts": ["good"], "explain": "off"}, 422, "valid boolean"),
        ({"texts": ["\x00\x00"]}, 422, "empty or only white space"),
        ({"texts": ["\u200b\u200d\ufeff"]}, 422, "empty or only white space"),
        ({"texts": ["\x1e\x1f"]}, 422, "empty or only white space"),
    ],
)
def test_bad_input_gets_a_clear_4xx(strict_server, payload, status, words):
    response = httpx.post(f"{strict_server}/v1/predict", json=payload, headers={"X-API-Key": KEY})
    assert response.status_code == status
    assert words in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"texts": ["good"',  # malformed JSON
        b'{"texts": ["\\ud800 lone surrogate"]}',  # valid JSON, not encodable text
        b"\xff\xfe not utf-8",
        b'{"texts": ["\xc3\x28 bad utf-8"]}',
        '{"texts": ["good"]}'.encode("utf-16"),  # UTF-16 with a BOM: Python's json would take it
        '{"texts": ["good"]}'.encode("utf-16-le"),
    ],
)
def test_broken_bodies_get_422(strict_server, body):
    response = httpx.post(
        f"{strict_server}/v1/predict", content=body, headers={"X-API-Key": KEY, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text


def test_oversized_body_gets_413(strict_server):
    big = json.dumps({"texts": ["good"] * 600}).encode()
    assert len(big) > 2048
    response = httpx.post(
        f"{strict_server}/v1/predict", content=big, headers={"X-API-Key": KEY, "Content-Type": "application/json"}
    )
    assert response.status_code == 413 and "2048 bytes" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit still holds while streaming
        for _ in range(10):
            yield b" " * 1000

    streamed = httpx.post(
        f"{strict_server}/v1/predict", content=chunks(), headers={"X-API-Key": KEY, "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


def test_a_model_that_fails_to_load_is_not_ready(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "sentiq.json").write_text("{not json", encoding="utf-8")
    with live_server(model_dir=broken) as base:
        response = wait_ready(base)
        assert response.status_code == 503 and "failed to load" in response.json()["detail"]
        assert httpx.get(f"{base}/health").status_code == 200
        assert httpx.post(f"{base}/v1/predict", json={"texts": ["good"]}).status_code == 503


def test_settings_come_from_sentiq_environment_variables(tmp_path):
    env = {
        "SENTIQ_MODEL_DIR": str(tmp_path),
        "SENTIQ_MAX_TEXTS": "3",
        "SENTIQ_BATCHING": "false",
        "SENTIQ_API_KEY": "k",
        "OTHER": "x",
    }
    settings = ServeSettings.from_env(env, port=9001)
    assert settings.max_texts == 3 and settings.batching is False and settings.port == 9001
    assert settings.api_key.get_secret_value() == "k"
    assert ServeSettings.from_env(settings.to_env()) == settings  # what worker processes rebuild
    with pytest.raises(ConfigError, match="SENTIQ_MAX_TEXTS"):
        ServeSettings.from_env({**env, "SENTIQ_MAX_TEXTS": "many"})


def test_serve_command_refuses_a_missing_model(tmp_path):
    from typer.testing import CliRunner

    from sentiq.cli import app

    result = CliRunner().invoke(app, ["serve", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "[E342]" in result.output  # model directory does not exist


def test_micro_batcher_gathers_requests_without_splitting_them():
    calls: list[list[str]] = []

    def predict(texts):
        calls.append(list(texts))
        time.sleep(0.01)
        return [t.upper() for t in texts]

    async def scenario(enabled: bool):
        batcher = MicroBatcher(predict, max_batch_size=5, max_wait_ms=50, enabled=enabled)
        await batcher.start()
        jobs = [[f"r{i}a", f"r{i}b"] for i in range(6)]
        try:
            return jobs, await asyncio.gather(*(batcher.submit(job) for job in jobs))
        finally:
            await batcher.stop()

    jobs, results = asyncio.run(scenario(True))
    assert results == [[t.upper() for t in job] for job in jobs]
    assert all(len(call) <= 5 for call in calls) and len(calls) == 3  # 2+2 per call, requests whole
    calls.clear()
    asyncio.run(scenario(False))
    assert [len(call) for call in calls] == [2] * 6


def test_micro_batcher_gathers_while_the_model_runs_and_never_idles_with_requests_waiting():
    """Issue 15, defect 6: the batcher used to wait max_wait_ms after every batch with the model idle, even
    when requests had queued during that batch. Now the next batch gathers while one runs and starts the
    moment the model is free; only a request that finds the model idle waits for company."""
    calls: list[list[str]] = []

    def predict(texts):
        calls.append(list(texts))
        time.sleep(0.1)
        return texts

    async def scenario():
        batcher = MicroBatcher(predict, max_batch_size=100, max_wait_ms=300)
        await batcher.start()
        done: dict[str, float] = {}

        async def send(name: str, delay: float):
            await asyncio.sleep(delay)
            await batcher.submit([name])
            done[name] = time.monotonic()

        try:
            # a waits 0.3 s for company (model idle), runs 0.3-0.4 s; b and c arrive while it runs
            await asyncio.gather(send("a", 0), send("b", 0.33), send("c", 0.36))
        finally:
            await batcher.stop()
        return done

    done = asyncio.run(scenario())
    assert calls == [["a"], ["b", "c"]]
    assert done["b"] - done["a"] < 0.2  # b and c ran as soon as a's batch ended (it was 0.4 s: 0.3 idle + 0.1)


def test_batching_is_auto_by_default_and_off_for_a_model_on_the_cpu(trained_model):
    """Issue 15, defect 6: on this CPU a batched forward costs as much per text as single calls (ONNX int8:
    more), so micro-batching only made a lone request wait; auto turns it on only for a model on a GPU."""
    assert ServeSettings(model_dir=trained_model).batching == "auto"
    assert ServeSettings.from_env({"SENTIQ_BATCHING": "auto"}, model_dir=".").batching == "auto"
    assert ServeSettings.from_env({"SENTIQ_BATCHING": "true"}, model_dir=".").batching is True
    assert ServeSettings.from_env(ServeSettings(model_dir=".").to_env()).batching == "auto"  # what workers rebuild
    for batching, enabled in (("auto", False), (True, True), (False, False)):
        apps = []
        with live_server(apps.append, model_dir=trained_model, batching=batching) as base:
            assert wait_ready(base).status_code == 200
            assert apps[0].state.service.batcher.enabled is enabled, batching


def test_micro_batcher_isolates_a_failing_request():
    def predict(texts):
        if "boom" in texts:
            raise RuntimeError("boom")
        return texts

    async def scenario():
        batcher = MicroBatcher(predict, max_batch_size=10, max_wait_ms=50)
        await batcher.start()
        try:
            return await asyncio.gather(batcher.submit(["ok"]), batcher.submit(["boom"]), return_exceptions=True)
        finally:
            await batcher.stop()

    good, bad = asyncio.run(scenario())
    assert good == ["ok"] and isinstance(bad, RuntimeError)


# --- explanations ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory):
    """TF-IDF with the review profile (drops HTML tags), so the explained text can differ from the request's."""
    from conftest import train_on_toy_corpus

    return train_on_toy_corpus(
        tmp_path_factory.mktemp("tfidf-serve"),
        {"approach": "tfidf", "preprocess": "review", "tfidf": {"min_df": 1, "word_ngrams": [1, 2]}},
    ).output_dir


def test_explain_returns_the_exact_linear_contributions(tfidf_model):
    from sentiq.inference import Predictor

    predictor = Predictor.load(tfidf_model)
    texts = ["I <b>really</b> love this   great movie", "the plot was awful and boring"]
    with live_server(model_dir=tfidf_model, max_explain_texts=2) as base:
        assert wait_ready(base).status_code == 200
        url = f"{base}/v1/predict"
        response = httpx.post(url, json={"texts": texts, "explain": True})
        assert response.status_code == 200, response.text
        for served, text in zip(response.json()["predictions"], texts):
            expected = predictor.explain(text)
            assert served["label"] == expected.label and served["explanation_method"] == "linear"
            assert served["explained_text"] == expected.text == predictor.clean([text])[0]
            assert [(w["word"], w["start"], w["end"]) for w in served["explanation"]] == [
                (w.word, w.start, w.end) for w in expected.words
            ]
            assert [w["weight"] for w in served["explanation"]] == pytest.approx(
                [w.weight for w in expected.words], abs=1e-12
            )
            for w in served["explanation"]:  # the offsets point into the explained text
                assert served["explained_text"][w["start"] : w["end"]] == w["word"]
        assert served["explained_text"] == texts[1]  # unchanged by preprocessing: the request's own text
        assert any(w["weight"] != 0 for w in served["explanation"])

        plain = httpx.post(url, json={"texts": texts}).json()["predictions"]
        assert all(set(p) == {"label", "score", "scores"} for p in plain)
        assert set(httpx.post(url, json={"texts": texts, "explain": False}).json()["predictions"][0]) == {
            "label",
            "score",
            "scores",
        }

        too_many = httpx.post(url, json={"texts": texts + ["fine"], "explain": True})
        assert too_many.status_code == 422 and "explain is limited to 2 texts" in too_many.json()["message"]
        assert httpx.post(url, json={"texts": texts + ["fine"]}).status_code == 200
        assert httpx.post(url, json={"texts": ["good"], "explain": "maybe"}).status_code == 422


def test_explain_on_a_transformer_and_a_text_preprocessing_empties_is_not_scored(server, log_path):
    """Integrated gradients through the service; a text that is only HTML tags gets label null and a note,
    as from the CLI and Predictor (it used to be scored as if it were text), is logged as unscored, and
    the drift monitor leaves it out."""
    from sentiq.monitoring.samples import load_sample

    texts = [TEXTS[0], "<br /><br />"]
    response = httpx.post(
        f"{server}/v1/predict", json={"texts": texts, "explain": True}, headers={"X-Request-ID": "emptied"}
    )
    assert response.status_code == 200, response.text
    full, empty = response.json()["predictions"]
    assert full["explanation_method"] == "integrated-gradients"
    assert [w["word"] for w in full["explanation"]] == TEXTS[0].split()
    assert "note" not in full
    assert empty == {"label": None, "score": None, "scores": None, "note": "empty after preprocessing"}
    deadline = time.monotonic() + 10
    while sum(r["request_id"] == "emptied" for r in read_records(log_path)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    logged = [r for r in read_records(log_path) if r["request_id"] == "emptied"]
    assert [r["label"] is None for r in logged] == [False, True] and logged[1]["score"] is None
    scored = sum(r["label"] is not None for r in read_records(log_path))
    sample = load_sample(str(log_path), max_rows=None)
    assert len(sample) == scored and sample.skipped_lines == 0
    too_many = httpx.post(f"{server}/v1/predict", json={"texts": ["good"] * 9, "explain": True})
    assert too_many.status_code == 422 and "limited to 8" in too_many.json()["message"]  # the default limit


# --- schema-driven fuzzing of the running server -------------------------------------

FUZZ_CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_openapi_fuzz_no_server_errors_no_schema_violations(server, tmp_path):
    """schemathesis (its CLI: the pytest plugin does not load under pytest 9) sends generated
    valid and invalid requests to every operation: no 5xx, no answer outside the spec."""
    st = shutil.which("st") or str(Path(sys.executable).with_name("st"))
    if not Path(st).exists():
        pytest.skip("schemathesis is not installed (pip install 'sentiq[dev]')")
    command = [
        st,
        "run",
        f"{server}/openapi.json",
        "--checks",
        FUZZ_CHECKS,
        "--max-examples",
        "20",
        "--workers",
        "1",
        "--seed",
        "7",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    predict_calls = dict(name="sentiq_request_latency_seconds_count", endpoint="/v1/predict")
    before = metric(httpx.get(f"{server}/metrics").text, **predict_calls)
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)  # its cache goes there
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"Tested:\s+4\b", result.stdout), result.stdout[-2000:]
    assert metric(httpx.get(f"{server}/metrics").text, **predict_calls) - before >= 20  # it really was exercised


# --- the try-it page in a real headless browser --------------------------------------


def test_page_shows_the_label_of_a_typed_sentence(server, predictor):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (CI installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    sentence = "I really love this great movie"
    expected = predictor.predict([sentence])[0]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            violations = []
            page.on(
                "console",
                lambda msg: (
                    violations.append(msg.text)
                    if "Content Security Policy" in msg.text or "Refused" in msg.text
                    else None
                ),
            )
            page.goto(f"{server}/")
            page.fill("#text", sentence)
            page.click("#go")
            page.wait_for_selector("#result:not(.hidden)", timeout=20_000)
            assert page.text_content("#label") == expected.label
            bars = page.locator("#bars .row")
            assert bars.count() == len(expected.scores)
            top = page.get_attribute("#bars .row.top", "data-label")
            assert top == expected.label
            assert "toy@" in page.text_content("#model")
            # "explain" is ticked by default: the words of the sentence come back shaded
            page.wait_for_selector("#explained:not(.hidden)", timeout=20_000)
            assert page.text_content("#words") == sentence
            shaded = page.locator("#words .hl")
            assert shaded.count() >= 1
            assert set(shaded.all_text_contents()) <= set(sentence.split())
            assert page.locator("#words .hl.for").count() + page.locator("#words .hl.against").count() == shaded.count()
            assert "support the prediction" in page.text_content("#wordsnote")  # legend reads the right way round
            # emoji and other characters outside the BMP: the page slices by UTF-16 offsets (issue 15, 11)
            emoji = "😍😍 Loved it, a great film! 𝒜 ok"
            page.fill("#text", emoji)
            page.click("#go")
            _wait_for(lambda: "Loved" in page.text_content("#words"))  # (wait_for_function's eval: barred by the CSP)
            assert page.text_content("#words") == emoji
            spans = page.locator("#words span").all_text_contents()
            assert "\ufffd" not in "".join(spans) and {"Loved", "film", "ok"} <= set(spans), spans
            assert not violations, violations  # the page works under its Content-Security-Policy
            page.uncheck("#explain")  # and without it, no explanation is asked for or shown
            page.fill("#text", "the plot was awful and boring")
            page.click("#go")
            page.wait_for_selector("#explained.hidden", state="attached", timeout=20_000)
        finally:
            browser.close()


@pytest.mark.slow
def test_serve_command_with_two_workers(trained_model, tmp_path, predictor):
    """`sentiq serve` end to end in its own process: workers rebuild the settings from SENTIQ_*."""
    with serve_command(
        trained_model,
        "--workers",
        "2",
        "--request-log",
        str(tmp_path / "requests-{pid}.jsonl"),
        env={"SENTIQ_MAX_TEXTS": "2"},
    ) as base:
        for _ in range(6):  # whichever worker answers has the same settings and model
            response = httpx.post(f"{base}/v1/predict", json={"texts": TEXTS[:2]})
            assert response.status_code == 200
            assert_same(response.json()["predictions"][0], predictor.predict(TEXTS[:1])[0])
            assert httpx.post(f"{base}/v1/predict", json={"texts": TEXTS[:3]}).status_code == 422
    logs = list(tmp_path.glob("requests-*.jsonl"))
    assert logs and sum(len(read_records(p)) for p in logs) == 12


# --- issue 15: concurrency, bounded cost, shedding, cancellation ----------------------


def test_explanations_do_not_break_concurrent_predictions(server):
    """Integrated gradients once hooked the shared embedding layer: plain predictions sent while
    an explanation ran got 500s or dropped connections (issue 15, defect 1)."""
    long_text = " ".join(TEXTS * 6)

    async def fire():
        async with httpx.AsyncClient(base_url=server, timeout=120) as client:

            async def explain():
                return [
                    await client.post("/v1/predict", json={"texts": [long_text] * 4, "explain": True}) for _ in range(3)
                ]

            async def plain(i):
                await asyncio.sleep(0.002 * i)
                return await client.post("/v1/predict", json={"texts": [TEXTS[i % 4], long_text]})

            # two explaining clients: the default SENTIQ_MAX_EXPLAIN_QUEUE, so none of them is shed (429)
            return await asyncio.gather(
                *(explain() for _ in range(2)), *(plain(i) for i in range(120)), return_exceptions=True
            )

    results = asyncio.run(fire())
    flat = [r for item in results for r in (item if isinstance(item, list) else [item])]
    failures = [
        r if isinstance(r, Exception) else f"{r.status_code}: {r.text[:200]}"
        for r in flat
        if isinstance(r, Exception) or r.status_code != 200
    ]
    assert not failures, failures[:5]


def _gate(app, attribute: str):
    """Makes the service's model call (``_predict``) or explanation wait until the returned event is set."""
    service, gate = app.state.service, threading.Event()
    original = getattr(service, attribute)

    def gated(*args):
        assert gate.wait(60)
        return original(*args)

    setattr(service, attribute, gated)
    if attribute == "_predict":
        service.batcher._predict = gated
    return gate


def _metrics(base: str) -> str:
    return httpx.get(f"{base}/metrics").text


def _wait_for(condition, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _raw_request(port: int, body: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    return sock


def test_work_of_disconnected_clients_is_dropped_and_counted(trained_model):
    """The batcher's 'client gone' check never fired: abandoned requests were computed and logged."""
    gates = {}
    with live_server(
        lambda app: gates.setdefault("predict", _gate(app, "_predict")), model_dir=trained_model, batching=False
    ) as base:
        assert wait_ready(base).status_code == 200
        port = int(base.rsplit(":", 1)[1])
        before = _metrics(base)
        holder = _raw_request(port, json.dumps({"texts": ["holds the model thread"]}).encode())
        time.sleep(0.3)
        gone = [_raw_request(port, json.dumps({"texts": [f"abandoned {i}", "x"]}).encode()) for i in range(5)]
        time.sleep(0.3)
        for sock in gone:
            sock.close()
        _wait_for(
            lambda: (
                metric(_metrics(base), "sentiq_requests_total", endpoint="/v1/predict", method="POST", status="499")
                >= 5
            )
        )  # noticed while still queued, before the model ran
        gates["predict"].set()
        assert holder.recv(65536).startswith(b"HTTP/1.1 200")
        holder.close()
        _wait_for(lambda: metric(_metrics(base), "sentiq_client_gone_total", stage="queued") >= 5)
        after = _metrics(base)
        computed = metric(after, "sentiq_batch_texts_sum") - metric(before, "sentiq_batch_texts_sum")
        assert computed == 1, "texts of clients that had gone were still run through the model"
        assert httpx.post(f"{base}/v1/predict", json={"texts": ["still serving"]}).status_code == 200


def test_a_full_queue_sheds_requests_with_429_and_retry_after(trained_model):
    gates = {}
    with live_server(
        lambda app: gates.setdefault("predict", _gate(app, "_predict")),
        model_dir=trained_model,
        batching=False,
        max_queue_texts=4,
    ) as base:
        assert wait_ready(base).status_code == 200

        async def scenario():
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                first = asyncio.ensure_future(client.post("/v1/predict", json={"texts": ["holds the thread"]}))
                await asyncio.sleep(0.3)
                queued = [
                    asyncio.ensure_future(client.post("/v1/predict", json={"texts": [f"queued {i}"]})) for i in range(4)
                ]
                await asyncio.sleep(0.3)
                shed = await client.post("/v1/predict", json={"texts": ["one too many"]})
                gates["predict"].set()
                return shed, await first, await asyncio.gather(*queued)

        shed, first, queued = asyncio.run(scenario())
        assert shed.status_code == 429, shed.text
        assert int(shed.headers["retry-after"]) >= 1 and "busy" in shed.json()["detail"]
        assert first.status_code == 200 and all(r.status_code == 200 for r in queued)
        text = _metrics(base)
        assert metric(text, "sentiq_shed_requests_total", reason="queue_full") == 1
        assert metric(text, "sentiq_errors_total", endpoint="/v1/predict", status="429") == 1
        spec = httpx.get(f"{base}/openapi.json").json()["paths"]["/v1/predict"]["post"]["responses"]
        assert "Retry-After" in spec["429"]["headers"]


def test_explanations_have_a_budget_a_queue_limit_and_a_deadline(trained_model):
    gates = {}
    with live_server(
        lambda app: gates.setdefault("explain", _gate(app, "explain")),
        model_dir=trained_model,
        explain_max_tokens=6,
        explain_steps=4,
        max_explain_queue=1,
        explain_timeout_s=1.5,
    ) as base:
        assert wait_ready(base).status_code == 200

        async def scenario():
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                waiting = asyncio.ensure_future(client.post("/v1/predict", json={"texts": ["good"], "explain": True}))
                await asyncio.sleep(0.4)
                busy = await client.post("/v1/predict", json={"texts": ["good"], "explain": True})
                plain = await client.post("/v1/predict", json={"texts": ["good"]})  # predictions go on meanwhile
                return await waiting, busy, plain

        timed_out, busy, plain = asyncio.run(scenario())
        assert busy.status_code == 429 and int(busy.headers["retry-after"]) >= 1
        assert plain.status_code == 200
        assert timed_out.status_code == 503 and int(timed_out.headers["retry-after"]) >= 1
        assert "SENTIQ_EXPLAIN_TIMEOUT_S" in timed_out.json()["detail"]
        gates["explain"].set()
        _wait_for(
            lambda: httpx.post(f"{base}/v1/predict", json={"texts": ["good"], "explain": True}).status_code == 200
        )
        # the token budget: a long text is explained on its first tokens only, the rest weigh 0
        long_text = " ".join(["wonderful"] * 200)
        response = httpx.post(f"{base}/v1/predict", json={"texts": [long_text] * 8, "explain": True})
        assert response.status_code == 200
        for prediction in response.json()["predictions"]:
            weights = [w["weight"] for w in prediction["explanation"]]
            assert len(weights) == 200 and sum(w != 0 for w in weights) <= 6
        text = _metrics(base)
        assert metric(text, "sentiq_shed_requests_total", reason="explain_busy") == 1
        assert metric(text, "sentiq_shed_requests_total", reason="explain_timeout") == 1


def test_slow_headers_are_timed_out(trained_model):
    with live_server(model_dir=trained_model, header_timeout_s=0.5) as base:
        port = int(base.rsplit(":", 1)[1])
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\n")  # ... and never the rest
        silent = socket.create_connection(("127.0.0.1", port), timeout=10)
        start = time.monotonic()
        answer = slow.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408") and slow.recv(4096) == b""  # then closed
        assert silent.recv(4096) in (b"", answer)  # a connection that sends nothing is closed too
        assert silent.recv(4096) == b""
        assert time.monotonic() - start < 5
        slow.close(), silent.close()
        assert httpx.get(f"{base}/health").status_code == 200  # a normal client is not affected


def test_request_log_with_raw_text_is_private_whatever_the_umask(trained_model, tmp_path):
    path = tmp_path / "private.jsonl"
    old = os.umask(0)
    try:
        with live_server(model_dir=trained_model, request_log=path, request_log_text=True) as base:
            wait_ready(base)
            assert httpx.post(f"{base}/v1/predict", json={"texts": ["so boring"]}).status_code == 200
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_api_key_in_the_query_string_stays_out_of_the_access_log(trained_model):
    import logging

    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    with live_server(model_dir=trained_model, api_key=KEY, uvicorn_access_log=True) as base:
        wait_ready(base)
        handler = Keep()
        logging.getLogger("uvicorn.access").addHandler(handler)
        try:
            answer = httpx.post(f"{base}/v1/predict?api_key={KEY}&x_api_key={KEY}", json={"texts": ["good"]})
        finally:
            logging.getLogger("uvicorn.access").removeHandler(handler)
    assert answer.status_code == 401  # the query string is not a way to authenticate
    assert records and all(KEY not in line for line in records), records
    assert any("/v1/predict?api_key=[redacted]" in line for line in records), records


def test_docs_are_served_locally_with_security_headers_and_a_favicon(server):
    for path in ("/docs", "/redoc"):
        page = httpx.get(f"{server}{path}")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and not [a for a in assets if "://" in a or a.startswith("//")], assets  # no CDN
        for asset in assets:
            assert httpx.get(f"{server}/{asset.lstrip('/')}").status_code == 200, asset
    for path in ("/", "/docs", "/health", "/openapi.json"):
        headers = httpx.get(f"{server}{path}").headers
        assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
    assert "'unsafe-inline'" not in httpx.get(f"{server}/").headers["content-security-policy"]
    icon = httpx.get(f"{server}/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_the_schema_states_the_explain_limit_and_the_blank_rule(server):
    from sentiq.serving.schemas import TEXT_PATTERN

    spec = httpx.get(f"{server}/openapi.json").json()
    request = spec["components"]["schemas"]["PredictRequest"]
    assert request["then"]["properties"]["texts"]["anyOf"][1]["maxItems"] == 8  # if explain is true
    assert "at most 8 with explain=true" in request["properties"]["texts"]["description"]
    pattern = request["properties"]["texts"]["anyOf"][0]["pattern"]
    assert pattern == TEXT_PATTERN
    for text in ["\x1e", "\x1f", "\x00", "\u200b", "\ufeff", "\u2060", " \t", "\x85", "\u3000"]:
        assert not re.search(pattern, text)  # the schema calls it blank ...
        assert (
            httpx.post(f"{server}/v1/predict", json={"texts": [text]}).status_code == 422
        )  # ... and so does the service
    for text in ["a", "😍", "好", "\u00e9"]:
        assert re.search(pattern, text)
        assert httpx.post(f"{server}/v1/predict", json={"texts": [text]}).status_code == 200


def test_explanation_offsets_in_code_points_and_utf16(server):
    text = "😍😍 Loved it, a great film! 𝒜 ok"
    response = httpx.post(f"{server}/v1/predict", json={"texts": [text], "explain": True})
    assert response.status_code == 200
    prediction = response.json()["predictions"][0]
    explained = prediction["explained_text"]
    units = explained.encode("utf-16-le")
    words = prediction["explanation"]
    assert {"Loved", "film", "ok"} <= {w["word"] for w in words}
    for w in words:
        assert explained[w["start"] : w["end"]] == w["word"]  # code points (Python)
        assert units[2 * w["start_utf16"] : 2 * w["end_utf16"]].decode("utf-16-le") == w["word"]  # UTF-16 (JavaScript)
    assert any(w["start_utf16"] != w["start"] for w in words)


@pytest.mark.slow
def test_load_test_sheds_with_429_and_answers_no_5xx(trained_model, tmp_path):
    """benchmarks/load_test.py against `sentiq serve` with a small queue: shed requests are counted
    as 429s, every other answer is a 200 (the script exits 1 on any 5xx or dropped connection)."""
    root = Path(__file__).resolve().parents[1]
    texts = tmp_path / "texts.csv"
    texts.write_text("text\n" + "\n".join(f'"{t} {i}"' for i, t in enumerate(TEXTS * 10)) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    command = [
        sys.executable,
        str(root / "benchmarks" / "load_test.py"),
        "--model",
        str(trained_model),
        "--texts",
        str(texts),
        "--concurrency",
        "1,32",
        "--requests",
        "96",
        "--max-seconds",
        "60",
        "--max-queue-texts",
        "4",
        "--modes",
        "on",
        "--out",
        str(tmp_path / "load_test.json"),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = json.loads((tmp_path / "load_test.json").read_text())["rows"]
    assert all(row["errors"] == 0 and row["errors_5xx"] == 0 for row in rows)
    assert rows[-1]["shed_429"] > 0 and rows[-1]["ok"] > 0  # 32 clients against a 4-text queue: some shed
