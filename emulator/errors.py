"""The emulator's exceptions, all of them, and what an answer's error is made of.

    Exception
    ├── EmulatorError             an answer to a request: status + detail (each surface writes the body)
    │   ├── Unauthorized          401, missing or rejected API key
    │   ├── BadCredentials        403, a missing, malformed or rejected AWS signature (Bedrock)
    │   ├── HttpStatusError       404, 405...: routing errors, FastAPI's default wording
    │   ├── Retired               404 for the SDKs' APIs retired with the Jamba API, saying so
    │   ├── BodyTooLarge          413, the connection closed (the rest of the body is not read)
    │   ├── RequestTimeout        408, the body did not arrive in time; the connection closed
    │   ├── UnsupportedModel      422, string detail
    │   ├── ValidationFailed      422, list of {loc, msg, type} items
    │   ├── AdminError            400/401/403 from the admin API, in the emulator's own words
    │   ├── BadTestId             400, an X-Emulator-Test-Id that cannot name a test scope
    │   ├── ScopeForgotten        410, a test scope evicted (too many others) since it was reset
    │   ├── ScriptedError         any status a fixture rule (or a --fault-rate draw) answers with
    │   ├── RateLimited           429 with Retry-After, from the emulated rate limit (--rate-limit)
    │   ├── Unmatched             404 when --unmatched error and no rule answers: the closest rules
    │   └── InternalError         500, anything unexpected
    ├── UnusableInput (ValueError)  something the emulator was given cannot be used; the message
    │   │                           names it and what to do
    │   ├── ConfigError           a setting (flag, variable, plugin option)
    │   ├── FixtureError          a fixture file, or a fixture body sent to the admin API
    │   ├── PatternError          a regex the linear-time engine cannot run (in a fixture: a FixtureError)
    │   ├── RefusedReference      a tool schema's $ref outside the schema (a 422 value_error.schema_ref)
    │   └── SchemaFileError       a shipped schema or catalog file is invalid (a packaging bug)
    └── Signal                    control flow inside one module, never raised out of it
        ├── TooLarge              answer.structured: a schema asks for a value past its size limit
        └── Stopped               http.streaming: the server began to stop during a paced pause

Pure: no aiohttp here, so errors can be raised by every wing and unit-tested.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, NamedTuple, TypedDict

Loc = tuple[str | int, ...]

UNAUTHORIZED_DETAIL = "Forbidden: Bad or missing Apikey/JWT."
DOCUMENTED_DETAILS = {
    401: UNAUTHORIZED_DETAIL,  # the body observed from the real service
    429: "Too Many Requests (You are sending requests too quickly.)",
    500: "Internal Server Error",
    503: "Service Unavailable (The engine is currently overloaded, please try again later)",
}
"""The `detail` of a scripted error that gives none (policy): the phrases AI21's chat reference
documented for these statuses; any other status gets its reason phrase."""
UNSUPPORTED_MODEL_DETAIL = (
    "The provided model is not supported. See "
    "https://docs.ai21.com/docs/jamba-foundation-models#api-versioning "
    "for a list of supported models"
)


class ErrorItemBody(TypedDict):
    loc: list[str | int]
    msg: str
    type: str


class ErrorItem(NamedTuple):
    """One validation problem, as a pydantic-v1 error: where (`loc`), what (`msg`), which (`type`)."""

    loc: Loc
    msg: str
    type: str

    def to_json(self) -> ErrorItemBody:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


class EmulatorError(Exception):
    status: int = 500
    close_connection: bool = False
    """Whether the connection closes after the answer (the request was not read to its end)."""

    def detail(self) -> Any:
        return str(self)

    def headers(self) -> dict[str, str]:
        """Extra response headers (e.g. Retry-After)."""
        return {}


class Unauthorized(EmulatorError):
    status = 401

    def __init__(self) -> None:
        super().__init__(UNAUTHORIZED_DETAIL)


class BadCredentials(EmulatorError):
    """An AWS request's SigV4 `Authorization` is missing, malformed or not accepted: 403 with
    the error `code` AWS names it by (MissingAuthenticationToken, IncompleteSignature...)."""

    status = 403

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class HttpStatusError(EmulatorError):
    """An error raised by the HTTP layer (routing), worded as FastAPI does: the reason phrase."""

    def __init__(self, status: int) -> None:
        super().__init__(reason_phrase(status))
        self.status = status


class Retired(EmulatorError):
    """A path of an AI21 API retired with the Jamba API that the SDKs still expose."""

    status = 404

    def __init__(self, path: str, served: str) -> None:
        super().__init__(
            f"Not Found: {path} belongs to an AI21 API retired with the Jamba API on 2026-08-09 "
            f"(the file library and its batches, conversational RAG, Maestro, assistants, batches); "
            f"the emulator serves {served}"
        )


class BodyTooLarge(EmulatorError):
    status = 413
    close_connection = True

    def __init__(self, limit: int, remedy: str | None = None) -> None:
        remedy = remedy or "raise it with --max-body-size or JAMBA_EMULATOR_MAX_BODY_SIZE"
        super().__init__(f"Request body is larger than the emulator's limit of {limit} bytes ({remedy})")


class RequestTimeout(EmulatorError):
    status = 408
    close_connection = True

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"Request Timeout: the request body did not arrive within {seconds:g} s "
            "(raise the limit with --request-timeout or JAMBA_EMULATOR_REQUEST_TIMEOUT)"
        )


class UnsupportedModel(EmulatorError):
    status = 422

    def __init__(self, model: str) -> None:
        super().__init__(UNSUPPORTED_MODEL_DETAIL)
        self.model = model


class ValidationFailed(EmulatorError):
    status = 422

    def __init__(self, items: list[ErrorItem]) -> None:
        if not items:
            raise ValueError("ValidationFailed needs at least one ErrorItem")
        super().__init__()
        self.items = tuple(items)

    def __str__(self) -> str:  # written when asked for, not for every 422
        return "; ".join(f"{'.'.join(map(str, i.loc))}: {i.msg}" for i in self.items)

    def detail(self) -> list[ErrorItemBody]:
        return [item.to_json() for item in self.items]


class AdminError(EmulatorError):
    """The admin API (/_emulator) refuses a request; the message says what to do instead."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BadTestId(EmulatorError):
    """An X-Emulator-Test-Id header that cannot name a test scope (empty, or too long)."""

    status = 400


