"""From raw request bytes to a validated `ChatRequest`, in the real service's order.

Phase zero parses JSON; phase one is the schema (contract), every violation in one list;
phase two holds the rules a schema cannot state: model support (a string detail, as the real
service), the context window (needs the tokenizer), and strict mode's role order.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

from ..chat.budget import SCHEMA_OVERHEAD, Budget
from ..chat.request import ChatRequest, Message, Tool, ToolResult
from ..chat.tokenizer import ChatTemplate, Tokenizer
from ..chat.toolschema import compiled_schema, encode_canonical
from ..errors import ErrorItem, RefusedReference, UnsupportedModel, ValidationFailed
from .catalog import ModelSpec
from .readable import needs_reading
from .schema import Contract
from .violations import Found

_JSONDECODE = "value_error.jsondecode"
_ROLE_ORDER_MSG = (
    "messages must alternate between user and assistant, starting with user, "
    "after an optional leading system message"
)


class Admitted(NamedTuple):
    """A request the emulator will answer, and what it noticed but let pass."""

    request: ChatRequest
    ignored_fields: tuple[str, ...]
    warnings: tuple[str, ...]
    """The first WARNINGS_KEPT of them; `more_warnings` counts the rest."""
    more_warnings: int = 0


WARNINGS_KEPT = 20


class Decoded(NamedTuple):
    body: Any
    readable: bool
    """Whether the schema validator can take the body as it is: no lone surrogate, no infinity
    (orjson refuses both, so only a body Python's json read can hold them)."""


def decode(raw: bytes) -> Decoded:
    """Parse a body as strict JSON (UTF-8, no NaN/Infinity) or raise a jsondecode error.

    orjson parses (about 5x faster) whenever it gives exactly what Python's json gives: not when
    a run of 19 digits may be an integer past 64 bits (orjson reads it as a float); and any body
    it rejects goes to Python's json, whose error the real service reports.
    """
    if _LONG_NUMBER not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return Decoded(orjson.loads(raw), True)
        except orjson.JSONDecodeError:
            pass
    body = decode_body_reference(raw)
    suspect = _SURROGATE_ESCAPE.search(raw) or _HUGE_NUMBER.search(raw)  # else none can be there
    return Decoded(body, not (suspect and needs_reading(body)))


def decode_body(raw: bytes) -> Any:
    """The parsed body (see `decode`)."""
    return decode(raw).body


# What a lone surrogate or an infinity needs in the text: an escape \\uD800-\\uDFFF; an exponent of
# three digits or a run of 309 digits (1e308 is the largest double).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_HUGE_NUMBER = re.compile(rb"[eE]\+?0*[1-9][0-9]{2}|[0-9]{309}")

# A run of 19 ASCII digits, found as 19 zeros once every digit reads 0 and every other byte a
# space: about 5x faster than the regular expression \d{19} (bench/).
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_NUMBER = b"0" * 19


def decode_body_reference(raw: bytes) -> Any:
    """decode_body with Python's json alone: the reference the fast path is held to."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _decode_error(error.start, f"invalid UTF-8 at byte {error.start}: {error.reason}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_integer)
    except json.JSONDecodeError as error:
        raise _decode_error(error.pos, str(error)) from None
    except _NonStandardConstant as error:
        position = _constant_position(text)
        raise _decode_error(position, f"{error.name} is not valid JSON: (char {position})") from None
    except RecursionError:
        raise _decode_error(0, "JSON nested too deeply") from None


def _integer(digits: str) -> int | float:
    """An integer literal; one past Python's 4,300-digit limit is infinite (and so "too large"
    wherever a bound applies), as a float literal past the double range is (1e400)."""
    if len(digits.lstrip("-")) <= _INT_DIGITS:
        return int(digits)
    return -math.inf if digits.startswith("-") else math.inf


_INT_DIGITS = min(4300, sys.get_int_max_str_digits() or 4300)


class _NonStandardConstant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON (and the real service) does not.
    raise _NonStandardConstant(name)


_STRING_OR_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(NaN|-?Infinity)')


def _constant_position(text: str) -> int:
    for match in _STRING_OR_CONSTANT.finditer(text):
        if match.group(1):
            return match.start(1)
    return 0


def _decode_error(position: int, msg: str) -> ValidationFailed:
    return ValidationFailed([ErrorItem(("body", position), msg, _JSONDECODE)])


class Admission:
    def __init__(
        self,
        contract: Contract,
        tokenizer: Tokenizer,
        template: ChatTemplate | None = None,
    ) -> None:
        self._contract = contract
        self._tokenizer = tokenizer
        self._template = template or ChatTemplate()

    def admit(self, body: Any, budget: Budget | None = None, *, readable: bool | None = None) -> Admitted:
        """`body` admitted, or the 422 it gets; `readable` as `decode` found it (None: look)."""
        budget = budget or Budget()
        self._contract.validate_request(body, budget, readable=readable)
        model = self._contract.catalog.get(body["model"])
        if model is None:
            raise UnsupportedModel(body["model"])
        window = budget.prompt_tokens = model.context_window
        sent = body["messages"]
        counted = tuple(  # an assistant message may have neither content nor calls: it counts as ""
            Message(
                m["role"],
                _called(m) if m.get("tool_calls") else m.get("content") or "",
                m.get("tool_call_id"),
            )
            for m in sent
            if m.get("content") or m["role"] != "system"
        )
        # Counting stops past the window: a prompt of 8 MiB costs no more than one of the window.
        prompt_tokens = self._template.prompt_tokens(counted, self._tokenizer, window)
        tools: tuple[Tool, ...] = ()
        documents: tuple[str, ...] = ()
        problems: list[ErrorItem] = []
        if body.get("tools") or body.get("documents") or any(m["role"] == "tool" for m in sent):
            tools, documents, problems = self._extensions(body, budget)  # the later API's fields
            texts = [*documents, *(f"{t.name} {t.description} {t.parameters}" for t in tools)]
            prompt_tokens += self._template.extra_tokens(texts, self._tokenizer, window - prompt_tokens)
        role_problems = role_order_problems(sent)
        if self._contract.strict:
            problems += role_problems
        budget.tokens = prompt_tokens
        if prompt_tokens > window:
            problems.append(_context_window_error(prompt_tokens, model))
        if problems:
            raise ValidationFailed(_capped(problems, budget).answered())
        request = self._normalise(body, model, counted, prompt_tokens)
        if tools or documents or body.get("response_format") or sent[-1]["role"] == "tool":
            response_format = body.get("response_format") or {}
            request = request._replace(
                tools=tools,
                documents=documents,
                json_mode=response_format.get("type") == "json_object",
                results=tool_results(sent),
            )
        warnings = (
            tuple(f"{'.'.join(map(str, p.loc[1:]))}: {p.msg}" for p in role_problems[:WARNINGS_KEPT])
            if role_problems
            else ()
        )
        return Admitted(
            request,
            self._contract.unknown_fields(body),
            warnings,
            max(0, len(role_problems) - WARNINGS_KEPT),
        )

    def _extensions(
        self, body: Mapping[str, Any], budget: Budget
    ) -> tuple[tuple[Tool, ...], tuple[str, ...], list[ErrorItem]]:
        """The tools and documents of a request, and the phase-two problems with them: a tool
        whose parameters are not a JSON Schema (or refer outside themselves, or are more than the
        budget compiles), a tool message answering no earlier call."""
        problems: list[ErrorItem] = []
        tools: list[Tool] = []
        for index, tool in enumerate(body.get("tools") or ()):
            function = tool["function"]
            parameters = encode_canonical(function.get("parameters") or {})
            problem = _schema_problem(parameters, budget)
            if problem is not None:
                problems.append(ErrorItem(("body", "tools", index, "function", "parameters"), *problem))
                continue
            tools.append(Tool(function["name"], function.get("description") or "", parameters))
        documents = tuple(
            " ".join([document["content"], *(document.get("metadata") or {}).values()])
            for document in body.get("documents") or ()
        )
        problems += tool_call_problems(body["messages"])
        return tuple(tools), documents, problems

    def _normalise(
        self,
        body: Mapping[str, Any],
        model: ModelSpec,
        messages: tuple[Message, ...],
        prompt_tokens: int,
    ) -> ChatRequest:
        # A field sent as null counts as not sent. (Written out, not as a helper: the hot path.)
        defaults = self._contract.defaults
        get = body.get
        max_tokens = get("max_tokens")
        temperature = get("temperature")
        top_p = get("top_p")
        stop = get("stop")
        n = get("n")
        stream = get("stream")
        return ChatRequest(
            model.name,
            messages,
            int(model.max_tokens_default if max_tokens is None else max_tokens),
            float(model.temperature_default if temperature is None else temperature),
            float(defaults["top_p"] if top_p is None else top_p),
            () if stop is None else (stop,) if isinstance(stop, str) else tuple(stop),
            int(defaults["n"] if n is None else n),
            bool(defaults["stream"] if stream is None else stream),
            prompt_tokens,
        )


def role_order_problems(messages: list[Mapping[str, Any]]) -> list[ErrorItem]:
    """Where the roles break "optional leading system, then user/assistant alternating" (tool
    results take the user's turn: they follow the assistant's call, one or more in a row)."""
    problems: list[ErrorItem] = []
    previous = "assistant"  # so that the first conversational message must be the user's
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "system":
            broken = index > 0
        elif role == "tool":
            broken = previous not in ("assistant", "tool")
            previous = role
        else:
            broken = role == previous
            previous = role
        if broken:
            problems.append(
                ErrorItem(("body", "messages", index, "role"), _ROLE_ORDER_MSG, "value_error.role_order")
            )
    return problems


def tool_call_problems(messages: list[Mapping[str, Any]]) -> list[ErrorItem]:
    """Tool messages whose tool_call_id no earlier assistant tool call has."""
    problems: list[ErrorItem] = []
    called: set[str] = set()
    for index, message in enumerate(messages):
        for call in message.get("tool_calls") or ():
            called.add(call["id"])
        if message["role"] == "tool" and message["tool_call_id"] not in called:
            problems.append(
                ErrorItem(
                    ("body", "messages", index, "tool_call_id"),
                    f"no earlier assistant message has a tool call with id {message['tool_call_id']!r}",
                    "value_error.tool_call_id",
                )
            )
    return problems


def tool_results(messages: list[Mapping[str, Any]]) -> tuple[ToolResult, ...]:
    """The tool messages that end the conversation, each paired with the call it answers."""
    trailing: list[Mapping[str, Any]] = []
    for message in reversed(messages):
        if message["role"] != "tool":
            break
        trailing.append(message)
    if not trailing:
        return ()
    calls = {
        call["id"]: call["function"]
        for message in messages
        if message["role"] == "assistant"
        for call in message.get("tool_calls") or ()
    }
    return tuple(
        ToolResult(calls[m["tool_call_id"]]["name"], calls[m["tool_call_id"]]["arguments"], m["content"])
        for m in reversed(trailing)
        if m["tool_call_id"] in calls
    )


def _called(message: Mapping[str, Any]) -> str:
    """An assistant message's text as counted: its content, then each call as name(arguments)."""
    calls = "".join(f"{c['function']['name']}({c['function']['arguments']})" for c in message["tool_calls"])
    return (message.get("content") or "") + calls


