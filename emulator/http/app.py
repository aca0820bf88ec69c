"""`create_app(config)`: the aiohttp application: routes (journaled, errors as JSON), the admin sub-app."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.web_urldispatcher import _default_expect_handler

from ..config import Config
from ..contract.openapi import bundle, load_document
from ..core import Core
from ..errors import EmulatorError, HttpStatusError, InternalError, Retired, render
from ..http.admin import PREFIX as ADMIN_PREFIX
from ..http.admin import ROUTES as ADMIN_ROUTES
from ..http.admin import token_guarded
from ..http.delivery import STOPPING
from ..http.exchange import EXCHANGE, Exchange
from ..http.reload import watcher
from ..http.streaming import encode_json
from ..script.journal import Journal
from . import completions

API_PREFIX = "/studio/v1"
API_PATH = f"{API_PREFIX}/chat/completions"
MODELS_PATH = f"{API_PREFIX}/models"
RETIRED_APIS = (
    "library/files",
    "library/batches",
    "conversational-rag",
    "maestro/runs",
    "assistants",
    "batches",
)
"""The SDKs' APIs under API_PREFIX retired with the Jamba API: a 404 that says so (errors.Retired)."""
log = logging.getLogger("jamba_emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: Config | None = None, *, core: Core | None = None) -> web.Application:
    config = config or Config()
    core = core or Core.build(config)
    app = web.Application(client_max_size=config.max_body_size)
    app[completions.CORE] = core
    app[STOPPING] = asyncio.Event()
    app.on_shutdown.append(_stopping)
    if config.fixtures and config.reload:
        app.cleanup_ctx.append(watcher(core))
    app[completions.OPENAPI] = encode_json(bundle(load_document(), core.contract.published_schemas()))
    app[completions.MODELS] = encode_json({"data": [model.info() for model in core.contract.catalog]})
    # No middleware (each costs every request several microseconds, bench/): each route is
    # wrapped instead, and fallback routes catch wrong methods and unknown paths, so that every
    # answer outside the admin API is journaled and every error is the real service's JSON.
    add_routes(
        app.router,
        [
            ("POST", API_PATH, completions.create_chat_completion),
            ("GET", MODELS_PATH, completions.list_models),
            ("GET", "/openapi.json", completions.openapi_document),
        ],
        lambda handler: journaled(handler, core.journal, config.request_timeout),
    )
    retired = journaled(retired_api, core.journal, config.request_timeout)
    for api in RETIRED_APIS:
        app.router.add_route("*", f"{API_PREFIX}/{api}{{rest:(/.*)?}}", retired)
    admin = web.Application()
    add_routes(admin.router, ADMIN_ROUTES, guarded)
    admin.router.add_route("*", "/{anything:.*}", guarded(not_found))
    app.add_subapp(ADMIN_PREFIX, admin)
    # After the admin API's prefix: every other path.
    app.router.add_route("*", "/{anything:.*}", journaled(not_found, core.journal, config.request_timeout))
    return app


async def _stopping(app: web.Application) -> None:
    app[STOPPING].set()


async def _unread_body(request: web.Request, response: web.StreamResponse, timeout: float) -> bytes:
    """The body the handler did not read (e.g. a 401's), for the journal: read within `timeout`,
    else the connection closes rather than wait."""
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except (web.HTTPException, ConnectionError):
        return b""
    except TimeoutError:
        response.force_close()
        return b""


def journaled(handler: Handler, journal: Journal, timeout: float) -> Handler:
    """The handler, its errors answered as the real service's JSON (`answered`), and the request
    recorded in the journal with the status it was answered (see exchange.py)."""

    async def journaled_handler(request: web.Request) -> web.StreamResponse:
        exchange = request[EXCHANGE] = Exchange(
            request.method, request.path, request.raw_headers, journal, time.time(), time.perf_counter()
        )
        try:
            response = await answered(request, handler)
        except asyncio.CancelledError:  # the client left, and this server cancels handlers when they do
            exchange.record(None)
            raise
        if not exchange.recorded:  # a stream records itself before its last event goes out
            body = exchange.raw_body
            if body is None and request.can_read_body and response.keep_alive is not False:
                body = await _unread_body(request, response, timeout)
            exchange.record(response.status, body)
        return response

    return journaled_handler


def add_routes(
    router: web.UrlDispatcher, routes: list[tuple[str, str, Handler]], wrap: Callable[[Handler], Handler]
) -> None:
    """Each route's handler wrapped by `wrap`; any other method on its path answers 405 with
    `Allow`. (A GET route answers HEAD too.) Unknown paths are the caller's to catch."""
    allowed: dict[str, list[str]] = {}
    for method, path, handler in routes:
        router.add_route(method, path, wrap(handler), expect_handler=continue_within_limit)
        allowed.setdefault(path, []).append(method)
        if method == hdrs.METH_GET:
            router.add_route(hdrs.METH_HEAD, path, wrap(handler))
            allowed[path].append(hdrs.METH_HEAD)
    for path, methods in allowed.items():
        router.add_route("*", path, wrap(method_not_allowed(*methods)))


async def continue_within_limit(request: web.Request) -> None:
    """`Expect: 100-continue`: "100 Continue" only for a body within the size limit; a larger one
    gets its 413 (from the handler) before any of it is sent, and the connection closes."""
    limit = request.config_dict[completions.CORE].config.max_body_size
    if request.content_length is not None and request.content_length > limit:
        return
    await _default_expect_handler(request)


def method_not_allowed(*allowed: str) -> Handler:
    async def refuse(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, allowed)

    return refuse


async def not_found(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound


async def retired_api(request: web.Request) -> web.StreamResponse:
    raise Retired(request.path, f"POST {API_PATH} and GET {MODELS_PATH}")


def guarded(handler: Handler) -> Handler:
    """The admin API's wrapper: the handler behind the admin token, its errors answered as JSON."""
    checked = token_guarded(handler)

    async def guarded_handler(request: web.Request) -> web.StreamResponse:
        return await answered(request, checked)

    return guarded_handler


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
    response = web.Response(
        status=status, body=encode_json(body), content_type="application/json", headers=error.headers()
    )
    if error.close_connection:
        response.force_close()
    return response
