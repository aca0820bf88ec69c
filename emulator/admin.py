"""The admin sub-app under `/_emulator`: health, the request journal, scripted rules, reset.

Open on loopback. When `--admin-token` is set it is required everywhere but `/health` (header
X-Emulator-Admin-Token); when the server listens beyond loopback without one, the admin API
refuses to work rather than let anyone on the network read the journal.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from .config import Config
from .errors import AdminError
from .handlers import CORE
from .scripts import rules_from

PREFIX = "/_emulator"
TOKEN_HEADER = "X-Emulator-Admin-Token"
OPEN_PATHS = frozenset({f"{PREFIX}/health"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def token_guarded(handler: Handler) -> Handler:
    """The handler behind the admin token check (all but OPEN_PATHS)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if request.path not in OPEN_PATHS:
            check_token(request.config_dict[CORE].config, request.headers.get(TOKEN_HEADER))
        return await handler(request)

    return guarded


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


async def list_journal(request: web.Request) -> web.Response:
    """GET /_emulator/journal[?status=422][&path=/studio/v1/chat/completions][&last=10]"""
    journal = request.config_dict[CORE].journal
    status, last = _int_param(request, "status"), _int_param(request, "last", minimum=1)
    entries = journal.entries(status=status, path=request.query.get("path"), last=last)
    return web.json_response({**journal.summary(), "entries": [entry.to_json() for entry in entries]})


async def clear_journal(request: web.Request) -> web.Response:
    return web.json_response({"cleared": request.config_dict[CORE].journal.clear()})


async def list_rules(request: web.Request) -> web.Response:
    rules = request.config_dict[CORE].script.rules()
    return web.json_response({"rules": [rule.to_json() for rule in rules]})


async def add_rules(request: web.Request) -> web.Response:
    """POST /_emulator/rules with a fixture document ({"rules": [...]}): appended after the others."""
    core = request.config_dict[CORE]
    try:
        document = json.loads(await request.read())
        rules = rules_from(document, "admin API", core.contract)
    except (ValueError, RecursionError) as error:  # FixtureError is a ValueError
        raise AdminError(400, f"not a fixture document (schemas/fixtures.schema.json): {error}") from None
    core.script.add(rules)
    return web.json_response({"added": [rule.name for rule in rules]}, status=201)


async def clear_rules(request: web.Request) -> web.Response:
    return web.json_response({"removed": request.config_dict[CORE].script.clear()})


async def remove_rule(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    removed = request.config_dict[CORE].script.remove(name)
    if not removed:
        raise AdminError(404, f"no rule named {name!r}; GET /_emulator/rules lists them")
    return web.json_response({"removed": removed})


async def reset(request: web.Request) -> web.Response:
    """Back to a fresh start (Core.reset): journal, rules, rate-limit windows, fault sequence."""
    return web.json_response({"journal_cleared": request.config_dict[CORE].reset()})


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
