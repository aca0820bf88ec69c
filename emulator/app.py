"""`create_app(config)`: the aiohttp application: routes, the error middleware, the admin sub-app."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from . import handlers
from .admin import create_admin_app
from .config import Config
from .core import Core
from .errors import EmulatorError, HttpStatusError, InternalError, render
from .openapi import bundle, load_document
from .streaming import encode_json

API_PATH = "/studio/v1/chat/completions"
log = logging.getLogger("jamba_emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: Config | None = None, *, core: Core | None = None) -> web.Application:
    config = config or Config()
    core = core or Core.build(config)
    app = web.Application(middlewares=[error_middleware], client_max_size=config.max_body_size)
    app[handlers.CORE] = core
    app[handlers.OPENAPI] = encode_json(bundle(load_document(), core.contract.published_schemas()))
    app.router.add_post(API_PATH, handlers.create_chat_completion)
    app.router.add_get("/openapi.json", handlers.openapi_document)
    app.add_subapp("/_emulator", create_admin_app())
    return app


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as the real service's JSON body: no HTML page, no bare 500."""
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
    return web.Response(status=status, body=encode_json(body), content_type="application/json")
