"""The admin sub-app under `/_emulator`: health, the request journal, scripted rules, reset.

Bounded as the chat route is: a body within `--request-timeout` (408) and fixtures.MAX_DOCUMENT
bytes (413; `Expect: 100-continue` past it is not invited); a fixture document over INLINE bytes
is checked on a worker thread, so the event loop keeps answering; long listings are streamed.

Open on loopback. When `--admin-token` is set it is required everywhere but `/health` (header
X-Emulator-Admin-Token); when the server listens beyond loopback without one, the admin API
refuses to work rather than let anyone on the network read the journal.

A web page in the developer's browser can send requests to loopback too, so on loopback the admin
API also refuses (403) a `Host` that is not a loopback name or the configured host (DNS
rebinding), and, everywhere, an `Origin` that is not a loopback page (a cross-site request); a
write with a body must be `application/json` (415), which a cross-site form cannot send.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from aiohttp import hdrs, web

from ..config import Config
from ..errors import AdminError, FixtureError
from ..script.fixtures import MAX_DOCUMENT, rules_from
from ..script.scope import SCOPE_HEADER, scope_of
from .body import read_body
from .completions import CORE
from .streaming import encode_json

PREFIX = "/_emulator"
TOKEN_HEADER = "X-Emulator-Admin-Token"
OPEN_PATHS = frozenset({f"{PREFIX}/health"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def require_token(handler: Handler) -> Handler:
    """The handler behind the admin API's checks (all but OPEN_PATHS): where the request comes
    from (Host, Origin), what it sends (a JSON body), and the admin token."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if request.path not in OPEN_PATHS:
            config = request.config_dict[CORE].config
            check_origin(config, request.headers.get(hdrs.HOST), request.headers.get(hdrs.ORIGIN))
            check_body_type(request)
            check_token(config, request.headers.get(TOKEN_HEADER))
        return await handler(request)

    return guarded


def check_origin(config: Config, host: str | None, origin: str | None) -> None:
    if config.loopback and host is not None and not _local_name(_host_name(host), config):
        raise AdminError(
            403,
            f"the admin API answers only requests addressed to this machine (Host {_shown(host)} is not "
            f"localhost, a 127.x address, [::1] or {config.host}); use http://localhost:PORT/_emulator",
        )
    if origin is not None:
        name = _host_name(origin.partition("://")[2]) if "://" in origin else None
        if name is None or not _local_name(name, config):
            raise AdminError(
                403,
                f"the admin API refuses requests from web pages of other sites (Origin {_shown(origin)})",
            )


def check_body_type(request: web.Request) -> None:
    """A write with a body must say it is JSON (an empty one, as `POST /reset` sends, may not)."""
    if request.content_length == 0 or not request.body_exists:
        return
    if request.content_type != "application/json":
        sent = request.content_type
        raise AdminError(415, f"send the admin API JSON, with Content-Type: application/json (not {sent!r})")


