"""`create_app(config)`: the aiohttp application: routes (journaled, errors as JSON), the admin sub-app."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiohttp import hdrs, web

from ..config import Config
from ..core import Core
from ..errors import BadTestId, EmulatorError, HttpStatusError, InternalError
from ..script.journal import Journal, Received
from ..script.scope import SCOPE_HEADER, scope_of
from .admin import PREFIX as ADMIN_PREFIX
from .admin import ROUTES as ADMIN_ROUTES
from .admin import body_limit as admin_body_limit
from .admin import require_token
from .body import ExpectHandler, continue_within, never_continue, unread_body
from .completions import CORE, chat_handler
from .delivery import STOPPING
from .exchange import EXCHANGE, Exchange
from .reload import watcher
from .surfaces import DEFAULT, Handler, Route, Surface, surfaces_for

log = logging.getLogger("jamba_emulator")


def create_app(config: Config | None = None, *, core: Core | None = None) -> web.Application:
    config = config or Config()
    core = core or Core.build(config)
    app = web.Application(client_max_size=config.max_body_size)
    app[CORE] = core
    app[STOPPING] = asyncio.Event()
    app.on_shutdown.append(_stopping)
    if config.fixtures and config.reload:
        app.cleanup_ctx.append(watcher(core))
    # No middleware (each costs every request several microseconds, bench/): each route is
    # wrapped instead, and fallback routes catch wrong methods and unknown paths, so that every
    # answer outside the admin API is journaled and every error is the surface's JSON.
    add_surfaces(app.router, core, surfaces_for(core))
    admin = web.Application()
    add_routes(admin.router, ADMIN_ROUTES, guard, continue_within(admin_body_limit))
    admin.router.add_route("*", "/{anything:.*}", guard(not_found), expect_handler=never_continue)
    app.add_subapp(ADMIN_PREFIX, admin)
    # After the admin API's prefix: every other path.
    unknown = journal_requests(not_found, core.journal, config.request_timeout, named=False)
    app.router.add_route("*", "/{anything:.*}", unknown, expect_handler=never_continue)
    return app


def add_surfaces(router: web.UrlDispatcher, core: Core, surfaces: tuple[Surface, ...]) -> None:
    """Every surface's routes, journaled under its name. A path two surfaces serve (Azure's and
    vLLM's /v1/chat/completions) has one route, which asks each in turn whether a request is its
    (`claims`), the last taking the rest; the last also answers its wrong methods."""
    expect = continue_within(_chat_body_limit)
    claimants: dict[tuple[str, str], list[tuple[Surface, Handler]]] = {}
    for surface in surfaces:
        wrap = _journaling(core, surface)
        for method, path, handler in surface.routes(core, chat_handler(surface)):
            claimants.setdefault((method, path), []).append((surface, wrap(handler)))
    owners: dict[str, Surface] = {}
    routes: dict[Surface, list[Route]] = {}
    for (method, path), claiming in claimants.items():
        owner = owners[path] = claiming[-1][0]
        routes.setdefault(owner, []).append((method, path, _claimed(claiming)))
    for owner, owned in routes.items():
        add_routes(router, owned, _prewrapped(_journaling(core, owner)), expect)


def _prewrapped(wrap: Callable[[Handler], Handler]) -> Callable[[Handler], Handler]:
    """`wrap` for the routes' fallbacks (405), identity for their handlers, already wrapped."""

    def maybe_wrap(handler: Handler) -> Handler:
        return handler if getattr(handler, "journaled", False) else wrap(handler)

    return maybe_wrap


def _claimed(claiming: list[tuple[Surface, Handler]]) -> Handler:
    if len(claiming) == 1:
        handler = claiming[0][1]
    else:
        async def handler(request: web.Request) -> web.StreamResponse:
            for surface, wrapped in claiming[:-1]:
                if surface.claims(request):
                    return await wrapped(request)
            return await claiming[-1][1](request)

    handler.journaled = True  # type: ignore[attr-defined]
    return handler


def _chat_body_limit(request: web.Request) -> int:
    return request.config_dict[CORE].config.max_body_size


