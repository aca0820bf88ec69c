"""Vertex AI's self-deployed endpoints ("Launchpad"): `POST /v1/projects/{project}/locations/
{region}/endpoints/{endpoint_id}:rawPredict` and `:streamRawPredict`, as `AI21LaunchpadClient(
base_url="http://HOST:PORT/v1", project_id=..., region=..., endpoint_id=..., access_token=...)`
builds them (and under `/v1beta1/`, as Vertex's own).

The body is the chat body without `model` and `stream`: the path names the endpoint, and the
endpoint runs one model, jamba-1.6-large (policy: the model the SDK's examples deploy;
contract/dialects.py's LAUNCHPAD). Authorization, answers, streams and errors are Vertex's,
which are Studio's (vertex.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ...contract.dialects import LAUNCHPAD as LAUNCHPAD_DIALECT
from ...contract.dialects import RouteParams
from . import Handler, Route
from .vertex import VERSIONS, Vertex

if TYPE_CHECKING:
    from ...core import Core

ENDPOINT_PATH = "/projects/{project}/locations/{region}/endpoints/{endpoint:[^/:]+}"


class Launchpad(Vertex):
    name = "launchpad"
    dialect = LAUNCHPAD_DIALECT  # type: ignore[assignment]

    def routes(self, core: Core, chat: Handler) -> list[Route]:
        return [
            ("POST", f"{version}{ENDPOINT_PATH}:{verb}", chat)
            for version in VERSIONS
            for verb in ("rawPredict", "streamRawPredict")
        ]

    def route_params(self, request: web.Request) -> RouteParams:
        return RouteParams(stream=request.path.endswith(":streamRawPredict"))


LAUNCHPAD = Launchpad()
