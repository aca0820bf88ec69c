"""vLLM's OpenAI-compatible server as it serves the Jamba open weights: which checkpoints and
names it serves (`Served`, from the catalog's `open_weights` and the vLLM flags), and how it
admits a chat completion request (`VllmBody`), in vLLM's order and words, per release line.

The order is vLLM's (read from its source, 0.8.5.post1 and 0.11.0; ../VLLM.md in the project's
notes): FastAPI reads the body as JSON (an error: pydantic's `json_invalid` item), refuses a
media type other than application/json (0.8: 415, 0.11: 400), runs the request model's
"before" validators (the last defined first, as pydantic does: `_BEFORE`), validates the fields
(pydantic itself, the model built from schemas/vllm-chat-request.schema.json), then the serving
layer: the model's name, "auto" tool choice without the server's flags, the chat template
(documents need `text`), the context window, the sampling parameters. Every answer is a
`VllmError` whose body the surface writes in its version's envelope.

The validators are vLLM's code paths, written the same way, so that they fail where vLLM's fail:
a value of the wrong type that a validator compares (`"top_logprobs": "2"`) raises TypeError
there, and vLLM answers 500, as the emulator does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..chat.budget import Budget
from ..chat.request import ChatRequest, Message, Tool
from ..chat.toolschema import encode_canonical
from ..errors import EmulatorError
from ..resources import SCHEMA_DIR, load_json
from .dialects import RouteParams
from .pymodel import model_from_schema

if TYPE_CHECKING:
    from .admission import Admission, Admitted

SCHEMA = "vllm-chat-request.schema.json"
TEXT_SCHEMA = "vllm-completion-request.schema.json"
LINES = {
    "0.8": ("0.8.0", "0.8.1", "0.8.2", "0.8.3", "0.8.4", "0.8.5", "0.8.5.post1"),
    "0.11": ("0.11.0", "0.11.1", "0.11.2"),
}
"""The release lines the emulator models, and the releases of each it answers to."""
JSON_MEDIA = "application/json"
MAX_CHOICES = 128
"""The most choices (n, or best_of) one answer has: vLLM sets no bound, the emulator must."""


def line_of(version: str) -> str:
    """The line ("0.8", "0.11") of a vLLM release, or a ValueError naming those served."""
    for line, releases in LINES.items():
        if version in releases:
            return line
    known = ", ".join(release for releases in LINES.values() for release in releases)
    raise ValueError(f"--vllm-version: vLLM {version!r} is not one the emulator models; it models {known}")


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3])


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One open-weights checkpoint (catalog.json's `open_weights`)."""

    id: str
    aliases: tuple[str, ...]
    model: str | None
    """The catalog model it is, when AI21's API served it (same text and counts there)."""
    max_model_len: int
    vocab_size: int
    minimum: str
    recommended: str
    tool_call_parser: str
    reasoning_parser: str | None = None

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Checkpoint:
        return cls(
            entry["id"],
            tuple(entry.get("aliases", ())),
            entry.get("model"),
            entry["max_model_len"],
            entry["vocab_size"],
            entry["vllm"]["minimum"],
            entry["vllm"]["recommended"],
            entry["tool_call_parser"],
            entry.get("reasoning_parser"),
        )

    def runs_on(self, version: str) -> bool:
        return _release(version) >= _release(self.minimum)


def checkpoints(document: Mapping[str, Any]) -> tuple[Checkpoint, ...]:
    return tuple(Checkpoint.from_entry(entry) for entry in document.get("open_weights", ()))


