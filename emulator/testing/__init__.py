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

from ..script.journal import Entry
from .attached import AttachedEmulator
from .checks import unmet_expectations
from .inprocess import JambaEmulator
from .verbs import DEFAULT_API_KEY, Scripting

__all__ = ["DEFAULT_API_KEY", "AttachedEmulator", "Entry", "JambaEmulator", "Scripting", "unmet_expectations"]
