"""The reward server: a FastAPI app behind a small ASGI guard, scoring in worker processes.

Endpoints:

* ``POST /score`` -- the library's protocol (:class:`~visual_rewards.serve.schemas.ScoreRequest`).
* ``POST /openrlhf`` -- OpenRLHF's remote reward-model protocol, for ``--reward.remote_url``
  (``--remote_rm_url`` before OpenRLHF's dotted options). As read in OpenRLHF's source
  (commit 3c3be62, ``openrlhf/utils/agent.py``, ``SingleTurnAgentExecutor._fetch_rewards_via_http``
  and ``execute``): the trainer POSTs ``{"query": [...], "prompts": [...], "labels": [...]}``,
  ``query`` being the prompt and response tokens decoded with ``skip_special_tokens=False``,
  retries a failed request up to 5 times, then reads ``rewards`` (``scores`` falling back to
  it) and ``extra_logs`` from the JSON object it gets back; ``openrlhf/cli/serve_rm.py`` answers
  with one list entry per query under each key, as this server does.
* ``GET /health`` -- liveness and the settings in effect; ``GET /metrics`` -- Prometheus text.

Bad input gets a 4xx with a one-line reason and never a traceback: 413 for a body over
``max_body_bytes`` (refused from its ``Content-Length`` before it is read, or as soon as a
streamed body passes the limit) or more than ``max_items`` items, 422 for a body that is not
valid JSON or not the schema, an unknown task/preset/option, or a query without its prompt.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from visual_rewards.serve.batch import (
    ItemScore,
    ItemSpec,
    QueryError,
    check_config,
    openrlhf_completion,
    openrlhf_label,
    reward_for,
)
from visual_rewards.serve.config import ServeConfig
from visual_rewards.serve.metrics import ServerMetrics
from visual_rewards.serve.pool import ScoringPool
from visual_rewards.serve.schemas import (
    ItemResult,
    OpenRLHFRequest,
    OpenRLHFResponse,
    ScoreRequest,
    ScoreResponse,
)

__all__ = ["PATHS", "create_app"]

logger = logging.getLogger("visual_rewards.serve")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The server's paths (metrics count any other path as ``other``).
PATHS: tuple[str, ...] = ("/score", "/openrlhf", "/health", "/metrics")
_MAX_ERRORS = 10


class _Guard:
    """Outermost ASGI layer: body-size limit, request counts and latency for every response."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics, max_body_bytes: int) -> None:
        self.app, self.metrics, self.max_body_bytes = app, metrics, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status, received = time.perf_counter(), [500], [0]
        limit = self.max_body_bytes
        too_large = f"request body over the server's limit of {limit} bytes"

        async def limited() -> Message:
            message = await receive()
            received[0] += len(message.get("body", b""))
            if received[0] > limit:
                raise HTTPException(413, too_large)
            return message

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        self.metrics.in_flight += 1
        try:
            if _content_length(scope) > limit:
                await JSONResponse({"error": too_large}, 413)(scope, receive, watched)
            else:
                await self.app(scope, limited, watched)
        finally:
            self.metrics.in_flight -= 1
            self.metrics.observe(scope["path"], status[0], time.perf_counter() - start)