@dataclass(frozen=True, slots=True)
class Served:
    """What one emulated `vllm serve` serves: the release, the checkpoints by served name (the
    first name is the one answers echo in 0.11), and the flags that change what clients see."""

    version: str
    names: Mapping[str, Checkpoint]
    max_model_len: int | None = None
    """--max-model-len; None: each checkpoint's own."""
    auto_tools: bool = False
    tool_call_parser: str | None = None
    reasoning_parser: str | None = None
    line: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "line", line_of(self.version))

    @classmethod
    def build(
        cls,
        document: Mapping[str, Any],
        *,
        version: str | None = None,
        model: str | None = None,
        served_names: Sequence[str] = (),
        max_model_len: int | None = None,
        auto_tools: bool = False,
        tool_call_parser: str | None = None,
        reasoning_parser: str | None = None,
    ) -> Served:
        """The server the flags describe: `model` (vLLM's --model) one checkpoint by its id or an
        alias, else every checkpoint that runs on the release; `version` defaults to the release
        AI21 recommends for `model`, else 0.11.0 (the line every checkpoint runs on). A ValueError
        says what cannot be served."""
        known = checkpoints(document)
        by_id = {name: checkpoint for checkpoint in known for name in (checkpoint.id, *checkpoint.aliases)}
        if model is not None:
            if model not in by_id:
                raise ValueError(
                    f"--vllm-model: no open-weights checkpoint {model!r}; the catalog has: "
                    + ", ".join(c.id for c in known)
                )
            checkpoint = by_id[model]
            version = version or checkpoint.recommended
            if not checkpoint.runs_on(version):
                raise ValueError(
                    f"--vllm-model {checkpoint.id} needs vLLM {checkpoint.minimum} or newer, not {version} "
                    "(--vllm-version)"
                )
            names = dict.fromkeys(served_names or (model,), checkpoint)
        else:
            if served_names:
                raise ValueError("--served-model-name names the checkpoint --vllm-model serves: give both")
            version = version or "0.11.0"
            names = {
                name: checkpoint
                for checkpoint in known
                if checkpoint.runs_on(version)
                for name in (checkpoint.id, *checkpoint.aliases)
            }
        if tool_call_parser is None and auto_tools:
            raise ValueError(
                "--enable-auto-tool-choice needs --tool-call-parser (jamba, or hermes for Reasoning 3B)"
            )
        return cls(version, names, max_model_len, auto_tools, tool_call_parser, reasoning_parser)

    @property
    def first_name(self) -> str:
        return next(iter(self.names))

    def checkpoint(self, name: str | None) -> Checkpoint:
        """The checkpoint a request's `model` names (none or empty: the first served), else
        vLLM's 404 (serving_engine._check_model)."""
        if name and name not in self.names:
            raise not_found_model(name)
        return self.names[name or self.first_name]

    def echoed(self, name: str | None) -> str:
        """The `model` an answer names: 0.8 the one asked for (or the first served), 0.11 always
        the first served."""
        return (name or self.first_name) if self.line == "0.8" else self.first_name

    def window(self, checkpoint: Checkpoint) -> int:
        return self.max_model_len or checkpoint.max_model_len


