"""The AWS event-stream encoder, held to botocore's decoder (the one boto3 and the ai21 SDK use),
and Bedrock's error types held to botocore's service model."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import botocore
from botocore.eventstream import EventStreamBuffer
from hypothesis import given
from hypothesis import strategies as st
from jamba_emulator.http import eventstream
from jamba_emulator.http.surfaces.bedrock import ERROR_TYPES

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda name: len(name.encode()) <= 255
)
values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
messages = st.lists(
    st.tuples(st.dictionaries(names, values, max_size=5), st.binary(max_size=70_000)), min_size=1, max_size=20
)


@given(messages, st.integers(min_value=1, max_value=5000))
def test_botocore_decodes_every_message_as_it_was_encoded(
    sent: list[tuple[dict[str, str], bytes]], cut: int
) -> None:
    stream = b"".join(eventstream.message(headers, payload) for headers, payload in sent)
    buffer = EventStreamBuffer()
    decoded = []
    for start in range(0, len(stream), cut):  # fed in pieces, as a network delivers it
        buffer.add_data(stream[start : start + cut])
        decoded += [(message.headers, message.payload) for message in buffer]
    assert decoded == sent


def test_an_event_and_an_exception_carry_the_headers_botocore_dispatches_on() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(eventstream.event("chunk", b"{}") + eventstream.exception("throttlingException", b"{}"))
    first, second = list(buffer)
    assert first.to_response_dict()["status_code"] == 200
    assert first.headers == {
        ":event-type": "chunk",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert second.to_response_dict()["status_code"] == 400
    assert second.headers[":exception-type"] == "throttlingException"


def test_bedrocks_error_types_answer_at_the_status_botocores_model_gives_them() -> None:
    model = Path(botocore.__file__).parent / "data" / "bedrock-runtime" / "2023-09-30" / "service-2.json.gz"
    shapes = json.loads(gzip.decompress(model.read_bytes()))["shapes"]
    for status, error_type in ERROR_TYPES.items():
        assert shapes[error_type]["exception"] and shapes[error_type]["error"]["httpStatusCode"] == status
