"""The REST service: ``create_app(settings)`` builds a FastAPI app serving one model directory.

Endpoints: ``POST /v1/predict`` (with ``"explain": true``, word weights per prediction), ``GET /health``, ``GET /ready``, ``GET /metrics``,
``GET /`` (a page to try the model) and the OpenAPI docs at ``/docs``. The model loads
once per process, in a background thread at start-up (``/ready`` answers 503 until it is
loaded); predictions go through the :class:`~sentiq.serving.microbatch.MicroBatcher`.
"""

import asyncio
import json
import logging
import re
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from typing import Optional

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException

from sentiq.errors import ModelError
from sentiq.serving.microbatch import MicroBatcher
from sentiq.serving.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from sentiq.serving.requestlog import RequestLog, build_records
from sentiq.serving.schemas import (ErrorResponse, ExplainedWord, Health, PredictResponse, Ready, TextPrediction,
                                    ValidationErrorResponse, request_model)
from sentiq.serving.settings import ServeSettings

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# A prediction that arrives while its worker still loads the model waits this long for it
# (several workers share one socket, so a request can reach a worker that is not ready yet).
LOAD_WAIT_S = 120.0
ROUTES = ("/v1/predict", "/health", "/ready", "/metrics", "/", "/docs", "/openapi.json")


