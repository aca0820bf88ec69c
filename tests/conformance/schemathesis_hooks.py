"""schemathesis hooks (loaded by SCHEMATHESIS_HOOKS in test_schemathesis.py).

A `tool` message's `tool_call_id` must name a call an earlier assistant message made: a rule
across messages that JSON Schema cannot state, so schemathesis, generating from the schema
alone, writes tool messages that answer no call, and the emulator rightly refuses them
(422 value_error.tool_call_id). This hook makes each such message answer a call, by putting an
assistant message that makes that call just before it. It only ever adds a schema-valid message,
so a request it leaves schema-invalid stays so, and one that was valid stays valid.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return body
    messages: list[Any] = []
    called: set[str] = set()
    for message in body["messages"]:
        if isinstance(message, dict):
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict) and isinstance(call.get("id"), str):
                    called.add(call["id"])
            answering = message.get("tool_call_id")
            if message.get("role") == "tool" and isinstance(answering, str) and answering not in called:
                messages.append(_caller(answering))
                called.add(answering)
        messages.append(message)
    return {**body, "messages": messages}


def _caller(call_id: str) -> dict[str, Any]:
    function = {"name": "lookup", "arguments": "{}"}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": call_id, "type": "function", "function": function}],
    }
