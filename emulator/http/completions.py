"""One chat completion request end to end, the same on every surface: parse, admit, decide,
generate, deliver. The surface (surfaces/) is asked only what differs between APIs: the key,
the body's shape, and how the answer and its errors are written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from ..chat.budget import Budget
from ..contract.admission import Admitted
from ..contract.dialects import Dialect, SelfAdmitting
from ..core import Core
from ..errors import RateLimited
from ..script.decision import decide
from ..script.ratelimit import describe as describe_limits
from .body import read_body
from .delivery import answer, refuse, stream
from .exchange import EXCHANGE
from .surfaces import Handler, Surface

CORE = web.AppKey("core", Core)
IGNORED_FIELDS_HEADER = "X-Emulator-Ignored-Fields"
WARNINGS_HEADER = "X-Emulator-Warnings"
_HEADER_LIST_LIMIT = 20
_HEADER_VALUE_LIMIT = 100

log = logging.getLogger("jamba_emulator")


def chat_handler(surface: Surface, dialect: Dialect | SelfAdmitting | None = None) -> Handler:
    """The handler of `surface`'s chat completion routes (through its dialect, or `dialect`: the
    vllm surface's text completions)."""
    dialect = dialect or surface.dialect

    async def create_chat_completion(request: web.Request) -> web.StreamResponse:
        core = request.app[CORE]
        exchange = request[EXCHANGE]
        key = surface.api_key(request, core.config.api_keys)
        if core.limiter and (retry_after := core.limiter.wait_for(key)) is not None:
            raise RateLimited(retry_after, describe_limits(core.limiter.limits))
        budget = Budget(errors_listed=core.config.max_errors)
        raw = exchange.raw_body = await read_body(
            request, core.config.max_body_size, core.config.request_timeout
        )
        admitted = core.admission.admit_bytes(dialect, surface.route_params(request), raw, budget)
        headers = notice_headers(admitted)
        chat = admitted.request
        plan = decide(
            chat,
            _lowered(request, core),
            core.script,
            core.faults,
            core.config.unmatched,
            surface=surface.name,
            scope=exchange.received.scope,
        )
        exchange.labels = plan.labels
        if plan.error is not None:
            return await refuse(plan, plan.error, surface)
        completion = core.generator.write(chat, plan.asked, budget)
        wire = admitted.wire
        completion_id = surface.completion_id(request, core.ids.next_id(), wire)
        if chat.stream:
            events = surface.stream_events(completion, completion_id, wire)
            headers = {**surface.stream_headers, **headers}
            return await stream(
                request,
                events,
                headers,
                plan,
                record=exchange.record,
                surface=surface,
                gap=surface.event_gap(core.config),
            )
        return await answer(
            request, surface.response_body(completion, completion_id, wire), headers, plan, exchange.record
        )

    return create_chat_completion


def _lowered(request: web.Request, core: Core) -> Mapping[str, str]:
    """The headers by lower-case name, the first of repeated ones (as `headers.get` reads them,
    and the journal shows them); only copied when rules may read them."""
    if not core.script:
        return {}
    lowered: dict[str, str] = {}
    for name, value in request.headers.items():
        lowered.setdefault(name.lower(), value)
    return lowered


def notice_headers(admitted: Admitted) -> dict[str, str]:
    """Name what the emulator let pass (unknown fields, role-order warnings), in headers and the log."""
    headers: dict[str, str] = {}
    if admitted.ignored_fields:
        log.info("ignored unknown fields: %s", _header_list(admitted.ignored_fields, ", "))
        headers[IGNORED_FIELDS_HEADER] = _header_list(admitted.ignored_fields)
    if admitted.warnings:  # one line per request, however many there are
        shown = "; ".join(ascii(warning)[1:-1] for warning in admitted.warnings[:3])
        others = len(admitted.warnings) - 3 + admitted.more_warnings
        log.warning(
            "request accepted, but in --strict mode it would fail: %s%s",
            shown,
            f" (and {others} more)" if others > 0 else "",
        )
        headers[WARNINGS_HEADER] = _header_list(admitted.warnings, separator="; ") + (
            f"; ... ({admitted.more_warnings} more)" if admitted.more_warnings else ""
        )
    return headers


def _header_list(values: tuple[str, ...], separator: str = ",") -> str:
    # Field names come from the client: escape anything that may not appear in a header, and cut
    # each to _HEADER_VALUE_LIMIT characters (a 100 KB name broke clients' limits on a header).
    shown = [_cut(ascii(value)[1:-1]) for value in values[:_HEADER_LIST_LIMIT]]
    if len(values) > _HEADER_LIST_LIMIT:
        shown.append(f"... ({len(values) - _HEADER_LIST_LIMIT} more)")
    return separator.join(shown)


def _cut(text: str) -> str:
    return text if len(text) <= _HEADER_VALUE_LIMIT else text[: _HEADER_VALUE_LIMIT - 3] + "..."
