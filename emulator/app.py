"""`create_app(config)`: the aiohttp application: routes (journaled, errors as JSON), the admin sub-app."""

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
from .delivery import STOPPING
from .errors import EmulatorError, HttpStatusError, InternalError, render
from .exchange import EXCHANGE, Exchange
from .openapi import bundle, load_document
from .reload import watcher
from .streaming import encode_json

API_PATH = "/studio/v1/chat/completions"
log = logging.getLogger("jamba_emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: Config | None = None, *, core: Core | None = None) -> web.Application:
    config = config or Config()
    core = core or Core.build(config)
    app = web.Application(client_max_size=config.max_body_size)
    app[handlers.CORE] = core
    app[STOPPING] = asyncio.Event()
    app.on_shutdown.append(_stopping)
    if config.fixtures and config.reload:
        app.cleanup_ctx.append(watcher(core))
    app[handlers.OPENAPI] = encode_json(bundle(load_document(), core.contract.published_schemas()))
    # No middleware (each costs the API several microseconds a request, bench/): the routes are
    # wrapped instead, and the last two catch wrong methods and unknown paths, so that every
    # answer outside the admin API is journaled and every error is the real service's JSON.
    routes = app.router
    routes.add_post(API_PATH, journaled(handlers.create_chat_completion))
    routes.add_route("*", API_PATH, journaled(method_not_allowed(hdrs.METH_POST)))
    routes.add_get("/openapi.json", journaled(handlers.openapi_document))
    routes.add_route("*", "/openapi.json", journaled(method_not_allowed(hdrs.METH_GET, hdrs.METH_HEAD)))
    app.add_subapp(ADMIN_PREFIX, create_admin_app(error_middleware))
    routes.add_route("*", "/{anything:.*}", journaled(not_found))
    return app


async def _stopping(app: web.Application) -> None:
    app[STOPPING].set()


def journaled(handler: Handler) -> Handler:
    """The handler, its errors answered as the real service's JSON (`answered`), and the request
    recorded in the journal with the status it was answered (see exchange.py)."""

    async def journaled_handler(request: web.Request) -> web.StreamResponse:
        exchange = Exchange(
            request.method,
            request.path,
            request.raw_headers,
            request.app[handlers.CORE].journal,
            time.time(),
            time.perf_counter(),
        )
        request[EXCHANGE] = exchange
        try:
            response = await answered(request, handler)
        except asyncio.CancelledError:  # the client left, and this server cancels handlers when they do
            exchange.record(None)
            raise
        if not exchange.recorded:  # a stream records itself before its last event goes out
            body = exchange.raw_body
            if body is None and request.can_read_body and response.status != 413:
                try:  # not read by the handler (e.g. a 401): the journal still shows what was sent
                    body = await request.read()
                except (web.HTTPException, ConnectionError):
                    body = b""
            exchange.record(response.status, body)
        return response

    return journaled_handler


def method_not_allowed(*allowed: str) -> Handler:
    async def refuse(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, allowed)

    return refuse


async def not_found(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`answered` as a middleware, for the admin API's routes."""
    return await answered(request, handler)


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
