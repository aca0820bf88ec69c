"""`JambaEmulator`: the Python API over a server in this process (the pytest fixture's, or a
BackgroundServer's): rules added to its Core directly, callable replies allowed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..chat.request import ChatRequest
from ..config import Config
from ..core import Core
from ..errors import ScriptedError
from ..script.fixtures import rules_from
from ..script.journal import Entry
from ..script.replies import GENERATED, Reply
from ..script.rules import Rule
from .verbs import DEFAULT_API_KEY, RAISED_KEPT, Scripting, _given


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


