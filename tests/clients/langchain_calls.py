"""Run by `.venv-langchain`'s interpreter (tests/clients/side_env.py), not by pytest: LangChain's
`ChatAI21`, unmodified, against the emulator that AI21_API_URL names. It makes the calls a
LangChain user makes and prints what LangChain handed back as one JSON report on stdout;
tests/clients/test_langchain.py checks the report against the emulator's journal.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from langchain_ai21 import ChatAI21
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool


@tool
def get_weather(city: str, unit: str = "celsius") -> str:
    """Get the current weather in a city."""
    return f"Sunny and 21 degrees {unit} in {city}."


def plain(chat: ChatAI21) -> dict[str, Any]:
    answer = chat.invoke("Tell me something I don't know")
    return {"content": answer.content, "type": type(answer).__name__}


def streamed(chat: ChatAI21) -> dict[str, Any]:
    chunks = list(chat.stream("Tell me a story about a lighthouse"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return {"chunks": len(chunks), "content": total.content, "usage": total.usage_metadata}


def tool_round_trip(chat: ChatAI21) -> dict[str, Any]:
    bound = chat.bind_tools([get_weather])
    messages: list[BaseMessage] = [HumanMessage("What is the weather in Lisbon?")]
    asked = bound.invoke(messages)
    messages.append(asked)
    for call in asked.tool_calls:
        messages.append(ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]))
    final = bound.invoke(messages)
    return {
        "schema": convert_to_openai_tool(get_weather)["function"]["parameters"],
        "tool_calls": asked.tool_calls,
        "final": final.content,
        "final_tool_calls": final.tool_calls,
    }


def conversation(chat: ChatAI21) -> dict[str, Any]:
    """Three turns, each sending the earlier AI replies back (ChatAI21 adds `tool_calls: []` to
    each), then a turn after an empty answer (cut at max_tokens 0)."""
    messages: list[BaseMessage] = [HumanMessage("Hi, I am planning a trip.")]
    contents = []
    for question in ("Where should I go in spring?", "And in autumn?"):
        answer = chat.invoke(messages)
        contents.append(answer.content)
        messages += [answer, HumanMessage(question)]
    contents.append(chat.invoke(messages).content)
    empty = ChatAI21(model="jamba-mini", max_tokens=0).invoke("Say nothing")
    after = chat.invoke([HumanMessage("Say nothing"), empty, HumanMessage("Now say something")])
    return {"contents": contents, "empty": empty.content, "after_empty": after.content}


def refused(model: str, **settings: Any) -> dict[str, Any]:
    try:
        ChatAI21(model=model, **settings).invoke("Hello")
    except Exception as error:  # what LangChain lets through is the point
        return {"raised": type(error).__name__, "message": str(error)}
    return {"raised": None}


def main() -> None:
    chat = ChatAI21(model="jamba-mini")
    report = {
        "plain": plain(chat),
        "streamed": streamed(chat),
        "tools": tool_round_trip(chat),
        "conversation": conversation(chat),
        "too_many_tokens": refused("jamba-mini", max_tokens=5000),
    }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
