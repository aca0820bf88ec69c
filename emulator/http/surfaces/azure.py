"""Azure AI Foundry's serverless endpoint for the Jamba models: `POST /v1/chat/completions` at
the root, as `AI21AzureClient(base_url="http://HOST:PORT", api_key=...)` sends it (with both
`api-key` and `Authorization: Bearer`).

The body is the chat body, its `model` an Azure deployment name (catalog.json's
`platform_names.azure`, e.g. jamba-instruct) or a catalog name; another name gets Studio's
unsupported-model 422. Either header carries the key: any non-empty one, or one of --api-key's.
The answer, its server-sent events and its errors are Studio's (studio.py). (A base URL ending
in /studio, which reaches Studio's own path, keeps working.)
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from aiohttp import web

from ...contract.dialects import AZURE as AZURE_DIALECT
from ...errors import Unauthorized
from ...script.credentials import accepted as is_accepted
from . import Handler, Route
from .studio import Studio

if TYPE_CHECKING:
    from ...core import Core

CHAT_PATH = "/v1/chat/completions"
API_KEY_HEADER = "api-key"


class Azure(Studio):
    name = "azure"
    dialect = AZURE_DIALECT

    def routes(self, core: Core, chat: Handler) -> list[Route]:
        return [("POST", CHAT_PATH, chat)]

    def claims(self, request: web.Request) -> bool:
        """AI21AzureClient sends `api-key`; vLLM's clients (OpenAI's) do not."""
        return API_KEY_HEADER in request.headers

    def api_key(self, request: web.Request, accepted: Collection[str]) -> str:
        """`api-key` when sent (a wrong or empty one is refused, whatever else is sent), else
        `Authorization: Bearer`: any non-empty key unless keys are configured."""
        if API_KEY_HEADER not in request.headers:
            return super().api_key(request, accepted)
        key = request.headers[API_KEY_HEADER].strip()
        if not key or (accepted and not is_accepted(key, accepted)):
            raise Unauthorized
        return key


AZURE = Azure()
