"""From raw request bytes to a validated `ChatRequest`, in the real service's order.

Phase zero parses JSON; phase one is the schema (contract), every violation in one list;
phase two holds the rules a schema cannot state: model support (a string detail, as the real
service), the context window (needs the tokenizer), and strict mode's role order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, cast

from ..chat.budget import SCHEMA_OVERHEAD, Budget
from ..chat.request import ChatRequest, Message, Tool, ToolResult
from ..chat.tokenizer import ChatTemplate, Tokenizer
from ..chat.toolschema import compiled_schema, encode_canonical
from ..errors import ErrorItem, RefusedReference, UnsupportedModel, ValidationFailed
from .catalog import ModelSpec
from .dialects import Dialect, RouteParams, SelfAdmitting
from .memo import MEMO_BODY, Key, Memo
from .schema import Contract
from .violations import Found
from .vllm import Served

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
    wire: Any = None
    """What the surface's answer needs that the canonical request does not say (vLLM's: the
    model it echoes, stream options, the tool-call mode: contract/vllm.Wire); None elsewhere."""


WARNINGS_KEPT = 20


class Admission:
    def __init__(
        self,
        contract: Contract,
        tokenizer: Tokenizer,
        template: ChatTemplate | None = None,
        served: Served | None = None,
    ) -> None:
        self._contract = contract
        self.served = served or Served.build(contract.document)
        """The vllm surface's server (contract/vllm.py)."""
        self._tokenizer = tokenizer
        self._template = template or ChatTemplate()
        self.memo = Memo()
        """Outcomes of short bodies, by dialect, route parameters and bytes (memo.py)."""

    def admit_bytes(
        self, dialect: Dialect | SelfAdmitting, params: RouteParams, raw: bytes, budget: Budget
    ) -> Admitted:
        """A surface's request (its body's bytes, what its route said) admitted, or its error
        raised; the outcome of a short body kept and replayed (memo.py)."""
        admit_itself = getattr(dialect, "admit", None)
        if admit_itself is not None:  # vLLM's: its own rules (not kept: its errors are its own)
            admitted: Admitted = admit_itself(raw, params, self, budget)
            return admitted
        dialect = cast(Dialect, dialect)
        if len(raw) > MEMO_BODY:
            decoded = dialect.chat_body(raw, params, self._contract)
            return self.admit(decoded.body, budget, readable=decoded.readable)
        key = Key(dialect.name, params, raw)
        kept = self.memo.get(key)
        if kept is not None:
            return kept.replayed(budget)
        try:
            decoded = dialect.chat_body(raw, params, self._contract)
            admitted = self.admit(decoded.body, budget, readable=decoded.readable)
        except (ValidationFailed, UnsupportedModel) as error:
            self.memo.keep_error(key, error, budget)
            raise
        self.memo.keep_admitted(key, admitted, budget)
        return admitted

    def admit(self, body: Any, budget: Budget | None = None, *, readable: bool | None = None) -> Admitted:
        """A parsed chat body admitted, or the 422 it gets; `readable` as `decode` found it (None:
        look)."""
        budget = budget or Budget()
        self._contract.validate_request(body, budget, readable=readable)
        model = self._contract.catalog.get(body["model"])
        if model is None:
            raise UnsupportedModel(body["model"])
        window = budget.prompt_window = model.context_window
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

    def count_prompt(self, messages: tuple[Message, ...], extras: list[str], window: int) -> int:
        """The prompt's tokens (messages, then documents and tool definitions framed as
        messages), counting stopped once past `window`."""
        tokens = self._template.prompt_tokens(messages, self._tokenizer, window)
        if extras:
            tokens += self._template.extra_tokens(extras, self._tokenizer, window - tokens)
        return tokens

    def count_text(self, text: str, limit: int) -> int:
        """A prompt's tokens without a chat template, counting stopped once past `limit`."""
        return self._tokenizer.count_upto(text, limit)

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


def usable_schema(parameters: str, budget: Budget) -> bool:
    """Whether a tool's parameters can be written for (compiled within the budget, referring to
    nothing outside themselves): for a surface that takes any schema and must not fail on one."""
    return _schema_problem(parameters, budget) is None


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
