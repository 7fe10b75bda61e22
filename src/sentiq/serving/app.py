"""The REST service: ``create_app(settings)`` builds a FastAPI app serving one model directory.

Endpoints: ``POST /v1/predict`` (with ``"explain": true``, word weights per prediction), ``GET /health``, ``GET /ready``, ``GET /metrics``,
``GET /`` (a page to try the model) and the OpenAPI docs at ``/docs``. The model loads
once per process, in a background thread at start-up (``/ready`` answers 503 until it is
loaded); predictions go through the :class:`~sentiq.serving.microbatch.MicroBatcher`.
"""

import asyncio
import base64
import hashlib
import json
import logging
import math
import re
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from typing import Optional

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from sentiq.allocator import malloc_trim
from sentiq.errors import Errors, ModelError
from sentiq.serving.metrics import CONTENT_TYPE_LATEST, ServiceMetrics, shared_metrics_dir
from sentiq.serving.microbatch import MicroBatcher, QueueFull
from sentiq.serving.requestlog import RequestLog, build_records
from sentiq.serving.schemas import (
    ErrorResponse,
    ExplainedWord,
    Health,
    PredictResponse,
    Ready,
    TextPrediction,
    ValidationErrorResponse,
    request_model,
)
from sentiq.serving.settings import ServeSettings

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# A prediction that arrives while its worker still loads the model waits this long for it
# (several workers share one socket, so a request can reach a worker that is not ready yet).
LOAD_WAIT_S = 120.0
ROUTES = ("/v1/predict", "/health", "/ready", "/metrics", "/", "/docs", "/redoc", "/openapi.json", "/favicon.ico")
# Status of a request whose client went away before its answer (nginx's convention); only metrics see it.
CLIENT_GONE = 499
# Options of each explanation method under the service's budget (settings -> the method's keywords).
_EXPLAIN_BUDGET = {
    "integrated-gradients": lambda s: {
        "n_steps": s.explain_steps,
        "max_tokens": s.explain_max_tokens,
        "internal_batch_size": min(s.explain_steps, 8),
    },
    "occlusion": lambda s: {"max_words": s.explain_max_tokens},
}


# The metrics' label for texts that got no prediction (empty after preprocessing, unsupported language).
UNSCORED = "none"


def _text_prediction(pred) -> TextPrediction:
    """The response item: label/score/scores always present (null when not scored); routing fields, the
    note and the warning only when they say something."""
    extra = {
        key: value
        for key, value in (
            ("language", pred.language),
            ("model", pred.model),
            ("note", pred.note),
            ("warning", pred.warning),
        )
        if value is not None
    }
    return TextPrediction(label=pred.label, score=pred.score, scores=pred.scores, **extra)


def runs_on_gpu(model) -> bool:
    """Whether a loaded model computes on a GPU (a CUDA torch device, or a CUDA ONNX Runtime provider)."""
    device = getattr(model, "device", None)
    if getattr(device, "type", None) == "cuda":
        return True
    session = getattr(model, "session", None)
    return session is not None and "CUDAExecutionProvider" in session.get_providers()


class ExplainTimeout(Exception):
    """The request's explanations did not finish within ``explain_timeout_s``."""


