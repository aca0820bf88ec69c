"""`AttachedEmulator`: the Python API over an emulator already running elsewhere (another process,
a container), through its admin API with a deadline (admin_client.py); everything in its scope."""

from __future__ import annotations

from typing import Any

from ..admin_client import AdminClient, AdminRefused
from ..errors import FixtureError
from ..script.journal import Entry
from ..script.resilience import WINDOW, Report
from ..script.resilience import report as resilience
from .verbs import DEFAULT_API_KEY, Scripting


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