def _content_length(scope: Scope) -> int:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def create_app(config: ServeConfig, pool: ScoringPool | None = None) -> ASGIApp:
    """The server as an ASGI app; it starts ``pool`` (a new one by default) on startup and
    stops it on shutdown. Serve it with uvicorn, or call it with FastAPI's ``TestClient``.
    Raises ValueError/TypeError for a wrong task, preset or option (:func:`check_config`)."""
    check_config(config)
    metrics = ServerMetrics(paths=PATHS)
    holder: dict[str, ScoringPool] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder["pool"] = pool or ScoringPool(config)
        holder["pool"].warm_up()
        try:
            yield
        finally:
            holder["pool"].close()

    app = FastAPI(title="visual-rewards", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
    _routes(app, config, metrics, holder)
    return _Guard(app, metrics, config.max_body_bytes)


def _routes(
    app: FastAPI, config: ServeConfig, metrics: ServerMetrics, holder: dict[str, ScoringPool]
) -> None:
    @app.post("/score", response_model=ScoreResponse)
    async def score(request: ScoreRequest) -> ScoreResponse:
        specs = [
            ItemSpec(it.completion, it.solution, it.task, it.preset, it.image_size)
            for it in request.items
        ]
        scores = await _score(holder["pool"], config, specs)
        metrics.items["/score"] += len(specs)
        return ScoreResponse(results=[_item_result(s) for s in scores])

    @app.post("/openrlhf", response_model=OpenRLHFResponse)
    async def openrlhf(request: OpenRLHFRequest) -> OpenRLHFResponse:
        specs = _openrlhf_specs(request, config)
        scores = await _score(holder["pool"], config, specs)
        metrics.items["/openrlhf"] += len(specs)
        return _openrlhf_response(scores, config)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        pool = holder["pool"]
        return {
            "status": "ok",
            "task": config.task,
            "preset": config.preset,
            "workers": config.workers,
            "worker_pids": pool.worker_pids(),
            "pool_restarts": pool.restarts,
        }

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        text = metrics.render(workers=config.workers, restarts=holder["pool"].restarts)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


async def _score(pool: ScoringPool, config: ServeConfig, specs: list[ItemSpec]) -> list[ItemScore]:
    if len(specs) > config.max_items:
        raise HTTPException(413, f"{len(specs)} items; the server takes at most {config.max_items}")
    try:
        for task, preset in {(s.task, s.preset) for s in specs}:
            reward_for(config, task, preset)  # unknown task/preset/option: 422 before scoring
        return await pool.score(specs)
    except (ValueError, TypeError) as exc:
        raise HTTPException(
            422, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        ) from None


def _openrlhf_specs(request: OpenRLHFRequest, config: ServeConfig) -> list[ItemSpec]:
    specs = []
    for i, query in enumerate(request.query):
        prompt = request.prompts[i] if request.prompts is not None else None
        label = request.labels[i] if request.labels is not None else None
        try:
            completion = openrlhf_completion(query, prompt, config)
            solution, task, preset, size = openrlhf_label(label)
        except (QueryError, ValueError) as exc:
            raise HTTPException(422, f"query {i}: {exc}") from None
        specs.append(ItemSpec(completion, solution, task, preset, size))
    return specs


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _item_result(score: ItemScore) -> ItemResult:
    return ItemResult(
        reward=score.reward,
        total=_finite(score.total),
        components={k: _finite(v) for k, v in score.components.items()},
        parse_failed=score.parse_failed,
    )


def _openrlhf_response(scores: list[ItemScore], config: ServeConfig) -> OpenRLHFResponse:
    """Numbers only (OpenRLHF makes tensors of them): not applicable -> ``not_applicable_score``
    with ``applicable`` 0; a component the row's reward lacks or leaves NaN -> 0."""
    applicable = [math.isfinite(s.total) for s in scores]
    rewards = [
        s.total if ok else config.not_applicable_score
        for s, ok in zip(scores, applicable, strict=True)
    ]
    logs: dict[str, list[float]] = {
        "applicable": [float(ok) for ok in applicable],
        "parse_failed": [float(s.parse_failed) for s in scores],
    }
    names = sorted({k for s in scores for k in s.components}) if config.components else []
    for name in names:
        values = [s.components.get(name, math.nan) for s in scores]
        logs[name] = [v if math.isfinite(v) else 0.0 for v in values]
    return OpenRLHFResponse(rewards=rewards, scores=list(rewards), extra_logs=logs)


async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each bad field (never echoing the input back)."""
    problems = []
    for error in exc.errors()[:_MAX_ERRORS]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    more = len(exc.errors()) - _MAX_ERRORS
    if more > 0:
        problems.append(f"... and {more} more")
    return JSONResponse({"error": "invalid request", "problems": problems}, 422)


async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"error": str(exc.detail)}, exc.status_code)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return JSONResponse(
        {"error": f"internal error ({type(exc).__name__}); see the server log"}, 500
    )