class Service:
    """What the endpoints share: settings, the predictor (once loaded), batcher, metrics, log."""

    def __init__(self, settings: ServeSettings):
        self.settings = settings
        self.predictor = None
        self.model_name = settings.model_name or ""
        self.load_error: Optional[str] = None
        self.metrics = ServiceMetrics()
        self.batcher = MicroBatcher(
            self._predict,
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
            enabled=settings.batching is True,
            on_batch=self.metrics.batch_texts.observe,
            max_queue_texts=settings.max_queue_texts,
            on_dropped=lambda n: self.metrics.client_gone.labels("queued").inc(),
        )
        # Explanations run in their own thread, one at a time: never on the event loop, and a slow
        # one (integrated gradients) does not hold up the batched predictions of other requests.
        # They never modify the model (sentiq.explanations.gradients), so both threads may use it at once.
        self.explainer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentiq-explain")
        self.explaining = 0  # requests with explain=true admitted and not finished (bounded: max_explain_queue)
        self._trim = malloc_trim()
        self.request_log: Optional[RequestLog] = None
        self.loaded: Optional[asyncio.Event] = None  # set when loading ends, either way

    def _predict(self, texts: list[str]) -> list:
        # A text the model's preprocessing empties (a bare URL, "//@user:") gets label null and a note,
        # as in the CLI and the Python API: the model would only answer noise for it.
        return self.predictor.predict(texts, on_empty="null")

    def explain_options(self) -> dict:
        from sentiq.explanations import default_method

        method = default_method(self.predictor.manifest.approach)
        budget = _EXPLAIN_BUDGET.get(method)
        return budget(self.settings) if budget else {}

    def explain(self, texts: list[str], labels: list[str], deadline: float, cancelled: threading.Event) -> list:
        """Blocking: the explanation of each text towards the label the service predicted for it, under the
        service's budget; stops between texts once the client has gone or the deadline has passed."""
        options, explanations = self.explain_options(), []
        try:
            for text, label in zip(texts, labels):
                if cancelled.is_set():
                    return []
                if time.monotonic() > deadline:
                    raise ExplainTimeout()
                explanations.append(self.predictor.explain(text, target=label, **options))
        finally:
            self._trim(0)  # gradients' buffers: give them back, or the process keeps its peak for good
        return explanations

    def _load(self) -> None:
        from sentiq.inference import Predictor  # heavy (torch); imported where it is needed

        predictor = Predictor.load(self.settings.model_dir)
        if not self.model_name:
            manifest = predictor.manifest
            name = (manifest.config or {}).get("name") or self.settings.model_dir.name
            self.model_name = f"{name}@{manifest.created}"
        if self.settings.batching == "auto":
            self.batcher.enabled = runs_on_gpu(predictor.model)
            log.info(
                "micro-batching %s (auto: the model runs on the %s)",
                "on" if self.batcher.enabled else "off",
                "GPU" if self.batcher.enabled else "CPU",
            )
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
            self.request_log = RequestLog(
                self.settings.request_log,
                max_bytes=self.settings.request_log_max_bytes,
                backups=self.settings.request_log_backups,
                private=self.settings.request_log_text,
            )
        access = logging.getLogger("uvicorn.access")  # configured by uvicorn by now, in this process
        if not any(isinstance(f, RedactQuery) for f in access.filters):
            access.addFilter(RedactQuery())
        await self.batcher.start()

    async def stop(self) -> None:
        await self.batcher.stop()
        self.explainer.shutdown(wait=True, cancel_futures=True)
        if self.request_log:
            self.request_log.close()
        self.metrics.close()


class RedactQuery(logging.Filter):
    """Blanks query-string values in uvicorn's access log: no endpoint takes any, and one that a client
    adds anyway (``?api_key=...``) must not land in the log."""

    _VALUE = re.compile(r"=[^&]*")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            path, query = args[2].split("?", 1)
            record.args = (*args[:2], f"{path}?{self._VALUE.sub('=[redacted]', query)}", *args[3:])
        return True