def _journaling(core: Core, surface: Surface) -> Callable[[Handler], Handler]:
    def wrap(handler: Handler) -> Handler:
        return journal_requests(handler, core.journal, core.config.request_timeout, surface)

    return wrap


async def _stopping(app: web.Application) -> None:
    app[STOPPING].set()


def journal_requests(
    handler: Handler, journal: Journal, timeout: float, surface: Surface = DEFAULT, *, named: bool = True
) -> Handler:
    """The handler, its errors answered as the surface's JSON (`respond`), and the request
    recorded in the journal with the status it was answered (see exchange.py), under the
    surface's name (`named`; the catch-all of unknown paths is no surface's)."""
    name = surface.name if named else None

    async def journaled_handler(request: web.Request) -> web.StreamResponse:
        scope, bad_scope = _scope(request)
        received = Received(request.method, request.path, request.raw_headers, time.time(), name, scope)
        exchange = request[EXCHANGE] = Exchange(received, journal, time.perf_counter())
        try:
            if bad_scope is not None:
                response: web.StreamResponse = surface.error_response(bad_scope)
            else:
                response = await respond(request, handler, surface)
        except asyncio.CancelledError:  # the client left, and this server cancels handlers when they do
            exchange.record(None)
            raise
        if not exchange.recorded:  # a stream records itself before its last event goes out
            body = exchange.raw_body
            if body is None and request.can_read_body and response.keep_alive is not False:
                body = await unread_body(request, response, timeout)
            exchange.record(response.status, body, response.headers.get("Retry-After"))
        return response

    return journaled_handler


def _scope(request: web.Request) -> tuple[str | None, BadTestId | None]:
    """The test scope the request names, read once (handlers read it from the exchange), or the
    400 a test id that cannot be a scope gets (journaled in the global scope)."""
    try:
        return scope_of(request.headers.get(SCOPE_HEADER)), None
    except BadTestId as error:
        return None, error


def add_routes(
    router: web.UrlDispatcher, routes: list[Route], wrap: Callable[[Handler], Handler], expect: ExpectHandler
) -> None:
    """Each route's handler wrapped by `wrap`, `expect` answering its `Expect: 100-continue`; any
    other method on its path answers 405 with `Allow` (and invites no upload). (A GET route
    answers HEAD too; a "*" route, every method.) Unknown paths are the caller's to catch."""
    allowed: dict[str, list[str]] = {}
    for method, path, handler in routes:
        reads = method in (hdrs.METH_POST, hdrs.METH_PUT, hdrs.METH_PATCH)
        router.add_route(method, path, wrap(handler), expect_handler=expect if reads else never_continue)
        if method == hdrs.METH_ANY:
            continue
        allowed.setdefault(path, []).append(method)
        if method == hdrs.METH_GET:
            router.add_route(hdrs.METH_HEAD, path, wrap(handler), expect_handler=never_continue)
            allowed[path].append(hdrs.METH_HEAD)
    for path, methods in allowed.items():
        router.add_route("*", path, wrap(method_not_allowed(*methods)), expect_handler=never_continue)


def method_not_allowed(*allowed: str) -> Handler:
    async def refuse(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, allowed)

    return refuse


async def not_found(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound


def guard(handler: Handler) -> Handler:
    """The admin API's wrapper: the handler behind the admin token, its errors answered as JSON."""
    checked = require_token(handler)

    async def guarded_handler(request: web.Request) -> web.StreamResponse:
        return await respond(request, checked)

    return guarded_handler


async def respond(request: web.Request, handler: Handler, surface: Surface = DEFAULT) -> web.StreamResponse:
    """The handler's answer, every error as the surface's JSON body: no HTML page, no bare 500."""
    try:
        return await handler(request)
    except EmulatorError as error:
        return surface.error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = surface.error_response(HttpStatusError(exc.status))
        if hdrs.ALLOW in exc.headers:
            response.headers[hdrs.ALLOW] = exc.headers[hdrs.ALLOW]
        return response
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return surface.error_response(InternalError())
