"""A stream's events come from a template written once per completion with a stand-in id: they
must be, byte for byte, the events written directly with the answer's own id, tool calls included."""

from __future__ import annotations

import pytest
from jamba_emulator.chat.completion import ToolCall
from jamba_emulator.config import Config
from jamba_emulator.core import Core
from jamba_emulator.http.surfaces.studio import STUDIO, chunk_bodies, frames

CORE = Core.build(Config())


def admitted(**body: object) -> object:
    return CORE.admission.admit(
        {"model": "jamba-mini", "messages": [{"role": "user", "content": "Tell me a story"}], **body}
    ).request


COMPLETIONS = {
    "generated": lambda: CORE.generator.complete(admitted(max_tokens=200)),
    "two choices": lambda: CORE.generator.complete(admitted(n=2, max_tokens=30)),
    "scripted": lambda: CORE.generator.scripted(admitted(), "chatcmpl-looking text: chatcmpl-"),
    "tool calls": lambda: CORE.generator.called(
        admitted(tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]),
        [ToolCall("f", '{"a":1}'), ToolCall("f", None)],
    ),
}


@pytest.mark.parametrize("make", COMPLETIONS.values(), ids=COMPLETIONS.keys())
def test_templated_events_are_the_directly_written_ones(make: object) -> None:
    completion = make()  # type: ignore[operator]
    for _ in range(3):  # the first call writes the template, the others use it
        completion_id = CORE.ids.next_id()
        assert STUDIO.stream_events(completion, completion_id) == list(
            frames(chunk_bodies(completion, completion_id))
        )


def test_an_id_of_another_length_is_written_directly() -> None:
    completion = COMPLETIONS["generated"]()
    assert STUDIO.stream_events(completion, "x") == list(frames(chunk_bodies(completion, "x")))
