"""The AWS event-stream encoding (`application/vnd.amazon.eventstream`), the binary framing of
Bedrock's streamed answers: each message is a prelude (total length, headers length, their
CRC32), headers, a payload and a CRC32 of all that came before. Every integer is big-endian.

Only the encoder: botocore decodes (`botocore.eventstream`), and the tests hold these bytes to
its decoder. (PyPI's `smithy-aws-event-stream` implements the format but needs Python 3.12.)
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

_STRING = 7  # the header value type of a UTF-8 string
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
MAX_PAYLOAD = 16 * 1024 * 1024
"""The format's limit; an answer's events are far smaller."""


def message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message with string headers."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"event-stream payload of {len(payload)} bytes is over the {MAX_PAYLOAD}-byte limit")
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    prelude = _PRELUDE.pack(12 + len(encoded) + len(payload) + 4, len(encoded))
    head = prelude + _CRC.pack(zlib.crc32(prelude))
    body = head + encoded + payload
    return body + _CRC.pack(zlib.crc32(body))


def event(event_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    """A message of type `event` (an item of the stream's union, e.g. Bedrock's `chunk`)."""
    return message(
        {":event-type": event_type, ":content-type": content_type, ":message-type": "event"}, payload
    )


def exception(exception_type: str, payload: bytes) -> bytes:
    """A message of type `exception`: the stream ends with a modelled error (e.g. `throttlingException`)."""
    return message(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        payload,
    )


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        bytes((len(raw_name),)) + raw_name + bytes((_STRING,)) + struct.pack(">H", len(raw_value)) + raw_value
    )
