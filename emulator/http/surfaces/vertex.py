"""Google Vertex AI's partner-model API for the Jamba models: `POST /v1/projects/{project}/
locations/{region}/publishers/ai21/models/{model}:rawPredict` and `:streamRawPredict`, as
`AI21VertexClient(base_url="http://HOST:PORT/v1", project_id=..., region=..., access_token=...)`
builds them, and under `/v1beta1/`, as litellm's `vertex_ai/jamba-...` route does.

The model is the path's Vertex name (catalog.json's `platform_names.vertex`, e.g. jamba-1.5-mini
or jamba-1.5-mini@001); the body is the chat body without `model` and `stream` (the path says
both). Authorization is a Bearer access token, any non-empty one (with --api-key, one of the
keys). rawPredict hands back the model's own answer, so the answer, its server-sent events and
its errors are Studio's (studio.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ...contract.dialects import VERTEX as VERTEX_DIALECT
from ...contract.dialects import RouteParams
from . import Handler, Route
from .studio import Studio

if TYPE_CHECKING:
    from ...core import Core

MODEL_PATH = "/v1/projects/{project}/locations/{region}/publishers/ai21/models/{model:[^/:]+}"
VERSIONS = ("/v1", "/v1beta1")
"""The API versions a client may name: AI21VertexClient's v1, litellm's vertex_ai/ route's v1beta1."""


class Vertex(Studio):
    name = "vertex"
    dialect = VERTEX_DIALECT

    def routes(self, core: Core, chat: Handler) -> list[Route]:
        paths = [version + MODEL_PATH.removeprefix("/v1") for version in VERSIONS]
        return [
            ("POST", f"{path}:{verb}", chat) for path in paths for verb in ("rawPredict", "streamRawPredict")
        ]

    def route_params(self, request: web.Request) -> RouteParams:
        return RouteParams(request.match_info["model"], request.path.endswith(":streamRawPredict"))


VERTEX = Vertex()
