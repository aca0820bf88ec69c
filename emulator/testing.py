"""The Python API tests use to script an emulator and read its journal: `JambaEmulator` (a server
in this process) and `AttachedEmulator` (one already running elsewhere, driven through its admin
API), the objects the pytest fixture `jamba_emulator` hands to each test (emulator/pytest_plugin.py).

Every rule they add is a fixture rule (schemas/fixtures.schema.json), checked by the same schema as
a file, so a mistake fails the test at once with the field named.

    def test_refund(jamba_emulator):
        jamba_emulator.reply("Your refund is on its way.", match={"last_user": {"contains": "refund"}})
        jamba_emulator.error(429, headers={"Retry-After": "1"}, times=1)
        ...
        assert jamba_emulator.requests[-1].body["messages"][-1]["content"] == "Where is my refund?"

Both can work in a test scope (script/scope.py): their rules, journal and reset are then the
scope's, and `headers` is what a client sends to be in it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

from .admin_client import AdminClient, AdminRefused
from .chat.request import ChatRequest
from .config import Config
from .core import Core
from .errors import FixtureError, ScriptedError
from .script.fixtures import rules_from
from .script.journal import Entry
from .script.replies import GENERATED, Reply
from .script.resilience import WINDOW, Report
from .script.resilience import report as resilience
from .script.rules import Rule
from .script.scope import SCOPE_HEADER

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
        from .http.surfaces.studio import PREFIX  # noqa: PLC0415  (this module stays free of aiohttp)

        return self.url + PREFIX

    @property
    def bedrock_url(self) -> str:
        """For Bedrock's clients: boto3's `endpoint_url`, AI21BedrockClient's `base_url` (the root)."""
        return self.url

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


class JambaEmulator(Scripting):
    """A running emulator in this process (its `core`), seen from a test."""

    def __init__(self, url: str, core: Core, api_key: str | None = None, *, scope: str | None = None) -> None:
        super().__init__()
        self.url = url
        self.core = core
        self.raised: list[Exception] = []
        """Exceptions the test's reply callables raised (the first RAISED_KEPT)."""
        self.api_key = api_key or (core.config.api_keys[0] if core.config.api_keys else DEFAULT_API_KEY)
        self.scope = scope

    @property
    def config(self) -> Config:
        return self.core.config

    @property
    def requests(self) -> list[Entry]:
        return self.core.journal.entries(scope=self.scope)

    @property
    def rules(self) -> list[dict[str, Any]]:
        return self.core.script.described(self.scope)

    def _add_rules(self, rules: list[dict[str, Any]]) -> list[str]:
        return [rule.name for rule in self._added(rules)]

    def _added(self, rules: list[dict[str, Any]], replies: tuple[Reply, ...] | None = None) -> list[Rule]:
        added = rules_from({"rules": rules}, "jamba_emulator")
        if replies is not None:
            for rule in added:
                rule.replies = replies
        self.core.script.add(added, self.scope)
        return added

    def _add_callable(
        self,
        make: Callable[[ChatRequest], Any],
        match: Mapping[str, Any] | None,
        times: int | None,
        expect: int | None,
    ) -> str:
        def reply_for(request: ChatRequest) -> Reply:
            try:
                return self._as_reply(make(request))
            except Exception as error:  # the test's own code: kept, raised again in the test
                if len(self.raised) < RAISED_KEPT:
                    self.raised.append(error)
                detail = f"the test's reply callable raised {type(error).__name__}: {error}"
                raise ScriptedError(500, detail[:1000]) from None

        rule = {
            "name": f"rule {next(self._names)}",
            "reply": {},
            **_given(match=match, times=times, expect=expect),
        }
        (added,) = self._added([rule], (Reply(call=reply_for),))
        self.added.append(added.name)
        return added.name

    def _as_reply(self, made: Any) -> Reply:
        """What a reply callable returned, as a Reply."""
        if made is None:
            return GENERATED
        if isinstance(made, str):
            return Reply(content=made)
        if isinstance(made, Mapping):
            (rule,) = rules_from({"rules": [{"reply": dict(made)}]}, "a reply callable")
            return rule.replies[0]
        raise TypeError(
            f"a reply callable returns a str, a fixture reply (a dict) or None, not {type(made).__name__}"
        )

    def reset(self) -> None:
        """Journal emptied, rules back to the fixture files' (unused), rate limits and faults
        restarted; in a scope, only the scope's journal entries, rules and counts."""
        self.core.reset(self.scope)


