"""`create_app(config)`: the aiohttp application: routes, the error middleware, the admin sub-app."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from . import handlers
from .admin import PREFIX as ADMIN_PREFIX
from .admin import create_admin_app
from .config import Config
from .core import Core
from .delivery import BEFORE_END, STOPPING
from .errors import EmulatorError, HttpStatusError, InternalError, render
from .openapi import bundle, load_document
from .reload import watcher
from .streaming import encode_json

API_PATH = "/studio/v1/chat/completions"
log = logging.getLogger("jamba_emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: Config | None = None, *, core: Core | None = None) -> web.Application:
    config = config or Config()
    core = core or Core.build(config)
    app = web.Application(middlewares=[journal_middleware], client_max_size=config.max_body_size)
    app[handlers.CORE] = core
    app[STOPPING] = asyncio.Event()
    app.on_shutdown.append(_stopping)
    if config.fixtures and config.reload:
        app.cleanup_ctx.append(watcher(core))
    app[handlers.OPENAPI] = encode_json(bundle(load_document(), core.contract.published_schemas()))
    app.router.add_post(API_PATH, handlers.create_chat_completion)
    app.router.add_get("/openapi.json", handlers.openapi_document)
    app.add_subapp(ADMIN_PREFIX, create_admin_app())
    return app


async def _stopping(app: web.Application) -> None:
    app[STOPPING].set()


@web.middleware
async def journal_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer (errors as the real service's JSON, see `answered`) and record every request but
    the admin API's own in the journal, with the status it was answered.

    One middleware rather than two: each costs a few microseconds a request (bench/).
    """
    if request.path.startswith(ADMIN_PREFIX + "/"):
        return await answered(request, handler)
    received_at, started = time.time(), time.perf_counter()
    recorded = False

    def record(status: int | None, body: bytes | None = None) -> None:
        nonlocal recorded
        if not recorded:
            recorded = True
            _record(request, status, body or request.get(handlers.RAW_BODY, b""), received_at, started)

    request[BEFORE_END] = record  # a stream records itself before its last event goes out
    try:
        response = await answered(request, handler)
    except asyncio.CancelledError:  # the client left, and this server cancels handlers when they do
        record(None)
        raise
    if not recorded:
        body = request.get(handlers.RAW_BODY)
        if body is None and request.can_read_body and response.status != 413:
            try:  # not read by the handler (e.g. a 401): the journal still shows what was sent
                body = await request.read()
            except (web.HTTPException, ConnectionError):
                body = b""
        record(response.status, body)
    return response


def _record(
    request: web.Request, status: int | None, body: bytes, received_at: float, started: float
) -> None:
    request.app[handlers.CORE].journal.record(
        method=request.method,
        path=request.path,
        headers=request.raw_headers,
        body=body,
        status=status,
        rule=request.get(handlers.MATCHED_RULE),
        fault=request.get(handlers.FAULT),
        received_at=received_at,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


async def answered(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The handler's answer, every error as the real service's JSON body: no HTML page, no bare 500."""
    try:
        return await handler(request)
    except EmulatorError as error:
        return error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(HttpStatusError(exc.status))
        if hdrs.ALLOW in exc.headers:
            response.headers[hdrs.ALLOW] = exc.headers[hdrs.ALLOW]
        return response
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return error_response(InternalError())


def error_response(error: EmulatorError) -> web.Response:
    status, body = render(error)
    return web.Response(
        status=status, body=encode_json(body), content_type="application/json", headers=error.headers()
    )
