"""The checks when a test ends (the pytest plugin's): what a test's emulator object shows it did
not get as scripted."""

from __future__ import annotations

import json
from typing import Any

from .verbs import Scripting


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