class AttachedEmulator(Scripting):
    """An emulator already running (another process, a container), driven through its admin API;
    everything it adds and reads is in its test scope (the pytest plugin's: the test's node id)."""

    TIMEOUT = 10.0
    """Seconds one admin call may take in all (admin_client.py)."""

    def __init__(
        self, url: str, scope: str | None, api_key: str | None = None, admin_token: str | None = None
    ) -> None:
        super().__init__()
        self.url = url.rstrip("/")
        self.scope = scope
        self.api_key = api_key or DEFAULT_API_KEY
        self.admin_token = admin_token

    @property
    def requests(self) -> list[Entry]:
        return self._recorded("/journal")

    @property
    def rules(self) -> list[dict[str, Any]]:
        return self._listed("/rules", "rules")

    def report(self, window: float | None = None) -> Report:
        """The resilience report, read from the journal's brief view (no headers or bodies)."""
        return resilience(self._recorded("/journal?view=brief"), WINDOW if window is None else window)

    def _add_rules(self, rules: list[dict[str, Any]]) -> list[str]:
        try:
            answer = self._admin("POST", "/rules", {"rules": rules})
        except AdminRefused as refused:
            if refused.status == 400:
                raise FixtureError(refused.detail) from None
            raise
        names = answer.get("added") if isinstance(answer, dict) else None
        if not isinstance(names, list):
            raise RuntimeError(f"{self.url} is not an emulator: POST /rules answered no list of added rules")
        return names

    def reset(self) -> None:
        """The scope's journal entries, rules and counts gone (the global scope: everything)."""
        self._admin("POST", "/reset")

    def _recorded(self, path: str) -> list[Entry]:
        entries = self._listed(path, "entries")
        if not all(isinstance(entry, dict) for entry in entries):
            raise RuntimeError(
                f"{self.url} is not an emulator: GET {path} listed entries that are not objects"
            )
        return [Entry.from_json(entry) for entry in entries]

    def _listed(self, path: str, field: str) -> list[Any]:
        answer = self._admin("GET", path)
        listed = answer.get(field) if isinstance(answer, dict) else None
        if not isinstance(listed, list):
            raise RuntimeError(f"{self.url} is not an emulator: GET {path} answered no {field!r} list")
        return listed

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        headers = {**self.headers, "Content-Type": "application/json"}
        if self.admin_token is not None:
            headers["X-Emulator-Admin-Token"] = self.admin_token
        return AdminClient(self.url, headers, self.TIMEOUT).call(method, path, body)


def unmet_expectations(emulator: Scripting) -> list[str]:
    """What the test expected and did not happen, one line each: a rule it added with `expect: N`
    that answered another number of times; a sequence it added that was not used up; a request of
    its scope that no rule answered under --unmatched error."""
    problems = []
    added = set(emulator.added)
    for rule in emulator.rules:
        if rule["name"] not in added or rule.get("scope") != emulator.scope:
            continue
        name, calls = rule["name"], rule["calls"]
        if rule.get("expect") is not None and calls != rule["expect"]:
            problems.append(
                f"rule {name!r} was expected to answer {_times(rule['expect'])}: it answered {_times(calls)}"
            )
        if rule.get("sequence") and calls < rule["replies"]:
            problems.append(f"sequence {name!r} answered {calls} of its {rule['replies']} replies")
    for entry in emulator.requests:
        if entry.unmatched:
            request = f"{entry.method} {entry.path}, {_said(entry.body)}"
            problems.append(f"request #{entry.sequence} ({request}) matched no rule")
    return problems


def _times(count: int) -> str:
    return f"{count} time{'s' if count != 1 else ''}"


def _said(body: Any) -> str:
    """What a request's last message said, for a report (cut short)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return "no messages"
    last = messages[-1]
    text = last.get("content")
    text = text if isinstance(text, str) else json.dumps(text)
    return f"last message ({last.get('role')}) {text[:80]!r}"


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