class Service:
    """What the endpoints share: settings, the predictor (once loaded), batcher, metrics, log."""

    def __init__(self, settings: ServeSettings):
        self.settings = settings
        self.predictor = None
        self.model_name = settings.model_name or ""
        self.load_error: Optional[str] = None
        self.metrics = ServiceMetrics()
        self.batcher = MicroBatcher(self._predict, max_batch_size=settings.max_batch_size,
                                    max_wait_ms=settings.max_wait_ms, enabled=settings.batching,
                                    on_batch=self.metrics.batch_texts.observe)
        # Explanations run in their own thread, one at a time: never on the event loop, and a slow
        # one (integrated gradients) does not hold up the batched predictions of other requests.
        self.explainer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentiq-explain")
        self.request_log: Optional[RequestLog] = None
        self.loaded: Optional[asyncio.Event] = None  # set when loading ends, either way

    def _predict(self, texts: list[str]) -> list:
        return self.predictor.predict(texts)

    def explain(self, texts: list[str], labels: list[str]) -> list:
        """Blocking: the explanation of each text towards the label the service predicted for it."""
        return [self.predictor.explain(text, target=label) for text, label in zip(texts, labels)]

    def _load(self) -> None:
        from sentiq.inference import Predictor  # heavy (torch); imported where it is needed

        predictor = Predictor.load(self.settings.model_dir)
        if not self.model_name:
            manifest = predictor.manifest
            name = (manifest.config or {}).get("name") or self.settings.model_dir.name
            self.model_name = f"{name}@{manifest.created}"
        self.predictor = predictor

    async def load(self) -> None:
        try:
            await asyncio.to_thread(self._load)
        except Exception as exc:  # noqa: BLE001 - reported by /ready and the log, the process stays up
            self.load_error = str(exc)
            log.exception("could not load the model from %s", self.settings.model_dir)
        else:
            self.metrics.ready.set(1)
            log.info("model %s loaded from %s", self.model_name, self.settings.model_dir)
        finally:
            self.loaded.set()

    async def wait_until_loaded(self) -> bool:
        """True once the model is there; False when loading failed or takes over LOAD_WAIT_S."""
        if not self.ready and self.load_error is None:
            try:
                await asyncio.wait_for(self.loaded.wait(), LOAD_WAIT_S)
            except asyncio.TimeoutError:
                return False
        return self.ready

    @property
    def ready(self) -> bool:
        return self.predictor is not None

    async def start(self) -> None:
        self.loaded = asyncio.Event()
        if self.settings.request_log:
            self.request_log = RequestLog(self.settings.request_log, max_bytes=self.settings.request_log_max_bytes,
                                          backups=self.settings.request_log_backups)
        await self.batcher.start()

    async def stop(self) -> None:
        await self.batcher.stop()
        self.explainer.shutdown(wait=True, cancel_futures=True)
        if self.request_log:
            self.request_log.close()


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413 before the app sees it."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large(send)
        chunks, size, more = [], 0, True
        while more:  # read (and bound) the whole body, also when it comes chunked without a length
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._too_large(send)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send) -> None:
        body = json.dumps({"detail": f"request body is larger than {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class Instrument:
    """ASGI middleware: counts and times every request for /metrics (413s included)."""

    def __init__(self, app, metrics: ServiceMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # Unknown paths share one label so random URLs cannot blow up the series count.
            endpoint = scope["path"] if scope["path"] in ROUTES else "other"
            self.metrics.observe_request(endpoint, scope["method"], status, time.perf_counter() - start)


def _request_id(request: Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _key_checker(settings: ServeSettings):
    """A dependency answering 401 unless the X-API-Key header holds the configured key."""
    header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                          description="The service's API key (required when SENTIQ_API_KEY is set).")
    expected = settings.api_key.get_secret_value().encode("utf-8", "surrogateescape") if settings.api_key else None

    async def check(key: Optional[str] = Depends(header)) -> None:
        if expected is None:
            return
        if key is None or not secrets.compare_digest(key.encode("utf-8", "surrogateescape"), expected):
            raise HTTPException(401, "missing or wrong API key (send it in the X-API-Key header)",
                                headers={"WWW-Authenticate": API_KEY_HEADER})

    return check


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # The default answer echoes every input back (up to a megabyte); this one names the problems only.
    details = [{"loc": [str(p) if not isinstance(p, int) else p for p in err["loc"]], "msg": err["msg"],
                "type": err["type"]} for err in exc.errors()]
    message = "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in details) or "invalid request"
    return JSONResponse({"message": message, "detail": details}, status_code=422)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # FastAPI's answer to a body that is not UTF-8; malformed JSON is a 422, so this is one too.
        detail = {"loc": ["body"], "msg": "the body is not valid JSON in UTF-8", "type": "json_invalid"}
        return JSONResponse({"message": f"body: {detail['msg']}", "detail": [detail]}, status_code=422)
    return await http_exception_handler(request, exc)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s: %r", request.url.path, exc)
    return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)


def _page(settings: ServeSettings) -> str:
    html = resources.files("sentiq.serving").joinpath("page.html").read_text(encoding="utf-8")
    return html.replace("__AUTH_REQUIRED__", "true" if settings.api_key else "false")


def create_app(settings: ServeSettings) -> FastAPI:
    """A FastAPI app serving ``settings.model_dir``; the model loads when the app starts."""
    if not settings.model_dir.is_dir():
        raise ModelError(f"model directory {settings.model_dir} does not exist")
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await service.start()
        loading = asyncio.create_task(service.load())
        try:
            yield
        finally:
            loading.cancel()
            await service.stop()

    app = FastAPI(title="sentiq", version="1", lifespan=lifespan,
                  description="Sentiment predictions from one sentiq model directory.")
    app.state.service = service
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
    auth = [Depends(_key_checker(settings))] if settings.api_key else []
    PredictRequest = request_model(max_texts=settings.max_texts, max_chars=settings.max_chars,
                                   max_explain_texts=settings.max_explain_texts)
    errors = {401: {"model": ErrorResponse, "description": "Missing or wrong API key."}} if auth else {}
    errors.update({413: {"model": ErrorResponse, "description": f"Body over {settings.max_body_bytes} bytes."},
                   422: {"model": ValidationErrorResponse, "description": "Invalid request (the message says why)."},
                   503: {"model": ErrorResponse, "description": "The model failed to load (or is still loading after a long wait)."}})

    @app.post("/v1/predict", response_model=PredictResponse, dependencies=auth, responses=errors,
              response_model_exclude_none=True, summary="Classify one or many texts (optionally explained)")
    async def predict(body: PredictRequest, request: Request, response: Response) -> PredictResponse:
        start = time.perf_counter()
        request_id = _request_id(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        if not await service.wait_until_loaded():
            raise HTTPException(503, "the model is not loaded; see /ready", headers={REQUEST_ID_HEADER: request_id})
        texts = body.texts
        predictions = await service.batcher.submit(texts)
        latency_ms = (time.perf_counter() - start) * 1000
        for pred in predictions:
            service.metrics.predictions.labels(pred.label).inc()
        if service.request_log:
            service.request_log.write(build_records(texts, predictions, model=service.model_name,
                                                    request_id=request_id, latency_ms=latency_ms,
                                                    include_text=settings.request_log_text))
        items = [TextPrediction(label=p.label, score=p.score, scores=p.scores) for p in predictions]
        if body.explain:
            explanations = await asyncio.get_running_loop().run_in_executor(
                service.explainer, service.explain, texts, [p.label for p in predictions])
            for item, e in zip(items, explanations):
                item.explained_text, item.explanation_method = e.text, e.method
                item.explanation = [ExplainedWord(word=w.word, weight=w.weight, start=w.start, end=w.end)
                                    for w in e.words]
        return PredictResponse(model=service.model_name, request_id=request_id, predictions=items)

    @app.get("/health", response_model=Health, summary="The process is alive")
    async def health() -> Health:
        return Health()

    @app.get("/ready", response_model=Ready, summary="The model is loaded",
             responses={503: {"model": ErrorResponse, "description": "Still loading, or the load failed."}})
    async def ready():
        if not service.ready:
            detail = f"model failed to load: {service.load_error}" if service.load_error else "model is loading"
            return JSONResponse({"detail": detail}, status_code=503)
        return Ready(status="ready", model=service.model_name, labels=service.predictor.labels)

    @app.get("/metrics", dependencies=auth, summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                              "description": "Prometheus text format."}, **{k: v for k, v in errors.items() if k == 401}})
    async def metrics() -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    page = _page(settings)

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    # The middleware added last runs first: Instrument wraps BodyLimit, so 413s are counted too.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Instrument, metrics=service.metrics)
    return app


def create_app_from_env() -> FastAPI:
    """The uvicorn factory for worker processes: settings from the ``SENTIQ_*`` variables."""
    return create_app(ServeSettings.from_env())


def run(settings: ServeSettings) -> None:
    """Serve with uvicorn (blocks). Several workers each build the app from the environment."""
    import os

    import uvicorn

    from sentiq.models.integrity import verify_directory

    verify_directory(settings.model_dir)  # a wrong path or damaged folder fails now (E300/E310), not in every worker
    options = dict(host=settings.host, port=settings.port, access_log=settings.access_log, log_level="info")
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    os.environ.update(settings.to_env())
    uvicorn.run("sentiq.serving.app:create_app_from_env", factory=True, workers=settings.workers, **options)