class VllmError(EmulatorError):
    """An answer vLLM gives instead of a completion: its status, message and error `type`.
    `shape` says how its body is written: "error" (vLLM's ErrorResponse, in the version's
    envelope), "detail" (FastAPI's own `{"detail": ...}`), "text" (Starlette's plain-text 500),
    "unauthorized" (`{"error": "Unauthorized"}`)."""

    def __init__(
        self, status: int, message: str, type_: str, shape: str = "error", param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.shape = shape
        self.param = param


def bad_request(message: str) -> VllmError:
    """vLLM's `create_error_response`: 400 BadRequestError."""
    return VllmError(400, message, "BadRequestError")


def internal_error() -> VllmError:
    """An exception vLLM does not catch (a validator's TypeError): Starlette's plain 500."""
    return VllmError(500, "Internal Server Error", "InternalServerError", shape="text")


def not_found_model(name: object) -> VllmError:
    return VllmError(404, f"The model `{name}` does not exist.", "NotFoundError")


def validation_error(
    line: str, errors: list[dict[str, Any]], listed: int | None = None, *, more: bool = False
) -> VllmError:
    """FastAPI's RequestValidationError as vLLM's handler answers it: the message is `str()` of
    the error list (a Python repr: FastAPI of these releases gives the exception no __str__);
    0.8 types it BadRequestError, 0.11 "Bad Request". Past `listed` items (--max-errors) the
    list is cut and the message says so (vLLM lists every one)."""
    message = str(errors if listed is None else errors[:listed])
    if listed is not None and (more or len(errors) > listed):
        message += f" (the emulator lists the first {listed} errors: --max-errors)"
    return VllmError(400, message, "BadRequestError" if line == "0.8" else "Bad Request")


def http_exception(line: str, status: int, detail: str) -> VllmError:
    """FastAPI's HTTPException: its `{"detail": ...}` in 0.8; 0.11 writes it as an ErrorResponse
    typed by the status's phrase."""
    from http import HTTPStatus  # noqa: PLC0415

    if line == "0.8":
        return VllmError(status, detail, HTTPStatus(status).phrase, shape="detail")
    return VllmError(status, detail, HTTPStatus(status).phrase)


class Wire(NamedTuple):
    """What a vLLM answer needs that the canonical request does not say."""

    model: str
    """The `model` the answer echoes: 0.8 the name asked for (or the first served), 0.11 the
    first served name."""
    request_id: str | None
    """The body's `request_id` (the id is chatcmpl-<it> unless X-Request-Id says otherwise)."""
    include_usage: bool
    """The stream ends with a usage chunk (`stream_options.include_usage`, true once sent)."""
    continuous_usage: bool
    tool_mode: str
    """"none", "auto", "required" or "named": how tool calls are written (the jamba parser for
    "auto"; guided JSON for the others)."""
    line: str
    reasoning: str = "none"
    """How a choice's reasoning is written (`_reasoning_mode`)."""
    echo: str | None = None
    """A completion request's prompt, when `echo` asks for it before the text."""
    text: bool = False
    """A completion request (POST /v1/completions): answered as text_completion."""
    max_tokens: int = 0
    """The max_tokens vLLM samples with (given, else what the window leaves): /metrics counts it."""


def _body_model(schema_file: str, line: str) -> type[BaseModel]:
    schema = load_json(SCHEMA_DIR / schema_file)

    def known(name: str, spec: Mapping[str, Any]) -> bool:
        since = spec.get("x-vllm-since")
        return since is None or _release(since + ".0") <= _release(line + ".0")

    return model_from_schema(schema, known)


# The "before" validators of vLLM's ChatCompletionRequest, in the order pydantic runs them (the
# last defined first). Each takes the body (a dict, changed in place as vLLM's are) and raises
# ValueError with vLLM's text.


def _generation_prompt(data: dict[str, Any], line: str) -> None:
    if data.get("continue_final_message") and data.get("add_generation_prompt"):
        raise ValueError("Cannot set both `continue_final_message` and `add_generation_prompt` to True.")


def _cache_salt(data: dict[str, Any], line: str) -> None:
    salt = data.get("cache_salt")
    if line != "0.8" and salt is not None and (not isinstance(salt, str) or not salt):
        raise ValueError("Parameter 'cache_salt' must be a non-empty string if provided.")


class _Unhandled(Exception):
    """A validator raised what pydantic does not turn into a validation error: vLLM answers 500."""


def _tool_usage(data: dict[str, Any], line: str) -> None:  # noqa: PLR0912  (vLLM's, branch by branch)
    if "tool_choice" not in data and data.get("tools"):
        data["tool_choice"] = "auto"
    if "tool_choice" in data and data["tool_choice"] == "none":
        if line == "0.8":
            data.pop("tools", None)
        return
    if "tool_choice" in data and (line == "0.8" or data["tool_choice"] is not None):
        if "tools" not in data or data["tools"] is None:
            raise ValueError("When using `tool_choice`, `tools` must be set.")
        choice = data["tool_choice"]
        if choice not in ["auto", "required"] and not isinstance(choice, dict):
            text = (
                f"Invalid value for `tool_choice`: {choice}! "
                'Only named tools, "none", "auto" or "required" are supported.'
            )
            if line == "0.8":  # raised as NotImplementedError, which pydantic lets through
                raise _Unhandled(text)
            raise ValueError(text)
        if line != "0.8" and choice == "required" and isinstance(data["tools"], list) and not data["tools"]:
            data["tool_choice"] = "none"
            del data["tools"]
            return
        usage = 'Correct usage: `{"type": "function", "function": {"name": "my_function"}}`'
        if isinstance(choice, dict):
            function = choice.get("function")
            if line == "0.8":
                if not function:
                    raise ValueError(
                        'Expected field `function` in `tool_choice`. Correct usage: `{"type": "function",'
                        ' "function": {"name": "my_function"}}`'
                    )
                name = function.get("name")
                if not name:
                    raise ValueError(
                        'Expected field `name` in `function` in `tool_choice`.Correct usage: `{"type": '
                        '"function", "function": {"name": "my_function"}}`'
                    )
            else:
                if not isinstance(function, dict):
                    raise ValueError(f"Invalid value for `function`: `{function}` in `tool_choice`! {usage}")
                if "name" not in function:
                    raise ValueError(f"Expected field `name` in `function` in `tool_choice`! {usage}")
                name = function["name"]
                if not isinstance(name, str) or not name:
                    raise ValueError(f"Invalid `name` in `function`: `{name}` in `tool_choice`! {usage}")
            if not any(tool["function"]["name"] == name for tool in data["tools"]):
                raise ValueError(
                    "The tool specified in `tool_choice` does not match any of the specified `tools`"
                )


def _guided_count(data: dict[str, Any], line: str) -> None:
    if line == "0.8":
        count = sum(data.get(key) is not None for key in ("guided_json", "guided_regex", "guided_choice"))
        if count > 1:
            raise ValueError(
                "You can only use one kind of guided decoding "
                "('guided_json', 'guided_regex' or 'guided_choice')."
            )
        return
    outputs = data.get("structured_outputs")
    if outputs is None:
        return
    if sum(outputs.get(key) is not None for key in ("json", "regex", "choice")) > 1:
        raise ValueError(
            "You can only use one kind of constraints for structured outputs ('json', 'regex' or 'choice')."
        )


def _prompt_logprobs(data: dict[str, Any], line: str) -> tuple[str, tuple[int, ...]]:
    """The prompt_logprobs half of both requests' check_logprobs; (the "positive" wording, the
    values allowed below 0) of the line, for the rest of the check."""
    positive = "a positive value." if line == "0.8" else "a positive value or -1."
    allowed = () if line == "0.8" else (-1,)
    if (prompt_logprobs := data.get("prompt_logprobs")) is not None:
        if data.get("stream") and (prompt_logprobs > 0 or prompt_logprobs in allowed):
            raise ValueError("`prompt_logprobs` are not available when `stream=True`.")
        if prompt_logprobs < 0 and prompt_logprobs not in allowed:
            raise ValueError(f"`prompt_logprobs` must be {positive}")
    return positive, allowed


def _logprobs(data: dict[str, Any], line: str) -> None:
    positive, allowed = _prompt_logprobs(data, line)
    if (top_logprobs := data.get("top_logprobs")) is not None:
        if top_logprobs < 0 and top_logprobs not in allowed:
            raise ValueError(f"`top_logprobs` must be {positive}")
        if (top_logprobs > 0 or top_logprobs in allowed) and not data.get("logprobs"):
            raise ValueError("when using `top_logprobs`, `logprobs` must be set to true.")


def _stream_options(data: dict[str, Any], line: str) -> None:
    if data.get("stream_options") and not data.get("stream"):
        raise ValueError("Stream options can only be defined when `stream=True`.")


def _text_logprobs(data: dict[str, Any], line: str) -> None:
    """CompletionRequest's check_logprobs: `logprobs` is a count here."""
    _prompt_logprobs(data, line)
    if (logprobs := data.get("logprobs")) is not None and logprobs < 0:
        raise ValueError("`logprobs` must be a positive value.")


def _prompt_given(data: dict[str, Any], line: str) -> None:
    """0.11's validate_prompt_and_prompt_embeds (0.8's prompt is a required field instead)."""
    if line == "0.8":
        return
    prompt, embeds = data.get("prompt"), data.get("prompt_embeds")
    if (prompt is None or prompt == "") and (embeds is None or (isinstance(embeds, list) and not embeds)):
        raise ValueError("Either prompt or prompt_embeds must be provided and non-empty.")


_TEXT_BEFORE: tuple[Callable[[dict[str, Any], str], None], ...] = (
    _cache_salt,
    _prompt_given,
    _stream_options,
    _text_logprobs,
    _guided_count,
)
"""CompletionRequest's before-validators, in the order pydantic runs them."""

_BEFORE: tuple[Callable[[dict[str, Any], str], None], ...] = (
    _cache_salt,
    _generation_prompt,
    _tool_usage,
    _guided_count,
    _logprobs,
    _stream_options,
)


@dataclass(frozen=True, slots=True)
class VllmBody:
    """The vllm surface's dialects: they admit their requests themselves (`admit`), by vLLM's
    rules: the chat request's (`VLLM_CHAT`), or the completion request's (`VLLM_TEXT`, POST
    /v1/completions: a prompt, no chat template)."""

    name: str = "vllm"
    schema: str = SCHEMA
    text: bool = False
    """The completion request (a prompt), not the chat request."""
    _models: dict[str, type[BaseModel]] = field(default_factory=dict, compare=False, hash=False)
    _adapters: dict[str, TypeAdapter[Any]] = field(default_factory=dict, compare=False, hash=False)

    def model(self, line: str) -> type[BaseModel]:
        made = self._models.get(line)
        if made is None:
            made = self._models[line] = _body_model(self.schema, line)
        return made

    def _validated(self, line: str, data: dict[str, Any], listed: int) -> BaseModel:
        """The body through pydantic, or its field errors as FastAPI lists them, the first
        `listed` of them (--max-errors). A long `messages` list is checked a slice at a time
        and the search stops once `listed` errors are found: 700,000 broken messages cost
        pydantic 0.7 s and a 77 MB message otherwise (vLLM lists them all)."""
        model = self.model(line)
        messages = data.get("messages")
        errors: list[dict[str, Any]] = []
        if not self.text and isinstance(messages, list) and len(messages) > _SLICE:
            adapter = self.messages_adapter(line)
            for start in range(0, len(messages), _SLICE):
                try:
                    adapter.validate_python(messages[start : start + _SLICE])
                except ValidationError as error:
                    errors += [
                        {**item, "loc": ("body", "messages", int(item["loc"][0]) + start, *item["loc"][1:])}
                        for item in error.errors(include_url=False)
                    ]
                if len(errors) >= listed:
                    raise validation_error(line, errors, listed, more=True)
            checked = {**data, "messages": []}
        else:
            checked = data
        try:
            request = model.model_validate(checked)
        except ValidationError as error:
            errors += [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
        if errors:
            raise validation_error(line, errors, listed)
        if checked is not data:
            request.messages = messages  # type: ignore[attr-defined]  # validated above
        return request

    def messages_adapter(self, line: str) -> TypeAdapter[Any]:
        key = f"messages:{line}"
        if key not in self._adapters:
            annotation: Any = self.model(line).model_fields["messages"].annotation
            self._adapters[key] = TypeAdapter(annotation)
        return self._adapters[key]

    def admit(self, raw: bytes, params: RouteParams, admission: Admission, budget: Budget) -> Admitted:
        served = admission.served
        line = served.line
        data = fastapi_body(raw, params.media, line)
        if data is EMPTY:
            raise validation_error(
                line, [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
            )
        if not isinstance(data, dict):
            raise internal_error()  # vLLM's validators call data.get: AttributeError, a 500
        try:
            for validator in _TEXT_BEFORE if self.text else _BEFORE:
                validator(data, line)
        except ValueError as error:
            item = {
                "type": "value_error",
                "loc": ("body",),
                "msg": f"Value error, {error}",
                "input": data,
                "ctx": {"error": error},
            }
            raise validation_error(line, [item]) from None
        except (_Unhandled, TypeError, AttributeError, KeyError):
            raise internal_error() from None
        request = self._validated(line, data, budget.errors_listed)
        if self.text:
            return _serve_text(request, data, served, admission, budget)
        return _serve(request, data, served, admission, budget)


EMPTY = object()
"""No body was sent."""
_SLICE = 1000
"""Messages pydantic checks at a time when a request has more."""


def fastapi_body(raw: bytes, media: str, line: str) -> Any:
    """A vLLM route's body as FastAPI reads it (EMPTY when none was sent), then vLLM's media check
    (`validate_json_request`): JSON is parsed first when the content type is JSON or absent, so
    a body that is not JSON gets pydantic's json_invalid item before a missing content type's
    refusal; 0.8 refuses another type with 415, 0.11 with a 400."""
    data = _parsed(raw, media, line)
    if media != JSON_MEDIA:
        if line == "0.8":
            raise http_exception(line, 415, "Unsupported Media Type: Only 'application/json' is allowed")
        # 0.11 raises it as a RequestValidationError of one string: its handler writes
        # str(exc) and str(exc.errors()) apart, the first empty (hence the leading space).
        raise VllmError(
            400, " [\"Unsupported Media Type: Only 'application/json' is allowed\"]", "Bad Request"
        )
    return data


def _parsed(raw: bytes, media: str, line: str) -> Any:
    """The body as FastAPI reads it: JSON when the content type is JSON or absent; an error as
    FastAPI raises it (pydantic's json_invalid item, or its 400 for bytes json cannot read)."""
    if not raw:
        return EMPTY
    if media not in ("", JSON_MEDIA) and not media.endswith("+json"):
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        item = {
            "type": "json_invalid",
            "loc": ("body", error.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": error.msg},
        }
        raise validation_error(line, [item]) from None
    except (ValueError, RecursionError):  # bytes that are not text; nesting past Python's limit
        raise http_exception(line, 400, "There was an error parsing the body") from None


def _serve(
    request: BaseModel, data: dict[str, Any], served: Served, admission: Admission, budget: Budget
) -> Admitted:
    """The serving layer's checks (model, tools, template, context window, sampling) and the
    canonical request."""
    from .admission import Admitted, usable_schema  # noqa: PLC0415  (admission imports this module)

    line = served.line
    fields: Any = request
    checkpoint = served.checkpoint(fields.model)
    tool_choice = fields.tool_choice
    if tool_choice == "auto" and not (served.auto_tools and served.tool_call_parser):
        raise bad_request(
            '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
        )
    messages = [_message(message) for message in data["messages"]]
    for document in fields.documents or ():
        if "text" not in document:
            raise bad_request("'dict object' has no attribute 'text'" + ("" if line == "0.8" else " None"))
    window = budget.prompt_window = served.window(checkpoint)
    counted = tuple(
        Message(m["role"], m["text"], m.get("tool_call_id"))
        for m in messages
        if m["text"] or m["role"] != "system"
    )
    # The tools the template shows (0.8's validator drops them for "none"; 0.11 keeps them), and
    # those the answer may call: none unless tool choice is auto, required or named.
    shown = tuple(
        Tool(
            tool.function.name,
            tool.function.description or "",
            encode_canonical(tool.function.parameters or {}),
        )
        for tool in (fields.tools or ())
    )
    mode = "named" if isinstance(tool_choice, BaseModel) else (tool_choice or "none")
    # vLLM takes any parameters schema; the answer calls only tools whose schema it can write for
    # (one that refers outside itself, or past the budget, is shown but never called).
    tools = tuple(tool for tool in shown if usable_schema(tool.parameters, budget)) if mode != "none" else ()
    documents = tuple(
        " ".join(value for key, value in document.items()) for document in fields.documents or ()
    )
    prompt_tokens = admission.count_prompt(
        counted, [*documents, *(f"{t.name} {t.description} {t.parameters}" for t in shown)], window
    )
    budget.tokens = prompt_tokens
    max_tokens = fields.max_completion_tokens or fields.max_tokens
    _check_window(line, window, prompt_tokens, max_tokens)
    budget_tokens = window - prompt_tokens
    effective_max = min(value for value in (budget_tokens, max_tokens) if value is not None)
    temperature, top_p, stop = _sampled(line, fields, effective_max)
    response_format = fields.response_format
    chat = ChatRequest(
        checkpoint.model or checkpoint.id,
        counted,
        effective_max,
        temperature,
        top_p,
        stop,
        int(fields.n),
        bool(fields.stream),
        prompt_tokens,
        tools=tools,
        documents=documents,
        json_mode=response_format is not None and response_format.type in ("json_object", "json_schema"),
        results=_results(messages),
        reasoning=checkpoint.reasoning_parser is not None,
        tool_choice=tool_choice.function.name if mode == "named" else "" if mode == "required" else None,
    )
    wire = Wire(
        served.echoed(fields.model),
        fields.request_id,
        *_stream_usage(fields),
        mode if tools else "none",
        line,
        _reasoning_mode(checkpoint, served, getattr(fields, "include_reasoning", True)),
        max_tokens=effective_max,
    )
    return Admitted(chat, _unknown(data, request), (), 0, wire)


def _serve_text(
    request: BaseModel, data: dict[str, Any], served: Served, admission: Admission, budget: Budget
) -> Admitted:
    """serving_completion's checks for one prompt (a list of prompts is served as its first:
    the emulator answers one prompt a request), and the canonical request: the prompt as one
    message, its tokens counted without a chat template (a BOS added unless told not to)."""
    from .admission import Admitted  # noqa: PLC0415

    line = served.line
    fields: Any = request
    checkpoint = served.checkpoint(fields.model)
    if fields.suffix is not None:
        raise bad_request("suffix is not currently supported")
    prompt = _prompt_text(fields.prompt)
    window = budget.prompt_window = served.window(checkpoint)
    prompt_tokens = admission.count_text(prompt, window) + (1 if fields.add_special_tokens else 0)
    budget.tokens = prompt_tokens
    max_tokens = fields.max_tokens
    _check_window(line, window, prompt_tokens, max_tokens, chat=False)
    effective_max = min(value for value in (window - prompt_tokens, max_tokens) if value is not None)
    temperature, top_p, stop = _sampled(line, fields, effective_max)
    chat = ChatRequest(
        checkpoint.model or checkpoint.id,
        (Message("user", prompt),),
        effective_max,
        temperature,
        top_p,
        stop,
        int(fields.n),
        bool(fields.stream),
        prompt_tokens,
        json_mode=fields.response_format is not None and fields.response_format.type != "text",
    )
    wire = Wire(
        served.echoed(fields.model),
        getattr(fields, "request_id", None),
        *_stream_usage(fields),
        "none",
        line,
        "none",
        echo=prompt if fields.echo else None,
        text=True,
        max_tokens=effective_max,
    )
    return Admitted(chat, _unknown(data, request), (), 0, wire)


def _sampled(line: str, fields: Any, max_tokens: int) -> tuple[float, float, tuple[str, ...]]:
    """temperature, top_p and stop as vLLM samples with them: its defaults (1.0, 1.0, none),
    SamplingParams' checks, and greedy sampling's top_p of 1."""
    temperature = 1.0 if fields.temperature is None else float(fields.temperature)
    top_p = 1.0 if fields.top_p is None else float(fields.top_p)
    stop = [] if fields.stop is None else [fields.stop] if isinstance(fields.stop, str) else list(fields.stop)
    _sampling_checks(line, fields, temperature, top_p, max_tokens=max_tokens, stop=stop)
    return temperature, 1.0 if temperature < 1e-5 else top_p, tuple(stop)


def _stream_usage(fields: Any) -> tuple[bool, bool]:
    """(include_usage, continuous_usage_stats): true only once stream_options is sent."""
    options = fields.stream_options
    include = bool(options is not None and options.include_usage)
    return include, bool(include and options.continuous_usage_stats)


def _unknown(data: dict[str, Any], request: BaseModel) -> tuple[str, ...]:
    """The fields vLLM accepts and ignores (extra=allow), named as the emulator names them."""
    return tuple(sorted(set(data) - set(type(request).model_fields)))


def _prompt_text(prompt: Any) -> str:
    """A prompt as text: a string, the first of a list of them, or token ids read back as the
    emulator's stand-in tokenizer writes them (/detokenize)."""
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], list):
        prompt = prompt[0]
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], str):
        return str(prompt[0])
    if isinstance(prompt, list):
        return " ".join(f"t{token}" for token in prompt)
    return str(prompt or "")


