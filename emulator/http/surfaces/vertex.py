"""Google Vertex AI's partner-model API for the Jamba models: `POST /v1/projects/{project}/
locations/{region}/publishers/ai21/models/{model}:rawPredict` and `:streamRawPredict`, as
`AI21VertexClient(base_url="http://HOST:PORT/v1", project_id=..., region=..., access_token=...)`
builds them.

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


class Vertex(Studio):
    name = "vertex"
    dialect = VERTEX_DIALECT

    def routes(self, core: Core, chat: Handler) -> list[Route]:
        return [("POST", f"{MODEL_PATH}:rawPredict", chat), ("POST", f"{MODEL_PATH}:streamRawPredict", chat)]

    def route_params(self, request: web.Request) -> RouteParams:
        return RouteParams(request.match_info["model"], request.path.endswith(":streamRawPredict"))


VERTEX = Vertex()
