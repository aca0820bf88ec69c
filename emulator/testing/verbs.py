"""The scripting verbs every emulator object of the Python API has (`reply`, `error`, `fault`,
`sequence`, ...), as fixture rules (schemas/fixtures.schema.json), and what it reads: the journal,
the rules, the resilience report. Subclasses say where rules go: in process, or over the admin API."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from ..chat.request import ChatRequest
from ..script.resilience import WINDOW, Report
from ..script.resilience import report as resilience
from ..script.scope import SCOPE_HEADER

DEFAULT_API_KEY = "jamba-emulator-test-key"
RAISED_KEPT = 100


class Scripting:
    """What every emulator seen from a test offers: its URLs, and the verbs that add rules."""

    url: str
    """The server's root URL, e.g. http://127.0.0.1:41234."""
    api_key: str
    """A key the emulator accepts (the value the fixture puts in AI21_API_KEY)."""
    scope: str | None
    """The test scope this object works in (None: the global scope)."""

    def __init__(self) -> None:
        self._names = itertools.count(1)
        self.added: list[str] = []
        """The names of the rules added through this object, in order."""
        self.checked = True
        """Whether the pytest plugin checks, when the test ends, that what it expected happened."""

    @property
    def headers(self) -> dict[str, str]:
        """The headers a client sends to be in this object's test scope (none for the global
        scope): the ai21 SDK's `headers=`, the OpenAI client's `default_headers=`."""
        return {SCOPE_HEADER: self.scope} if self.scope is not None else {}

    @property
    def api_host(self) -> str:
        """The base URL SDKs need: AI21_API_HOST for the ai21 SDK, `base_url` for OpenAI's client."""
        from ..http.surfaces.studio import PREFIX  # noqa: PLC0415  (this module stays free of aiohttp)

        return self.url + PREFIX

    @property
    def bedrock_url(self) -> str:
        """For Bedrock's clients: boto3's `endpoint_url`, AI21BedrockClient's `base_url` (the root)."""
        return self.url

    @property
    def vllm_base_url(self) -> str:
        """The vllm surface's base URL: the OpenAI client's `base_url` (and LangChain's ChatOpenAI's),
        litellm's `api_base` for `hosted_vllm/...` (HOSTED_VLLM_API_BASE)."""
        return self.url + "/v1"

    @property
    def vertex_base_url(self) -> str:
        """AI21VertexClient's `base_url` (with any project_id, region and access_token)."""
        return self.url + "/v1"

    @property
    def azure_base_url(self) -> str:
        """AI21AzureClient's `base_url` (with any api_key)."""
        return self.url

    def aws_environment(self) -> dict[str, str]:
        """What boto3 and AI21BedrockClient read to reach this emulator without being told:
        fake credentials, a region, and AWS_ENDPOINT_URL_BEDROCK_RUNTIME. Opt-in (see
        `use_aws`), so that suites that also talk to real AWS or moto are not disturbed."""
        return {
            "AWS_ACCESS_KEY_ID": "AKIDJAMBAEMULATOR",
            "AWS_SECRET_ACCESS_KEY": "jamba-emulator",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.bedrock_url,
        }

    def use_aws(self, monkeypatch: Any) -> None:
        """Set `aws_environment()` for this test only (`monkeypatch`: pytest's fixture), and unset
        AWS_PROFILE and AWS_SESSION_TOKEN, which would otherwise win over the fake keys."""
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for name, value in self.aws_environment().items():
            monkeypatch.setenv(name, value)

    @property
    def requests(self) -> list[Any]:
        """The journal (of this object's scope), oldest first: each request's method, path,
        headers (API key redacted), `body` (parsed JSON), `status` (None if dropped before an
        answer), `rule`, `fault`, `scope`."""
        raise NotImplementedError

    @property
    def rules(self) -> list[dict[str, Any]]:
        """The rules a request in this object's scope sees, with how often each has answered
        there (`calls`), and its `times`, `expect`, `replies`, `used_up` and `scope`."""
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def report(self, window: float | None = None) -> Report:
        """The resilience report of this scope's journal (script/resilience.py): how the client
        behaved under the faults it met. `report().failed(["retry_after_ignored"])` lists the
        named verdicts that failed; `print(report().text())` shows them all."""
        return resilience(self.requests, WINDOW if window is None else window)

    def add_rules(self, *rules: Mapping[str, Any]) -> list[str]:
        """Add fixture rules as they are written in a fixture file; returns their names.
        Raises FixtureError, naming the rule and the field, if one is not a valid rule."""
        named = [{"name": f"rule {next(self._names)}", **rule} for rule in rules]
        names = self._add_rules(named)
        self.added += names
        return names

    def _add_rules(self, rules: list[dict[str, Any]]) -> list[str]:
        raise NotImplementedError

    def reply(
        self,
        content: str | Callable[[ChatRequest], Any] | None = None,
        *,
        match: Mapping[str, Any] | None = None,
        times: int | None = None,
        expect: int | None = None,
        **reply: Any,
    ) -> str:
        """Answer matching requests with `content` (cut by max_tokens and stop, streamed when asked,
        counted); `reply` takes the other reply fields: finish_reason, timing, fault. `expect`:
        the rule must answer exactly this many times (checked when the test ends).

        `content` may be a callable (in-process only): given each matching request (a
        `ChatRequest`: model, messages, tools...), it returns the content (a str), a fixture reply
        (e.g. `{"error": {"status": 429}}`, `{"fault": {"kind": "drop_mid_stream"}}`), or None
        for the generated answer. It runs on the server's thread; an exception it raises answers
        500 and is kept in `raised`, and the pytest plugin raises it again in the test."""
        if callable(content):
            return self._add_callable(content, match, times, expect)
        return self._add({**_given(content=content), **reply}, match, times, expect)

    def _add_callable(
        self,
        make: Callable[[ChatRequest], Any],
        match: Mapping[str, Any] | None,
        times: int | None,
        expect: int | None,
    ) -> str:
        raise TypeError(
            "a callable reply runs in the server's process: use it with an in-process emulator "
            "(the plugin's own, or a BackgroundServer), not an attached one"
        )

    def tool_call(
        self,
        name: str,
        arguments: Mapping[str, Any] | str | None = None,
        *,
        match: Mapping[str, Any] | None = None,
        times: int | None = None,
        expect: int | None = None,
        **reply: Any,
    ) -> str:
        """Answer matching requests by calling the tool `name` (content null, finish_reason
        tool_calls). `arguments`: an object (sent as JSON), a string (sent as written, valid JSON or
        not), or None to generate them from the tool's parameters schema in the request. For several
        calls in one answer: `reply(tool_calls=[{"name": ...}, ...])`."""
        call = {"name": name, **_given(arguments=arguments)}
        return self._add({"tool_calls": [call], **reply}, match, times, expect)

    def error(
        self,
        status: int,
        detail: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        match: Mapping[str, Any] | None = None,
        times: int | None = None,
        expect: int | None = None,
        timing: Mapping[str, int] | None = None,
    ) -> str:
        """Answer matching requests with an error: `{"detail": detail}` (default: the reason phrase)."""
        error = {"status": status, **_given(detail=detail, headers=headers)}
        return self._add({"error": error, **_given(timing=timing)}, match, times, expect)

    def fault(
        self,
        kind: str,
        *,
        after_events: int | None = None,
        stall_ms: int | None = None,
        content: str | None = None,
        match: Mapping[str, Any] | None = None,
        times: int | None = None,
        expect: int | None = None,
    ) -> str:
        """Break matching answers: drop_before_response, drop_mid_stream, malformed_chunk or stall."""
        fault = {"kind": kind, **_given(after_events=after_events, stall_ms=stall_ms)}
        return self._add({"fault": fault, **_given(content=content)}, match, times, expect)

    def sequence(self, *replies: Mapping[str, Any], match: Mapping[str, Any] | None = None) -> str:
        """One reply per matching call, in order (e.g. `{"error": {"status": 503}}`, then
        `{"content": "..."}`); after the last, matching requests get the generated answer. Under
        the plugin, a sequence not used up when the test ends fails the test."""
        (name,) = self.add_rules({"replies": list(replies), **_given(match=match)})
        return name

    def _add(
        self, reply: dict[str, Any], match: Mapping[str, Any] | None, times: int | None, expect: int | None
    ) -> str:
        (name,) = self.add_rules({"reply": reply, **_given(match=match, times=times, expect=expect)})
        return name


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