def _is_utf8(body: bytes) -> bool:
    # A NUL byte is never valid in JSON text (escaped in strings, not white space outside), and it is what
    # UTF-16/32 without a BOM look like, which Python's json.loads(bytes) would otherwise detect and accept.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in body


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413, and one that is not UTF-8
    (a UTF-16 JSON document, say, which Python's JSON parser would accept) 422, before the app sees it."""

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
        if not _is_utf8(b"".join(chunks)):
            return await self._not_utf8(send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send) -> None:
        await self._answer(send, 413, {"detail": f"request body is larger than {self.max_bytes} bytes"})

    async def _not_utf8(self, send) -> None:
        detail = {"loc": ["body"], "msg": "the body is not valid JSON in UTF-8", "type": "json_invalid"}
        await self._answer(send, 422, {"message": f"body: {detail['msg']}", "detail": [detail]})

    @staticmethod
    async def _answer(send, status: int, content: dict) -> None:
        body = json.dumps(content).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# Pages and API answers may not be framed (clickjacking) nor sniffed; the try-it page gets a strict CSP
# with its inline script and style allowed by hash (set by its route), the docs pages a looser one
# (Swagger UI and ReDoc inject styles), every other answer none at all.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src blob:; font-src 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """ASGI middleware: adds the headers above to every answer (a route's own CSP wins)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        docs = scope["path"] in ("/docs", "/redoc") or scope["path"].startswith("/docs-assets/")
        csp = (DOCS_CSP if docs else API_CSP).encode()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", csp))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
    header = APIKeyHeader(
        name=API_KEY_HEADER,
        auto_error=False,
        description="The service's API key (required when SENTIQ_API_KEY is set).",
    )
    expected = settings.api_key.get_secret_value().encode("utf-8", "surrogateescape") if settings.api_key else None

    async def check(key: Optional[str] = Depends(header)) -> None:
        if expected is None:
            return
        if key is None or not secrets.compare_digest(key.encode("utf-8", "surrogateescape"), expected):
            raise HTTPException(
                401,
                "missing or wrong API key (send it in the X-API-Key header)",
                headers={"WWW-Authenticate": API_KEY_HEADER},
            )

    return check


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # The default answer echoes every input back (up to a megabyte); this one names the problems only.
    details = [
        {"loc": [str(p) if not isinstance(p, int) else p for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]
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


def _page(settings: ServeSettings) -> tuple[str, str]:
    """The try-it page and its Content-Security-Policy (its one inline script and style allowed by hash)."""
    html = resources.files("sentiq.serving").joinpath("page.html").read_text(encoding="utf-8")
    html = html.replace("__AUTH_REQUIRED__", "true" if settings.api_key else "false")

    def digest(tag: str) -> str:
        (body,) = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
        return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode() + "'"

    csp = (
        f"default-src 'none'; script-src {digest('script')}; style-src {digest('style')}; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return html, csp


def _utf16_offsets(text: str) -> list[int]:
    """``offsets[i]``: the UTF-16 code-unit index of code point ``i`` of ``text`` (and of its end)."""
    offsets, at = [0], 0
    for char in text:
        at += 2 if ord(char) > 0xFFFF else 1
        offsets.append(at)
    return offsets


async def _client_gone(request: Request) -> None:
    """Returns once the client has disconnected. The body is read by now, so the next ASGI message is
    ``http.disconnect`` (when the client goes, or when the answer is complete: cancel this watch first)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _unless_client_leaves(request: Request, work):
    """Awaits ``work`` (a coroutine); if the client disconnects first, cancels it and returns None."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_client_gone(request))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
    if task.done():
        return task.result()
    task.cancel()  # a queued prediction is dropped before its batch runs (MicroBatcher skips it)
    return None


def _retry_after(seconds: float) -> dict:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def create_app(settings: ServeSettings) -> FastAPI:
    """A FastAPI app serving ``settings.model_dir``; the model loads when the app starts."""
    if not settings.model_dir.is_dir():
        raise ModelError(Errors.E342, directory=settings.model_dir)
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

    app = FastAPI(
        title="sentiq",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Sentiment predictions from one sentiq model directory.",
    )
    app.state.service = service
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
    auth = [Depends(_key_checker(settings))] if settings.api_key else []
    PredictRequest = request_model(
        max_texts=settings.max_texts, max_chars=settings.max_chars, max_explain_texts=settings.max_explain_texts
    )
    errors = {401: {"model": ErrorResponse, "description": "Missing or wrong API key."}} if auth else {}
    retry = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}
    errors.update(
        {
            413: {"model": ErrorResponse, "description": f"Body over {settings.max_body_bytes} bytes."},
            422: {"model": ValidationErrorResponse, "description": "Invalid request (the message says why)."},
            429: {
                "model": ErrorResponse,
                "headers": retry,
                "description": f"Overloaded: over {settings.max_queue_texts} texts waiting for the model, or "
                f"{settings.max_explain_queue} requests with explain=true in progress.",
            },
            503: {
                "model": ErrorResponse,
                "headers": retry,
                "description": "The model failed to load (or is still loading after a long wait), or the "
                f"explanations took over {settings.explain_timeout_s:g} s.",
            },
        }
    )

    async def explain_items(items: list[TextPrediction], texts: list[str], labels: list[str], request: Request) -> bool:
        """Adds the explanations to ``items``; False when the client went away meanwhile."""
        if service.explaining >= settings.max_explain_queue:
            service.metrics.shed.labels("explain_busy").inc()
            raise HTTPException(
                429,
                f"{service.explaining} explanations are in progress (limit "
                f"{settings.max_explain_queue}); retry later or send explain=false",
                headers=_retry_after(settings.explain_timeout_s / settings.max_explain_queue),
            )
        service.explaining += 1
        cancelled = threading.Event()
        deadline = time.monotonic() + settings.explain_timeout_s
        work = asyncio.get_running_loop().run_in_executor(
            service.explainer, service.explain, texts, labels, deadline, cancelled
        )
        try:
            explanations = await asyncio.wait_for(
                _unless_client_leaves(request, asyncio.shield(work)), settings.explain_timeout_s
            )
        except (asyncio.TimeoutError, ExplainTimeout):
            cancelled.set()
            service.metrics.shed.labels("explain_timeout").inc()
            raise HTTPException(
                503,
                f"the explanations took over {settings.explain_timeout_s:g} s "
                "(SENTIQ_EXPLAIN_TIMEOUT_S); retry later, with fewer or shorter texts, "
                "or send explain=false",
                headers=_retry_after(settings.explain_timeout_s),
            ) from None
        finally:
            # The thread stops between texts once told; until then it still counts as in progress.
            work.add_done_callback(lambda _: setattr(service, "explaining", service.explaining - 1))
        if explanations is None:
            cancelled.set()
            service.metrics.client_gone.labels("explaining").inc()
            return False
        for item, e in zip(items, explanations):
            item.explained_text, item.explanation_method = e.text, e.method
            units = _utf16_offsets(e.text)
            item.explanation = [
                ExplainedWord(
                    word=w.word,
                    weight=w.weight,
                    start=w.start,
                    end=w.end,
                    start_utf16=units[w.start],
                    end_utf16=units[w.end],
                )
                for w in e.words
            ]
        return True

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        dependencies=auth,
        responses=errors,
        response_model_exclude_unset=True,
        summary="Classify one or many texts (optionally explained)",
    )
    async def predict(body: PredictRequest, request: Request, response: Response) -> PredictResponse:
        start = time.perf_counter()
        request_id = _request_id(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        if not await service.wait_until_loaded():
            raise HTTPException(503, "the model is not loaded; see /ready", headers={REQUEST_ID_HEADER: request_id})
        texts = body.texts
        try:
            predictions = await _unless_client_leaves(request, service.batcher.submit(texts))
        except QueueFull as full:
            service.metrics.shed.labels("queue_full").inc()
            raise HTTPException(
                429, str(full), headers={**_retry_after(full.retry_after), REQUEST_ID_HEADER: request_id}
            ) from None
        if predictions is None:  # the client went away: nothing computed for it, nothing logged
            return JSONResponse({"detail": "client disconnected"}, status_code=CLIENT_GONE)
        latency_ms = (time.perf_counter() - start) * 1000
        items = [_text_prediction(p) for p in predictions]
        scored = [i for i, p in enumerate(predictions) if p.label is not None]
        if (
            body.explain
            and scored
            and not await explain_items(
                [items[i] for i in scored], [texts[i] for i in scored], [predictions[i].label for i in scored], request
            )
        ):
            return JSONResponse({"detail": "client disconnected"}, status_code=CLIENT_GONE)
        for pred in predictions:
            service.metrics.predictions.labels(pred.label if pred.label is not None else UNSCORED).inc()
        if service.request_log:
            service.request_log.write(
                build_records(
                    texts,
                    predictions,
                    model=service.model_name,
                    request_id=request_id,
                    latency_ms=latency_ms,
                    include_text=settings.request_log_text,
                )
            )
        return PredictResponse(model=service.model_name, request_id=request_id, predictions=items)

    @app.get("/health", response_model=Health, summary="The process is alive")
    async def health() -> Health:
        return Health()

    @app.get(
        "/ready",
        response_model=Ready,
        summary="The model is loaded",
        responses={503: {"model": ErrorResponse, "description": "Still loading, or the load failed."}},
    )
    async def ready():
        if not service.ready:
            detail = f"model failed to load: {service.load_error}" if service.load_error else "model is loading"
            return JSONResponse({"detail": detail}, status_code=503)
        return Ready(status="ready", model=service.model_name, labels=service.predictor.labels)

    @app.get(
        "/metrics",
        dependencies=auth,
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {
                "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                "description": "Prometheus text format.",
            },
            **{k: v for k, v in errors.items() if k == 401},
        },
    )
    async def metrics() -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    page, page_csp = _page(settings)
    favicon = resources.files("sentiq.serving").joinpath("favicon.svg").read_bytes()

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": page_csp})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon_ico() -> Response:
        return Response(favicon, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})

    _add_docs(app)
    # The middleware added last runs first: Instrument wraps BodyLimit, so 413s are counted too.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(Instrument, metrics=service.metrics)
    return app


def _add_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc with their JavaScript and CSS served from this process (the
    fastapi-offline package ships them), so the docs work offline and load nothing from a CDN."""
    try:
        import fastapi_offline
    except ImportError:  # the docs pages need it; /openapi.json works without
        log.warning("fastapi-offline is not installed: /docs and /redoc are off (/openapi.json still works)")
        return
    assets = resources.files(fastapi_offline).joinpath("static")
    app.mount("/docs-assets", StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="openapi.json",
            title="sentiq - Swagger UI",
            swagger_js_url="docs-assets/swagger-ui-bundle.js",
            swagger_css_url="docs-assets/swagger-ui.css",
            swagger_favicon_url="favicon.ico",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="openapi.json",
            title="sentiq - ReDoc",
            with_google_fonts=False,
            redoc_js_url="docs-assets/redoc.standalone.js",
            redoc_favicon_url="favicon.ico",
        )


def create_app_from_env() -> FastAPI:
    """The uvicorn factory for worker processes: settings from the ``SENTIQ_*`` variables."""
    return create_app(ServeSettings.from_env())


def uvicorn_options(settings: ServeSettings) -> dict:
    """uvicorn settings that bound what one connection may cost: idle keep-alive and slow headers."""
    from functools import partial

    from sentiq.serving.protocol import HeaderTimeoutProtocol

    return {
        "http": partial(HeaderTimeoutProtocol, header_timeout=settings.header_timeout_s),
        "timeout_keep_alive": settings.keep_alive_s,
    }


def run(settings: ServeSettings) -> None:
    """Serve with uvicorn (blocks). Several workers each build the app from the environment."""
    import os

    import uvicorn

    from sentiq.models.integrity import verify_directory

    verify_directory(settings.model_dir)  # a wrong path or damaged folder fails now (E300/E310), not in every worker
    options = dict(
        host=settings.host,
        port=settings.port,
        access_log=settings.access_log,
        log_level="info",
        **uvicorn_options(settings),
    )
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    os.environ.update(settings.to_env())
    with shared_metrics_dir(settings.workers):  # /metrics adds up every worker's counts
        uvicorn.run("sentiq.serving.app:create_app_from_env", factory=True, workers=settings.workers, **options)