def _host_name(host: str) -> str:
    """The name of a Host header's value or an origin's authority, without its port."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _local_name(name: str, config: Config) -> bool:
    return (
        name in ("localhost", "[::1]", "::1", config.host.lower(), f"[{config.host.lower()}]")
        or name.endswith(".localhost")
        or (name.startswith("127.") and name.replace(".", "").isdigit())
    )


def _shown(value: str, limit: int = 80) -> str:
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def check_token(config: Config, sent: str | None) -> None:
    if config.admin_token is None:
        if not config.loopback:
            raise AdminError(
                403,
                f"the admin API is off while listening on {config.host} without an admin token; start "
                f"with --admin-token TOKEN (or JAMBA_EMULATOR_ADMIN_TOKEN) and send it as {TOKEN_HEADER}",
            )
        return
    if sent is None or not hmac.compare_digest(sent.encode(), config.admin_token.encode()):
        raise AdminError(401, f"send the admin token given with --admin-token in the {TOKEN_HEADER} header")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def body_limit(request: web.Request) -> int:
    """The largest body the admin API reads: a fixture document."""
    return MAX_DOCUMENT


INLINE = 64 * 1024
"""A fixture document up to this many bytes is checked on the event loop; a larger one on a thread."""


def _scope(request: web.Request) -> str | None:
    """The test scope an admin request works in: its X-Emulator-Test-Id (None: the global scope)."""
    return scope_of(request.headers.get(SCOPE_HEADER))


async def list_journal(request: web.Request) -> web.StreamResponse:
    """GET /_emulator/journal[?status=422][&path=/studio/v1/chat/completions][&surface=bedrock][&last=10]
    [&scope=TEST-ID][&view=brief]: sent with X-Emulator-Test-Id (or ?scope=), only that test scope's
    entries; `view=brief`: each without its headers and body, with the body's `body_key` instead.

    Streamed an entry at a time, the event loop let go every LISTING_BATCH entries: a full journal
    is up to --journal-size entries of 64 KiB, and other requests are answered meanwhile."""
    journal = request.config_dict[CORE].journal
    status, last = _int_param(request, "status"), _int_param(request, "last", minimum=1)
    query = request.query
    scope = _scope(request) or scope_of(query.get("scope"))
    entries = journal.entries(
        status=status, path=query.get("path"), last=last, surface=query.get("surface"), scope=scope
    )
    view = query.get("view", "full")
    if view not in ("full", "brief"):
        raise AdminError(400, f"query parameter view must be full or brief, got {view[:40]!r}")
    head = encode_json(dict(journal.summary()))[:-1] + b',"entries":'
    return await _listing(request, head, (e.brief() if view == "brief" else e.to_json() for e in entries))


async def _listing(request: web.Request, head: bytes, items: Iterable[Any]) -> web.StreamResponse:
    """`head` + a JSON list of `items` + "}", streamed an item at a time, the event loop let go
    every LISTING_BATCH items, so that other requests are answered meanwhile."""
    response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "application/json"})
    await response.prepare(request)
    await response.write(head + b"[")
    for index, item in enumerate(items):
        if index and index % LISTING_BATCH == 0:
            await asyncio.sleep(0)
        await response.write((b"," if index else b"") + encode_json(item))
    await response.write(b"]}")
    await response.write_eof()
    return response


LISTING_BATCH = 8


async def clear_journal(request: web.Request) -> web.Response:
    return web.json_response({"cleared": request.config_dict[CORE].journal.clear(_scope(request))})


async def list_rules(request: web.Request) -> web.StreamResponse:
    """The rules a request in the admin request's scope sees, with that scope's calls (streamed:
    up to rules.MAX_RULES of them)."""
    return await _listing(request, b'{"rules":', request.config_dict[CORE].script.described(_scope(request)))


async def add_rules(request: web.Request) -> web.Response:
    """POST /_emulator/rules with a fixture document ({"rules": [...]}): appended after the others."""
    core = request.config_dict[CORE]
    raw = await read_body(
        request,
        MAX_DOCUMENT,
        core.config.request_timeout,
        f"a fixture document is at most {MAX_DOCUMENT >> 20} MiB",
    )
    scope = _scope(request)
    try:
        document = orjson.loads(raw)
        checked = (document, "admin API", core.config.max_errors)
        rules = await asyncio.to_thread(rules_from, *checked) if len(raw) > INLINE else rules_from(*checked)
        core.script.add(rules, scope)
    except orjson.JSONDecodeError as error:
        raise AdminError(
            400, f"not a fixture document (schemas/fixtures.schema.json): not JSON: {error}"
        ) from None
    except FixtureError as error:
        raise AdminError(400, f"not a fixture document (schemas/fixtures.schema.json): {error}") from None
    return web.json_response({"added": [rule.name for rule in rules]}, status=201)


async def clear_rules(request: web.Request) -> web.Response:
    return web.json_response({"removed": request.config_dict[CORE].script.clear(_scope(request))})


async def remove_rule(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    removed = request.config_dict[CORE].script.remove(name, _scope(request))
    if not removed:
        raise AdminError(404, f"no rule named {name!r}; GET /_emulator/rules lists them")
    return web.json_response({"removed": removed})


async def reset(request: web.Request) -> web.Response:
    """Back to a fresh start (Core.reset): journal, rules, rate-limit windows, fault sequence; with
    X-Emulator-Test-Id, only that scope's journal entries, rules and counts."""
    return web.json_response({"journal_cleared": request.config_dict[CORE].reset(_scope(request))})


def _int_param(request: web.Request, name: str, minimum: int | None = None) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise AdminError(400, f"query parameter {name} must be an integer, got {text!r}") from None
    if minimum is not None and value < minimum:
        raise AdminError(400, f"query parameter {name} must be at least {minimum}, got {value}")
    return value


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/health", health),
    ("GET", "/journal", list_journal),
    ("DELETE", "/journal", clear_journal),
    ("GET", "/rules", list_rules),
    ("POST", "/rules", add_rules),
    ("DELETE", "/rules", clear_rules),
    ("DELETE", "/rules/{name}", remove_rule),
    ("POST", "/reset", reset),
]
"""The admin API's routes (method, path under PREFIX, handler); app.create_app mounts them."""
