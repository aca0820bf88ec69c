"""API surfaces: the wire shapes in which the one chat contract is served.

A surface owns what differs between APIs that carry the same chat completions: its routes, how
a request says who it is (the API key), what its route says that the body does not (a model id
in the path: `RouteParams`), which dialect of contract/dialects.py turns its body into the
canonical chat body, how a completion becomes its response body
and its stream, and how an error becomes its body. Everything else (validation, generation,
scripted replies, faults, the journal) is shared: http/completions.py runs one request through
it all and asks the surface only these questions.

Adding a surface: one module here implementing `Surface`, its dialect in contract/ (with its
schema in schemas/, if its body is not the chat body), and its entry in SURFACES.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from ...contract.dialects import Dialect, RouteParams, SelfAdmitting

if TYPE_CHECKING:
    from ...chat.completion import Completion
    from ...config import Config
    from ...core import Core
    from ...errors import EmulatorError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]
"""(method, path, handler); method "*" for a catch-all that answers any method."""


class Surface(Protocol):
    @property
    def name(self) -> str:
        """Short, for logs and tests: "studio"."""
        ...

    @property
    def stream_headers(self) -> Mapping[str, str]:
        """The headers of a streamed answer (its content type among them)."""
        ...

    @property
    def joins_events(self) -> bool:
        """Whether an unpaced stream may go out in one write (else one write per event)."""
        ...

    def event_gap(self, config: Config) -> float:
        """Seconds at least between a stream's events, as the real service's model pace keeps
        them apart where a client needs that (0: as fast as the connection takes them)."""
        ...

    def routes(self, core: Core, chat: Handler) -> list[Route]:
        """Every route of the surface; `chat` answers its chat completion paths."""
        ...

    def claims(self, request: web.Request) -> bool:
        """Whether a request on a path several surfaces serve is this one's (Azure's and vLLM's
        `POST /v1/chat/completions`: `api-key` says Azure); the last surface of a path takes the rest."""
        ...

    def api_key(self, request: web.Request, accepted: Collection[str]) -> str:
        """The caller's key, or errors.Unauthorized."""
        ...

    @property
    def dialect(self) -> Dialect | SelfAdmitting:
        """How the contract reads this surface's body (contract/dialects.py)."""
        ...

    def route_params(self, request: web.Request) -> RouteParams:
        """What the route says that the body does not (the only thing read from the request
        for admission: the dialect gets these and the body's bytes)."""
        ...

    def completion_id(self, request: web.Request, drawn: str, wire: Any) -> str:
        """The answer's id, from the one drawn from the id source (vLLM's takes X-Request-Id)."""
        ...

    def response_body(self, completion: Completion, completion_id: str, wire: Any = None) -> bytes:
        """The 200 answer's body (`wire`: what the surface's dialect admitted beside the
        canonical request: contract/admission.Admitted.wire)."""
        ...

    def stream_events(self, completion: Completion, completion_id: str, wire: Any = None) -> list[bytes]:
        """The streamed answer, one item per event, as written to the connection."""
        ...

    def broken_event(self, event: bytes) -> bytes:
        """An event as a `malformed_chunk` fault sends it: cut, as a proxy that truncates leaves it."""
        ...

    def error_response(self, error: EmulatorError) -> web.Response:
        """The answer to a request that failed with `error`."""
        ...

    def interrupted(self, error: EmulatorError) -> bytes | None:
        """The last event of a stream cut short by `error` (None: the connection just closes)."""
        ...


def json_error(error: EmulatorError, body: bytes, status: int | None = None) -> web.Response:
    """`body` as the error's JSON answer: its status (or `status`) and headers, the connection
    closed if asked."""
    response = web.Response(
        status=status or error.status, body=body, content_type="application/json", headers=error.headers()
    )
    if error.close_connection:
        response.force_close()
    return response


from .azure import AZURE  # noqa: E402  (after what the surfaces import from here)
from .bedrock import BEDROCK  # noqa: E402
from .converse import CONVERSE  # noqa: E402
from .launchpad import LAUNCHPAD  # noqa: E402
from .studio import STUDIO  # noqa: E402
from .vertex import VERTEX  # noqa: E402
from .vllm import Vllm  # noqa: E402

SURFACES: tuple[Surface, ...] = (STUDIO, BEDROCK, CONVERSE, VERTEX, LAUNCHPAD, AZURE)
"""The surfaces that are the same on every server; `surfaces_for` adds those made per server."""


def surfaces_for(core: Core) -> tuple[Surface, ...]:
    """Every surface one server serves, on one port, in the order a shared path asks them
    (`claims`): vLLM's after Azure's."""
    return (*SURFACES, Vllm(core.admission.served))
DEFAULT = STUDIO
"""Whose error shape answers paths no surface owns, and the admin API."""
