"""The Python API tests use to script an emulator and read its journal: `JambaEmulator`, the object
the pytest fixture `jamba_emulator` hands to each test (emulator/pytest_plugin.py).

Every rule it adds is a fixture rule (schemas/fixtures.schema.json), checked by the same schema as
a file, so a mistake fails the test at once with the field named.

    def test_refund(jamba_emulator):
        jamba_emulator.reply("Your refund is on its way.", match={"last_user": {"contains": "refund"}})
        jamba_emulator.error(429, headers={"Retry-After": "1"}, times=1)
        ...
        assert jamba_emulator.requests[-1].body["messages"][-1]["content"] == "Where is my refund?"
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from .config import Config
from .core import Core
from .script.fixtures import rules_from
from .script.journal import Entry

DEFAULT_API_KEY = "jamba-emulator-test-key"


class JambaEmulator:
    """A running emulator (its `core`), seen from a test."""

    def __init__(self, url: str, core: Core, api_key: str | None = None) -> None:
        self.url = url
        """The server's root URL, e.g. http://127.0.0.1:41234."""
        self.core = core
        self.api_key = api_key or (core.config.api_keys[0] if core.config.api_keys else DEFAULT_API_KEY)
        """A key the emulator accepts (the value the fixture puts in AI21_API_KEY)."""
        self._names = itertools.count(1)

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
    def config(self) -> Config:
        return self.core.config

    @property
    def requests(self) -> list[Entry]:
        """The journal, oldest first: each request's method, path, headers (API key redacted),
        `body` (parsed JSON), `status` (None if dropped before an answer), `rule`, `fault`."""
        return self.core.journal.entries()

    @property
    def rules(self) -> list[dict[str, Any]]:
        """The rules in force, with how often each has answered."""
        return self.core.script.described()

    def add_rules(self, *rules: Mapping[str, Any]) -> list[str]:
        """Add fixture rules as they are written in a fixture file; returns their names.
        Raises FixtureError, naming the rule and the field, if one is not a valid rule."""
        named = [{"name": f"rule {next(self._names)}", **rule} for rule in rules]
        added = rules_from({"rules": named}, "jamba_emulator", self.core.contract)
        self.core.script.add(added)
        return [rule.name for rule in added]

    def reply(
        self,
        content: str | None = None,
        *,
        match: Mapping[str, Any] | None = None,
        times: int | None = None,
        **reply: Any,
    ) -> str:
        """Answer matching requests with `content` (cut by max_tokens and stop, streamed when asked,
        counted); `reply` takes the other reply fields: finish_reason, timing, fault."""
        return self._add({**_given(content=content), **reply}, match, times)

    def tool_call(
        self,
        name: str,
        arguments: Mapping[str, Any] | str | None = None,
        *,
        match: Mapping[str, Any] | None = None,
        times: int | None = None,
        **reply: Any,
    ) -> str:
        """Answer matching requests by calling the tool `name` (content null, finish_reason
        tool_calls). `arguments`: an object (sent as JSON), a string (sent as written, valid JSON or
        not), or None to generate them from the tool's parameters schema in the request. For several
        calls in one answer: `reply(tool_calls=[{"name": ...}, ...])`."""
        call = {"name": name, **_given(arguments=arguments)}
        return self._add({"tool_calls": [call], **reply}, match, times)

    def error(
        self,
        status: int,
        detail: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        match: Mapping[str, Any] | None = None,
        times: int | None = None,
        timing: Mapping[str, int] | None = None,
    ) -> str:
        """Answer matching requests with an error: `{"detail": detail}` (default: the reason phrase)."""
        error = {"status": status, **_given(detail=detail, headers=headers)}
        return self._add({"error": error, **_given(timing=timing)}, match, times)

    def fault(
        self,
        kind: str,
        *,
        after_events: int | None = None,
        stall_ms: int | None = None,
        content: str | None = None,
        match: Mapping[str, Any] | None = None,
        times: int | None = None,
    ) -> str:
        """Break matching answers: drop_before_response, drop_mid_stream, malformed_chunk or stall."""
        fault = {"kind": kind, **_given(after_events=after_events, stall_ms=stall_ms)}
        return self._add({"fault": fault, **_given(content=content)}, match, times)

    def sequence(self, *replies: Mapping[str, Any], match: Mapping[str, Any] | None = None) -> str:
        """One reply per matching call, in order (e.g. `{"error": {"status": 503}}`, then
        `{"content": "..."}`); after the last, matching requests get the generated answer."""
        (name,) = self.add_rules({"replies": list(replies), **_given(match=match)})
        return name

    def reset(self) -> None:
        """Journal emptied, rules back to the fixture files' (unused), rate limits and faults restarted."""
        self.core.reset()

    def _add(self, reply: dict[str, Any], match: Mapping[str, Any] | None, times: int | None) -> str:
        (name,) = self.add_rules({"reply": reply, **_given(match=match, times=times)})
        return name


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