class ScopeForgotten(EmulatorError):
    """A test scope's rules and counts were forgotten to make room for newer scopes: what its test
    expected can no longer be checked, so reading them fails instead of answering nothing."""

    status = 410

    def __init__(self, scope: str, kept: int) -> None:
        shown = scope if len(scope) <= 80 else scope[:77] + "..."
        super().__init__(
            f"test scope {shown!r} was forgotten: {kept:,} other scopes were used after it, and the "
            f"emulator keeps {kept:,}, so its rules and their counts are gone. Reset finished tests' "
            "scopes (the pytest plugin does), or share the emulator among fewer tests at once"
        )


class ScriptedError(EmulatorError):
    """An error a fixture rule answers with: its status, `detail` (default: DOCUMENTED_DETAILS,
    else the reason phrase)."""

    def __init__(self, status: int, detail: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(DOCUMENTED_DETAILS.get(status) or reason_phrase(status))
        self.status = status
        self._detail = detail
        self._headers = dict(headers or {})

    def detail(self) -> Any:
        return self._detail if self._detail is not None else str(self)

    def headers(self) -> dict[str, str]:
        return dict(self._headers)


class RateLimited(EmulatorError):
    status = 429

    def __init__(self, retry_after: int, limits: str) -> None:
        super().__init__(
            f"Too Many Requests: the rate limit for this API key ({limits}) is used up; "
            f"retry after {retry_after} s"
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unmatched(EmulatorError):
    """No scripted rule answered and the server was told not to make an answer up."""

    status = 404

    def __init__(self, closest: list[tuple[str, list[str]]]) -> None:
        lines = ["No scripted rule matches this request (the emulator runs with --unmatched error)."]
        if not closest:
            lines.append("There are no rules: load some with --fixtures or POST /_emulator/rules.")
        else:
            lines.append("Closest rules:")
            lines.extend(f"- {name}: {'; '.join(reasons) or 'fits'}" for name, reasons in closest)
        super().__init__("\n".join(lines))

    def headers(self) -> dict[str, str]:
        return {"X-Emulator-Unmatched": "true"}


class InternalError(EmulatorError):
    status = 500

    def __init__(self) -> None:
        super().__init__("Internal Server Error")


class UnusableInput(ValueError):
    """Something the emulator was given cannot be used; the message names it and the fix."""


class ConfigError(UnusableInput):
    """A setting has a value the emulator cannot use; the message names it and the fix."""


class FixtureError(UnusableInput):
    """A fixture file cannot be used; the message names the file, the rule and the field."""


class PatternError(UnusableInput):
    """A pattern the linear-time engine cannot run; the message names what to change."""


class RefusedReference(UnusableInput):
    """A tool schema refers to something outside itself; the message names the reference."""


class SchemaFileError(UnusableInput):
    """A shipped schema or catalog file is itself invalid (a packaging bug, reported at start)."""


class Signal(Exception):
    """Control flow inside one module; never raised out of it."""


class TooLarge(Signal):
    """A schema asks for a value past the structured writer's size limit."""


class Stopped(Signal):
    """The server began to stop during a paced stream's pause: the rest is not sent."""


def reason_phrase(status: int) -> str:
    """The standard reason phrase ("Not Found"); "Error" for a status HTTP does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
