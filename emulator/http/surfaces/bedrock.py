"""AWS Bedrock's InvokeModel for the Jamba models: `POST /model/{modelId}/invoke` and
`/invoke-with-response-stream`, as `AI21BedrockClient` and boto3's `bedrock-runtime` client call
them (botocore's service model for bedrock-runtime states the shapes).

- The model is the path's Bedrock model id (catalog.json's `platform_names.bedrock`); the body is
  the chat body without `model` and `stream` (the path says both, and wins over the body).
- The caller signs with SigV4: any well-formed signature from any access key is accepted, as
  any Bearer key is on Studio; with --api-key, the access key id must be one of the keys.
- A 200 answer is the chat response body, its id Bedrock's `cmpl-` and 32 hex digits. A stream
  is the AWS event stream (http/eventstream.py): one `chunk` event per chat chunk, its `bytes`
  the chunk as compact JSON, then one `chunk` holding only `amazon-bedrock-invocationMetrics`;
  one event per write, which the SDK's decoder needs (it decodes one event per HTTP chunk).
- Errors are `{"message": ...}` with `x-amzn-ErrorType`, at the statuses botocore's model gives
  each type (a test holds ERROR_TYPES to it); what Studio answers with a 422 is a 400
  ValidationException here.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web

from ...chat.completion import Completion
from ...contract.dialects import BEDROCK as BEDROCK_DIALECT
from ...contract.dialects import RouteParams
from ...errors import BadCredentials, EmulatorError, UnsupportedModel, ValidationFailed
from ...script.credentials import accepted as is_accepted
from .. import eventstream
from ..streaming import encode_json
from . import Handler, Route, json_error
from .studio import chunk_bodies, response_body

if TYPE_CHECKING:
    from ...config import Config
    from ...core import Core

MODEL_PATH = "/model/{model_id}"
ERROR_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
"""The error type each status is answered with (botocore's bedrock-runtime model)."""
_SHOWN_ITEMS = 5
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_CREDENTIAL = re.compile(r"([A-Za-z0-9]{1,128})/([0-9]{8})/([a-z0-9-]{1,32})/([a-z0-9-]{1,32})/aws4_request")


class Bedrock:
    name = "bedrock"
    dialect = BEDROCK_DIALECT
    joins_events = False
    stream_headers: Mapping[str, str] = MappingProxyType(
        {
            "Content-Type": "application/vnd.amazon.eventstream",
            "X-Amzn-Bedrock-Content-Type": "application/json",
        }
    )

    def event_gap(self, config: Config) -> float:
        """Bedrock streams at the model's pace, and the ai21 SDK's Bedrock decoder relies on it:
        it decodes one whole event per read, so a burst that a read (or a TLS hop) splits or
        merges breaks it (issue 26)."""
        return config.bedrock_token_ms / 1000

    def routes(self, core: Core, chat: Handler) -> list[Route]:
        return [
            ("POST", f"{MODEL_PATH}/invoke", chat),
            ("POST", f"{MODEL_PATH}/invoke-with-response-stream", chat),
        ]

    def api_key(self, request: web.Request, accepted: Collection[str]) -> str:
        return verify_signature(request, accepted)

    def claims(self, request: web.Request) -> bool:
        return True

    def completion_id(self, request: web.Request, drawn: str, wire: Any) -> str:
        return drawn

    def route_params(self, request: web.Request) -> RouteParams:
        return RouteParams(request.match_info["model_id"], request.path.endswith("-stream"))

    def response_body(self, completion: Completion, completion_id: str, wire: Any = None) -> bytes:
        return encode_json({**response_body(completion, completion_id), "id": bedrock_id(completion_id)})

    def stream_events(self, completion: Completion, completion_id: str, wire: Any = None) -> list[bytes]:
        wire_id = bedrock_id(completion_id)
        events = [_chunk({**body, "id": wire_id}) for body in chunk_bodies(completion, completion_id)]
        events.append(_chunk({"amazon-bedrock-invocationMetrics": invocation_metrics(completion)}))
        return events

    def broken_event(self, event: bytes) -> bytes:
        """The event with its message CRC wrong: botocore's decoder refuses it (ChecksumMismatch)."""
        return event[:-4] + bytes(byte ^ 0xFF for byte in event[-4:])

    def interrupted(self, error: EmulatorError) -> bytes | None:
        _, error_type = error_type_of(error)
        name = error_type[0].lower() + error_type[1:]
        return eventstream.exception(name, encode_json({"message": message_of(error)}))

    def error_response(self, error: EmulatorError) -> web.Response:
        status, error_type = error_type_of(error)
        response = json_error(error, encode_json({"message": message_of(error)}), status)
        response.headers["x-amzn-ErrorType"] = error_type
        return response


BEDROCK = Bedrock()


def verify_signature(request: web.Request, accepted: Collection[str]) -> str:
    """The access key id of a well-formed SigV4 `Authorization` (and `X-Amz-Date`), or
    BadCredentials with the code AWS's common errors give the fault."""
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        raise BadCredentials("MissingAuthenticationTokenException", "Missing Authentication Token")
    scheme, _, rest = header.strip().partition(" ")
    if scheme != "AWS4-HMAC-SHA256":
        raise BadCredentials(
            "IncompleteSignatureException",
            "Authorization header requires the AWS4-HMAC-SHA256 scheme (sign the request with SigV4)",
        )
    parts = dict(part.strip().partition("=")[::2] for part in rest.split(",", maxsplit=3))
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not parts.get(name)]
    if missing:
        raise BadCredentials(
            "IncompleteSignatureException", f"Authorization header requires {', '.join(missing)} parameter(s)"
        )
    credential = _CREDENTIAL.fullmatch(parts["Credential"])
    if credential is None:
        raise BadCredentials(
            "IncompleteSignatureException",
            "Credential must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request",
        )
    if not _SIGNATURE.fullmatch(parts["Signature"]) or "host" not in parts["SignedHeaders"].split(";"):
        raise BadCredentials(
            "IncompleteSignatureException",
            "Signature must be 64 hex digits over SignedHeaders that include host",
        )
    if "X-Amz-Date" not in request.headers and hdrs.DATE not in request.headers:
        raise BadCredentials("IncompleteSignatureException", "the signed request needs an X-Amz-Date header")
    key = credential.group(1)
    if accepted and not is_accepted(key, accepted):
        raise BadCredentials(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    return key


def bedrock_id(completion_id: str) -> str:
    """Bedrock's id for the completion: `cmpl-` and 32 hex digits, derived from the server's id
    (so a seeded server's Bedrock ids repeat too)."""
    return "cmpl-" + hashlib.blake2b(completion_id.encode(), digest_size=16).hexdigest()


def invocation_metrics(completion: Completion) -> dict[str, int]:
    """Bedrock's metering: the token counts, and latencies modelled from them (not measured, so
    the stream's bytes stay deterministic)."""
    first_byte = 120 + completion.prompt_tokens // 50
    return {
        "inputTokenCount": completion.prompt_tokens,
        "outputTokenCount": completion.completion_tokens,
        "invocationLatency": first_byte + 8 * completion.completion_tokens,
        "firstByteLatency": first_byte,
    }


def error_type_of(error: EmulatorError) -> tuple[int, str]:
    """The status and Bedrock error type `error` is answered with."""
    if isinstance(error, BadCredentials):
        return error.status, error.code
    if isinstance(error, UnsupportedModel):
        return 404, ERROR_TYPES[404]
    status = 400 if error.status == 422 else error.status
    default = "ValidationException" if status < 500 else "InternalServerException"
    return status, ERROR_TYPES.get(status, default)


def message_of(error: EmulatorError) -> str:
    if isinstance(error, UnsupportedModel):
        return f"Could not resolve the foundation model from the provided model identifier {error.model!r}."
    if isinstance(error, ValidationFailed):
        items = error.items
        shown = "; ".join(f"{'.'.join(map(str, item.loc))}: {item.msg}" for item in items[:_SHOWN_ITEMS])
        more = f"; and {len(items) - _SHOWN_ITEMS} more" if len(items) > _SHOWN_ITEMS else ""
        return f"{len(items)} validation error{'s' if len(items) != 1 else ''} detected: {shown}{more}"
    detail: Any = error.detail()
    return detail if isinstance(detail, str) else encode_json(detail).decode()


def _chunk(body: dict[str, Any]) -> bytes:
    payload = base64.b64encode(encode_json(body)).decode("ascii")
    return eventstream.event("chunk", encode_json({"bytes": payload}))