def _context_window_error(prompt_tokens: int, model: ModelSpec) -> ErrorItem:
    return ErrorItem(  # "at least": counting stops once past the window
        ("body", "messages"),
        f"the prompt has at least {prompt_tokens} tokens, more than {model.name}'s context window "
        f"of {model.context_window} tokens",
        "value_error.context_window",
    )


def _schema_problem(parameters: str, budget: Budget) -> tuple[str, str] | None:
    """(msg, type) when a tool's parameters cannot be used: past the budget of schema characters,
    a reference outside the schema (refused before anything is read), not a JSON Schema."""
    if not budget.compile(len(parameters)):
        return (
            f"not read: the tools' parameters schemas of one request may hold {budget.schema_characters} "
            f"characters in all (each counted as at least {SCHEMA_OVERHEAD})",
            "value_error.jsonschema",
        )
    try:
        compiled_schema(parameters)
    except RefusedReference as error:
        return (
            f"the schema refers outside itself ({error}); only local references (#/...) are followed",
            "value_error.schema_ref",
        )
    except ValueError as error:
        return f"not a valid JSON Schema: {error}", "value_error.jsonschema"
    return None


def _capped(problems: list[ErrorItem], budget: Budget) -> Found:
    """Phase two's problems, listed up to the same cap as the schema's."""
    budget.errors += len(problems)
    listed = list(dict.fromkeys(problems))
    return Found(listed[: budget.errors_listed], max(0, len(listed) - budget.errors_listed), True)
