"""From raw request bytes to a validated `ChatRequest`, in the real service's order.

Phase zero parses JSON; phase one is the schema (contract), every violation in one list;
phase two holds the rules a schema cannot state: model support (a string detail, as the real
service), the context window (needs the tokenizer), and strict mode's role order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .catalog import ModelSpec
from .chat import ChatRequest, Message
from .contract import Contract
from .errors import ErrorItem, UnsupportedModel, ValidationFailed
from .tokenizer import ChatTemplate, Tokenizer

_JSONDECODE = "value_error.jsondecode"
_ROLE_ORDER_MSG = (
    "messages must alternate between user and assistant, starting with user, "
    "after an optional leading system message"
)


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request the emulator will answer, and what it noticed but let pass."""

    request: ChatRequest
    ignored_fields: tuple[str, ...]
    warnings: tuple[str, ...]


def decode_body(raw: bytes) -> Any:
    """Parse a body as strict JSON (UTF-8, no NaN/Infinity) or raise a jsondecode error.

    orjson parses (about 5x faster) whenever it gives exactly what Python's json gives: not when
    a run of 19 digits may be an integer past 64 bits (orjson reads it as a float); and any body
    it rejects goes to Python's json, whose error the real service reports.
    """
    if not _LONG_NUMBER.search(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return decode_body_reference(raw)


_LONG_NUMBER = re.compile(rb"\d{19}")


def decode_body_reference(raw: bytes) -> Any:
    """decode_body with Python's json alone: the reference the fast path is held to."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _decode_error(error.start, f"invalid UTF-8 at byte {error.start}: {error.reason}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise _decode_error(error.pos, str(error)) from None
    except _NonStandardConstant as error:
        position = _constant_position(text)
        raise _decode_error(position, f"{error.name} is not valid JSON: (char {position})") from None
    except RecursionError:
        raise _decode_error(0, "JSON nested too deeply") from None


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

    def admit(self, body: Any) -> Admitted:
        self._contract.validate_request(body)
        model = self._contract.catalog.get(body["model"])
        if model is None:
            raise UnsupportedModel(body["model"])
        counted = tuple(
            Message(m["role"], m["content"])
            for m in body["messages"]
            if m["role"] != "system" or m["content"]
        )
        prompt_tokens = self._template.prompt_tokens(counted, self._tokenizer)
        role_problems = role_order_problems(body["messages"])
        problems = [*role_problems] if self._contract.strict else []
        if prompt_tokens > model.context_window:
            problems.append(_context_window_error(prompt_tokens, model))
        if problems:
            raise ValidationFailed(problems)
        return Admitted(
            request=self._normalise(body, model, counted, prompt_tokens),
            ignored_fields=tuple(self._contract.unknown_fields(body)),
            warnings=tuple(f"{'.'.join(map(str, p.loc[1:]))}: {p.msg}" for p in role_problems),
        )

    def _normalise(
        self,
        body: Mapping[str, Any],
        model: ModelSpec,
        messages: tuple[Message, ...],
        prompt_tokens: int,
    ) -> ChatRequest:
        def given(name: str, default: Any) -> Any:
            value = body.get(name)
            return default if value is None else value

        defaults = self._contract.defaults
        stop = given("stop", ())
        return ChatRequest(
            model=model.name,
            messages=messages,
            max_tokens=int(given("max_tokens", model.max_tokens_default)),
            temperature=float(given("temperature", model.temperature_default)),
            top_p=float(given("top_p", defaults["top_p"])),
            stop=(stop,) if isinstance(stop, str) else tuple(stop),
            n=int(given("n", defaults["n"])),
            stream=bool(given("stream", defaults["stream"])),
            prompt_tokens=prompt_tokens,
        )


def role_order_problems(messages: list[Mapping[str, Any]]) -> list[ErrorItem]:
    """Where the roles break "optional leading system, then user/assistant alternating"."""
    problems: list[ErrorItem] = []
    previous = "assistant"  # so that the first conversational message must be the user's
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "system":
            broken = index > 0
        else:
            broken = role == previous
            previous = role
        if broken:
            problems.append(
                ErrorItem(("body", "messages", index, "role"), _ROLE_ORDER_MSG, "value_error.role_order")
            )
    return problems


def _context_window_error(prompt_tokens: int, model: ModelSpec) -> ErrorItem:
    return ErrorItem(
        ("body", "messages"),
        f"the prompt is {prompt_tokens} tokens, more than {model.name}'s context window "
        f"of {model.context_window} tokens",
        "value_error.context_window",
    )
