"""Each surface's request, as the canonical chat body the contract admits: its *dialect*.

A surface (http/surfaces/) reads what its route says (the model a path names, whether it asks for
a stream: `RouteParams`) and hands it over with the body's bytes; its dialect turns both into the
chat body of schemas/chat-request.schema.json, or raises the contract's error. Pure: no HTTP
object reaches here, so an admission is a function of (dialect, params, bytes) and can be kept
(admission.py). A dialect with a request schema of its own (Converse) has it compiled at start-up
by `Contract` (SURFACE_SCHEMAS), and says which through `schema`.

Adding a surface whose body is not the chat body: one class here (or a module of its own beside
this one, as converse.py), its schema in schemas/ and in SURFACE_SCHEMAS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..errors import UnsupportedModel
from .decoding import Decoded, decode

if TYPE_CHECKING:
    from ..chat.budget import Budget
    from .admission import Admission, Admitted
    from .catalog import Catalog
    from .schema import Contract


@dataclass(frozen=True, slots=True)
class RouteParams:
    """What a request's route says that its body does not (hashable: part of an admission's key)."""

    model: str | None = None
    """The model the path names, in its platform's words (Bedrock's `ai21.jamba-1-5-mini-v1:0`)."""
    stream: bool | None = None
    """Whether the path asks for a stream (Bedrock's `-with-response-stream`); None: the body says."""
    media: str = "application/json"
    """The body's media type, lower case without parameters ("" when none was sent), for a
    dialect whose server refuses others (vLLM's)."""


NO_PARAMS = RouteParams()


class Dialect(Protocol):
    @property
    def name(self) -> str:
        """Unique among dialects: part of an admission's key."""
        ...

    def chat_body(self, raw: bytes, params: RouteParams, contract: Contract) -> Decoded:
        """The canonical chat body, or the contract's error (a body that is not JSON, a model the
        platform does not serve, a violation of the dialect's own schema)."""
        ...


class SelfAdmitting(Protocol):
    """A dialect whose server's rules differ from the chat contract's in more than the body's
    shape (vLLM's: contract/vllm.py): it admits its requests itself, with the shared tokenizer
    and template of `admission`."""

    @property
    def name(self) -> str: ...

    def admit(self, raw: bytes, params: RouteParams, admission: Admission, budget: Budget) -> Admitted: ...


@dataclass(frozen=True, slots=True)
class ChatBody:
    """The body is the chat body itself (Studio's API, and Azure's with its platform's model
    names when `platform` is given)."""

    name: str
    platform: str | None = None

    def chat_body(self, raw: bytes, params: RouteParams, contract: Contract) -> Decoded:
        decoded = decode(raw)
        body = decoded.body
        if self.platform is None or not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return decoded
        spec = contract.catalog.on_platform(self.platform, body["model"])
        if spec is None:
            return decoded  # the contract answers an unknown model as Studio does
        return Decoded({**body, "model": spec.name}, decoded.readable)


@dataclass(frozen=True, slots=True)
class RoutedBody:
    """The chat body without `model` and `stream`, the route naming both (Bedrock's InvokeModel,
    Vertex's rawPredict): the catalog's model and `stream` written in, the route winning."""

    name: str
    platform: str

    def chat_body(self, raw: bytes, params: RouteParams, contract: Contract) -> Decoded:
        model = platform_model(contract.catalog, self.platform, params.model or "")
        decoded = decode(raw)
        if not isinstance(decoded.body, dict):
            return decoded  # the contract answers it
        return Decoded({**decoded.body, "model": model, "stream": bool(params.stream)}, decoded.readable)


@dataclass(frozen=True, slots=True)
class EndpointBody:
    """A deployed endpoint's body (Vertex's self-deployed "Launchpad" endpoints, which
    AI21LaunchpadClient calls): the chat body without `model` and `stream`, the endpoint serving
    one catalog model (`model`, policy: the path names the endpoint, not its model), the route
    saying whether to stream."""

    name: str
    model: str

    def chat_body(self, raw: bytes, params: RouteParams, contract: Contract) -> Decoded:
        decoded = decode(raw)
        if not isinstance(decoded.body, dict):
            return decoded  # the contract answers it
        return Decoded({**decoded.body, "model": self.model, "stream": bool(params.stream)}, decoded.readable)


def platform_model(catalog: Catalog, platform: str, name: str) -> str:
    """The catalog's name for the model `platform`'s users call `name`, else UnsupportedModel."""
    spec = catalog.on_platform(platform, name)
    if spec is None:
        raise UnsupportedModel(name)
    return spec.name


STUDIO = ChatBody("studio")
AZURE = ChatBody("azure", platform="azure")
BEDROCK = RoutedBody("bedrock", platform="bedrock")
VERTEX = RoutedBody("vertex", platform="vertex")
LAUNCHPAD = EndpointBody("launchpad", model="jamba-1.6-large")
"""AI21LaunchpadClient's examples deploy and call jamba-1.6-large."""