def _reasoning_mode(checkpoint: Checkpoint, served: Served, include: bool) -> str:
    """ "parsed": the reasoning parser puts the thinking in `reasoning_content`; "dropped": so,
    but `include_reasoning: false` leaves it out; "inline": no parser, the thinking stays in the
    content between <think> tags; "all": deepseek_r1's parser on a model that never writes
    </think> takes the whole answer for reasoning (content null); "none": nothing to write."""
    if checkpoint.reasoning_parser is not None:
        if served.reasoning_parser is None:
            return "inline"
        return "parsed" if include else "dropped"
    if served.reasoning_parser == "deepseek_r1":
        return "all" if include else "dropped-all"
    return "none"


def _check_window(
    line: str, window: int, prompt_tokens: int, max_tokens: int | None, *, chat: bool = True
) -> None:
    """serving_engine._validate_input: the prompt, and the prompt with max_tokens, within the
    window, in each line's words (0.11's reach the client with " None" appended: its chat path
    writes f"{e} {e.__cause__}")."""
    suffix = "" if line == "0.8" or not chat else " None"
    if max_tokens is None and prompt_tokens >= window:
        if line == "0.8":
            raise bad_request(
                f"This model's maximum context length is {window} tokens. However, you requested "
                f"{prompt_tokens} tokens in the messages, Please reduce the length of the messages."
            )
        raise bad_request(
            f"This model's maximum context length is {window} tokens. However, your request has "
            f"{prompt_tokens} input tokens. Please reduce the length of the input messages.{suffix}"
        )
    if line != "0.8" and prompt_tokens >= window:
        raise bad_request(
            f"This model's maximum context length is {window} tokens. However, your request has "
            f"{prompt_tokens} input tokens. Please reduce the length of the input messages.{suffix}"
        )
    if max_tokens is not None and prompt_tokens + max_tokens > window:
        if line == "0.8":
            raise bad_request(
                f"This model's maximum context length is {window} tokens. However, you requested "
                f"{max_tokens + prompt_tokens} tokens ({prompt_tokens} in the messages, {max_tokens} in the "
                "completion). Please reduce the length of the messages or completion."
            )
        raise bad_request(
            f"'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This model's maximum "
            f"context length is {window} tokens and your request has {prompt_tokens} input tokens "
            f"({max_tokens} > {window} - {prompt_tokens}).{suffix}"
        )


def _sampling_checks(
    line: str, fields: Any, temperature: float, top_p: float, *, max_tokens: int, stop: list[str]
) -> None:
    """vLLM's SamplingParams: __post_init__ then _verify_args, in order (0.11 reads top_k 0 as
    "disabled" and checks best_of itself; its V1 engine then refuses best_of above 1)."""
    n = fields.n if fields.n is not None else 1
    best_of = fields.best_of
    if best_of and best_of < n:
        raise bad_request(f"best_of must be greater than or equal to n, got n={n} and best_of={best_of}.")
    if best_of:
        n = best_of  # vLLM samples best_of sequences, and checks them as n
    presence = 0.0 if fields.presence_penalty is None else float(fields.presence_penalty)
    frequency = 0.0 if fields.frequency_penalty is None else float(fields.frequency_penalty)
    repetition = 1.0 if fields.repetition_penalty is None else float(fields.repetition_penalty)
    top_k = (-1 if line == "0.8" else 0) if fields.top_k is None else fields.top_k
    min_p = 0.0 if fields.min_p is None else float(fields.min_p)
    temperature = float(temperature)
    if 0 < temperature < 1e-2:
        temperature = 1e-2
    checks = (
        (n < 1, f"n must be at least 1, got {n}."),
        (line != "0.8" and best_of is not None and best_of < 1, f"best_of must be at least 1, got {best_of}"),
        (not -2.0 <= presence <= 2.0, f"presence_penalty must be in [-2, 2], got {presence}."),
        (not -2.0 <= frequency <= 2.0, f"frequency_penalty must be in [-2, 2], got {frequency}."),
        (repetition <= 0.0, f"repetition_penalty must be greater than zero, got {repetition}."),
        (temperature < 0.0, f"temperature must be non-negative, got {temperature}."),
        (not 0.0 < float(top_p) <= 1.0, f"top_p must be in (0, 1], got {float(top_p)}."),
        (
            (top_k < -1 or top_k == 0, f"top_k must be -1 (disable), or at least 1, got {top_k}.")
            if line == "0.8"
            else (top_k < -1, f"top_k must be 0 (disable), or at least 1, got {top_k}.")
        ),
        (not 0.0 <= min_p <= 1.0, f"min_p must be in [0, 1], got {min_p}."),
        (max_tokens < 1, f"max_tokens must be at least 1, got {max_tokens}."),
        (fields.min_tokens < 0, f"min_tokens must be greater than or equal to 0, got {fields.min_tokens}."),
        (
            fields.min_tokens > max_tokens,
            f"min_tokens must be less than or equal to max_tokens={max_tokens}, got {fields.min_tokens}.",
        ),
        (any(not text for text in stop), "stop cannot contain an empty string."),
    )
    for failed, message in checks:
        if failed:
            raise bad_request(message)
    if temperature < 1e-5 and n > 1:
        raise bad_request(f"n must be 1 when using greedy sampling, got {n}.")
    if line != "0.8" and best_of is not None and best_of > 1:
        raise bad_request("vLLM V1 does not yet support best_of.")
    if n > MAX_CHOICES:  # the emulator's bound, past vLLM's checks: a billion choices is no test
        raise bad_request(
            f"n must be at most {MAX_CHOICES} on the emulator (vLLM sets none; its batch does), got {n}."
        )


def _message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A message with its text as the template reads it: a string, or the text parts joined."""
    content = message.get("content")
    if isinstance(content, list):
        text = "\n".join(
            part["text"]
            for part in content
            if part.get("type") == "text" and isinstance(part.get("text"), str)
        )
    else:
        text = content or ""
    for call in message.get("tool_calls") or ():
        function = call.get("function")
        if isinstance(function, dict):
            text += f"{function.get('name', '')}({function.get('arguments', '')})"
    return {**message, "text": text}


def _results(messages: list[dict[str, Any]]) -> tuple[Any, ...]:
    """The tool results that end the conversation, when its tool calls are well formed (vLLM's
    template would fail on the others, the emulator answers them as text)."""
    from .admission import tool_results  # noqa: PLC0415

    if not messages or messages[-1]["role"] != "tool":
        return ()
    try:
        return tool_results([{**message, "content": message["text"]} for message in messages])
    except (KeyError, TypeError, AttributeError):
        return ()


VLLM_CHAT = VllmBody()
VLLM_TEXT = VllmBody("vllm-text", TEXT_SCHEMA, text=True)
